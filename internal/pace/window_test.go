package pace_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// clockSender accepts every request and notes when each arrived, in the
// synctest bubble's virtual time.
type clockSender struct {
	mu sync.Mutex
	at []time.Time // in arrival order
}

func (s *clockSender) Send(context.Context, cloudflare.Request) (cloudflare.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at = append(s.at, time.Now())
	return cloudflare.Result{ID: fmt.Sprintf("id%03d", len(s.at)-1)}, nil
}

// times lists when the requests so far arrived.
func (s *clockSender) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.at)
}

// windowOptions sends one request at a time through an account whose
// bucket never binds (only the API window paces it), and must be over by
// deadline.
func windowOptions(deadline time.Time) purge.Options {
	return purge.Options{Concurrency: 1, MaxRetries: 3, Deadline: deadline, Limits: unbound}
}

// tagJobs is one job purging n tags, one a request.
func tagJobs(n int) []purge.Job {
	return []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Tags, prefixed("tag-", n), 1)}
}

// TestRunAPIWindowHoldsEveryWorker: workers woken together when the
// window frees up must not overfill it. Time moves only once every worker
// waits (synctest.Wait), so each request's recorded time is the time it
// was let go.
func TestRunAPIWindowHoldsEveryWorker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &clockSender{}
		o := windowOptions(t0.Add(time.Hour))
		o.Concurrency = 8
		const n = 2*windowLimit + 120
		done := make(chan []purge.BatchResult)
		go func() { done <- purge.Run(context.Background(), s, tagJobs(n), o).Results }()

		// (Checks before Run returns use Errorf: a Fatalf would leave its
		// goroutines blocked, which synctest reports as a deadlock.)
		for lot, want := range []int{windowLimit, 2 * windowLimit} {
			synctest.Wait() // every worker waits for the window
			calls := s.times()
			if len(calls) != want {
				t.Errorf("%d requests before the window moved on, want %d", len(calls), want)
			} else if i := slices.IndexFunc(calls[want-windowLimit:], func(at time.Time) bool {
				return !at.Equal(t0.Add(time.Duration(lot) * 5 * time.Minute))
			}); i >= 0 {
				n := want - windowLimit + i
				t.Errorf("request %d at +%v, want +%v", n, calls[n].Sub(t0), time.Duration(lot)*5*time.Minute)
			}
			time.Sleep(5 * time.Minute)
		}
		for _, r := range <-done {
			if r.Err != nil {
				t.Fatalf("batch %d: %v", r.Batch.Index, r.Err)
			}
		}
		if calls := s.times(); len(calls) != n || !calls[n-1].Equal(t0.Add(10*time.Minute)) {
			t.Errorf("%d requests, the last at +%v; want %d, the last lot at +10m", len(calls), time.Since(t0), n)
		}
	})
}

func TestRunAPIWindowSchedule(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &clockSender{}
		const n = 2*windowLimit + 5
		purge.Run(context.Background(), s, tagJobs(n), windowOptions(t0.Add(time.Hour)))
		calls := s.times()
		if len(calls) != n {
			t.Fatalf("%d requests, want %d", len(calls), n)
		}
		for i, at := range calls {
			if want := t0.Add(time.Duration(i/windowLimit) * 5 * time.Minute); !at.Equal(want) {
				t.Fatalf("request %d at +%v, want +%v: each lot of %d waits for the window", i, at.Sub(t0), want.Sub(t0), windowLimit)
			}
		}
	})
}

func TestRunAPIWindowPastDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &clockSender{}
		const n = windowLimit + 60
		results := purge.Run(context.Background(), s, tagJobs(n), windowOptions(t0.Add(4*time.Minute))).Results
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
		if len(s.times()) != windowLimit || time.Since(t0) != 0 {
			t.Errorf("%d requests, waited %v: the rest should fail without waiting", len(s.times()), time.Since(t0))
		}
	})
}
