package purge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// fakeClock is virtual time. With auto set, Sleep advances time at once
// (for one worker at a time). Otherwise Sleep blocks until Advance moves
// time past its end, so a test can look at the run while workers wait.
type fakeClock struct {
	mu       sync.Mutex
	cond     *sync.Cond
	now      time.Time
	auto     bool
	sleepers map[chan struct{}]time.Time
	slept    []time.Duration
}

func newClock(auto bool) *fakeClock {
	c := &fakeClock{now: t0, auto: auto, sleepers: map[chan struct{}]time.Time{}}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
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
func (c *fakeClock) Advance(d time.Duration) {
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

// waitSleepers blocks until n workers are asleep (or fails the test).
func (c *fakeClock) waitSleepers(t *testing.T, n int) {
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
		t.Fatalf("fewer than %d workers went to sleep", n)
	}
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// call is one request the fake purger received.
type call struct {
	n     int // 0-based, in arrival order
	items []string
	at    time.Time
}

// fakePurger answers from a script and records calls with clock time.
type fakePurger struct {
	clock  *fakeClock
	script func(c call) (cloudflare.Result, error)

	mu    sync.Mutex
	calls []call
}

func (p *fakePurger) Purge(_ context.Context, _, _ string, body cloudflare.Body) (cloudflare.Result, error) {
	var items []string
	raw, _ := json.Marshal(body)
	var decoded map[string][]any
	if json.Unmarshal(raw, &decoded) == nil {
		for _, list := range decoded {
			for _, v := range list {
				s, _ := v.(string)
				items = append(items, s)
			}
		}
	}
	p.mu.Lock()
	c := call{n: len(p.calls), items: items, at: p.clock.Now()}
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	if p.script == nil {
		return cloudflare.Result{ID: id(c.n)}, nil
	}
	return p.script(c)
}

func (p *fakePurger) Calls() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls...)
}

func id(n int) string { return fmt.Sprintf("id%03d", n) }
