package purge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// The pacer keeps 5% under Cloudflare's global API limit of 1,200
// requests in any 5 minutes.
const windowLimit = 1140

func TestLeastDuration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		requests int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {windowLimit, 0}, {windowLimit + 1, 5 * time.Minute},
		{2 * windowLimit, 5 * time.Minute}, {2*windowLimit + 1, 10 * time.Minute},
	} {
		if got := purge.LeastDuration(tt.requests); got != tt.want {
			t.Errorf("LeastDuration(%d) = %v, want %v", tt.requests, got, tt.want)
		}
	}
}

// TestRunAPIWindowHoldsEveryWorker: workers woken together when the
// window frees up must not overfill it. The clock moves only when the test
// says, so each request's recorded time is the time it was let go.
func TestRunAPIWindowHoldsEveryWorker(t *testing.T) {
	t.Parallel()
	clock := newClock(false)
	p := &fakePurger{clock: clock}
	o := opts(clock)
	o.Concurrency = 8
	o.Deadline = t0.Add(time.Hour)
	const n = 2*windowLimit + 120
	done := make(chan []purge.BatchResult)
	go func() { done <- purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(n), 1), o) }()

	for lot, want := range []int{windowLimit, 2 * windowLimit} {
		clock.WaitSleepers(t, o.Concurrency) // every worker waits for the window
		calls := p.Calls()
		if len(calls) != want {
			t.Fatalf("%d requests before the window moved on, want %d", len(calls), want)
		}
		for _, c := range calls[want-windowLimit:] {
			if at := t0.Add(time.Duration(lot) * 5 * time.Minute); !c.at.Equal(at) {
				t.Fatalf("request %d at +%v, want +%v", c.n, c.at.Sub(t0), at.Sub(t0))
			}
		}
		clock.Advance(5 * time.Minute)
	}
	for _, r := range <-done {
		if r.Err != nil {
			t.Fatalf("batch %d: %v", r.Batch.Index, r.Err)
		}
	}
	if calls := p.Calls(); len(calls) != n || !calls[n-1].at.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("%d requests, the last at +%v; want %d, the last lot at +10m", len(calls), calls[len(calls)-1].at.Sub(t0), n)
	}
}

func TestRunAPIWindowSchedule(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock}
	o := opts(clock)
	o.Deadline = t0.Add(time.Hour)
	const n = 2*windowLimit + 5
	purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(n), 1), o)
	calls := p.Calls()
	if len(calls) != n {
		t.Fatalf("%d requests, want %d", len(calls), n)
	}
	for i, c := range calls {
		if want := t0.Add(time.Duration(i/windowLimit) * 5 * time.Minute); !c.at.Equal(want) {
			t.Fatalf("request %d at +%v, want +%v: each lot of %d waits for the window", i, c.at.Sub(t0), want.Sub(t0), windowLimit)
		}
	}
}

func TestRunAPIWindowPastDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock}
	o := opts(clock)
	o.Deadline = t0.Add(4 * time.Minute)
	const n = windowLimit + 60
	results := purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(n), 1), o)
	for i, r := range results {
		if i < windowLimit {
			if r.Err != nil {
				t.Fatalf("batch %d: %v", i, r.Err)
			}
			continue
		}
		want := "Cloudflare's API limit of 1200 requests per 5 minutes asks to wait 5m0s, longer than the 4m0s left of timeout"
		if r.Err == nil || !strings.Contains(r.Err.Error(), want) || !purge.TimedOut(r.Err) || r.Attempts != 0 {
			t.Fatalf("batch %d = %+v, want not sent: %s", i, r, want)
		}
	}
	if len(p.Calls()) != windowLimit || len(clock.Slept()) != 0 {
		t.Errorf("%d requests, slept %v: the rest should fail without waiting", len(p.Calls()), clock.Slept())
	}
}
