// Package clocktest is virtual time for tests of code that takes a
// purge.Clock, so retry and pacing tests never sleep for real.
package clocktest

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Clock is virtual time. With auto set, Sleep advances time at once (best
// with one sleeper at a time: concurrent sleeps add up). Otherwise Sleep
// blocks until Advance moves time past its end, so a test can look at a
// run while its workers wait.
type Clock struct {
	mu       sync.Mutex
	cond     *sync.Cond
	now      time.Time
	auto     bool
	sleepers map[chan struct{}]time.Time
	slept    []time.Duration
}

// New returns a clock that reads start until something sleeps.
func New(start time.Time, auto bool) *Clock {
	c := &Clock{now: start, auto: auto, sleepers: map[chan struct{}]time.Time{}}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep waits d of virtual time, or until ctx is done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	if c.auto {
		c.now = c.now.Add(d)
		c.mu.Unlock()
		return ctx.Err()
	}
	ch := make(chan struct{})
	c.sleepers[ch] = c.now.Add(d)
	c.cond.Broadcast()
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.sleepers, ch)
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves time on and wakes the sleepers whose time has come.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for ch, until := range c.sleepers {
		if !until.After(c.now) {
			close(ch)
			delete(c.sleepers, ch)
		}
	}
}

// WaitSleepers blocks until n callers are asleep, or fails the test after
// ten real seconds.
func (c *Clock) WaitSleepers(t testing.TB, n int) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		c.mu.Lock()
		for len(c.sleepers) < n {
			c.cond.Wait()
		}
		c.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("fewer than %d callers went to sleep", n)
	}
}

// Slept lists every Sleep's duration, in call order.
func (c *Clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}
