package purge_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// The pacer keeps 5% under Cloudflare's global API limit of 1,200
// requests in any 5 minutes.
const windowLimit = 1140

// unbound is an account whose purge bucket never binds (more than any
// plan's: an account on a contract, a test server), so that only the API
// window paces its requests. Without a plan the pacer never goes past the
// largest plan's bucket.
var unbound = cloudflare.Limits{Requests: cloudflare.Rate{PerSecond: 1e6, Burst: 1e6}}

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
// window frees up must not overfill it. Time moves only once every worker
// waits (synctest.Wait), so each request's recorded time is the time it
// was let go.
func TestRunAPIWindowHoldsEveryWorker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &fakeSender{}
		o := opts(t0)
		o.Concurrency = 8
		o.Limits = unbound
		o.Deadline = t0.Add(time.Hour)
		const n = 2*windowLimit + 120
		done := make(chan []purge.BatchResult)
		go func() { done <- purge.Run(context.Background(), s, tagJobs(n, 1), o).Results }()

		// (Checks before Run returns use Errorf: a Fatalf would leave its
		// goroutines blocked, which synctest reports as a deadlock.)
		for lot, want := range []int{windowLimit, 2 * windowLimit} {
			synctest.Wait() // every worker waits for the window
			calls := s.Calls()
			if len(calls) != want {
				t.Errorf("%d requests before the window moved on, want %d", len(calls), want)
			} else if i := slices.IndexFunc(calls[want-windowLimit:], func(c call) bool {
				return !c.at.Equal(t0.Add(time.Duration(lot) * 5 * time.Minute))
			}); i >= 0 {
				c := calls[want-windowLimit+i]
				t.Errorf("request %d at +%v, want +%v", c.n, c.at.Sub(t0), time.Duration(lot)*5*time.Minute)
			}
			time.Sleep(5 * time.Minute)
		}
		for _, r := range <-done {
			if r.Err != nil {
				t.Fatalf("batch %d: %v", r.Batch.Index, r.Err)
			}
		}
		if calls := s.Calls(); len(calls) != n || !calls[n-1].at.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("%d requests, the last at +%v; want %d, the last lot at +10m", len(calls), time.Since(t0), n)
		}
	})
}

func TestRunAPIWindowSchedule(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &fakeSender{}
		o := opts(t0)
		o.Limits = unbound
		o.Deadline = t0.Add(time.Hour)
		const n = 2*windowLimit + 5
		purge.Run(context.Background(), s, tagJobs(n, 1), o)
		calls := s.Calls()
		if len(calls) != n {
			t.Fatalf("%d requests, want %d", len(calls), n)
		}
		for i, c := range calls {
			if want := t0.Add(time.Duration(i/windowLimit) * 5 * time.Minute); !c.at.Equal(want) {
				t.Fatalf("request %d at +%v, want +%v: each lot of %d waits for the window", i, c.at.Sub(t0), want.Sub(t0), windowLimit)
			}
		}
	})
}

func TestRunAPIWindowPastDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &fakeSender{}
		o := opts(t0)
		o.Limits = unbound
		o.Deadline = t0.Add(4 * time.Minute)
		const n = windowLimit + 60
		results := purge.Run(context.Background(), s, tagJobs(n, 1), o).Results
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
		if len(s.Calls()) != windowLimit || time.Since(t0) != 0 {
			t.Errorf("%d requests, waited %v: the rest should fail without waiting", len(s.Calls()), time.Since(t0))
		}
	})
}
