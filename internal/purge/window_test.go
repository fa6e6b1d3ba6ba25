package purge_test

import (
	"context"
	"sort"
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

// maxInWindow is the most calls that fall in any span of d.
func maxInWindow(calls []time.Time, d time.Duration) int {
	sort.Slice(calls, func(i, j int) bool { return calls[i].Before(calls[j]) })
	most, lo := 0, 0
	for hi := range calls {
		for !calls[hi].Before(calls[lo].Add(d)) {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

func TestRunKeepsUnderTheAPIWindowWithEveryWorker(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock}
	o := opts(clock)
	o.Concurrency = 8
	o.Deadline = t0.Add(time.Hour)
	const n = 2*windowLimit + 120
	results := purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(n), 1), o)
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("batch %d: %v", r.Batch.Index, r.Err)
		}
	}
	var at []time.Time
	atStart := 0
	for _, c := range p.Calls() {
		at = append(at, c.at)
		if c.at.Equal(t0) {
			atStart++
		}
	}
	if len(at) != n {
		t.Fatalf("%d requests, want %d", len(at), n)
	}
	if atStart != windowLimit {
		t.Errorf("%d requests went at once, want the first %d", atStart, windowLimit)
	}
	if most := maxInWindow(at, 5*time.Minute); most > windowLimit {
		t.Errorf("%d requests in one 5-minute window, want at most %d", most, windowLimit)
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
