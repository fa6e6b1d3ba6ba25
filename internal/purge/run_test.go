package purge_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/cfpurge/cloudflare-purge-action/internal/clocktest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

func tags(n int) []cloudflare.Target {
	out := make([]cloudflare.Target, n)
	for i := range out {
		out[i] = cloudflare.Target{Value: fmt.Sprintf("tag-%d", i)}
	}
	return out
}

func opts(clock *clocktest.Clock) purge.Options {
	return purge.Options{
		ZoneID: "z", Concurrency: 1, MaxRetries: 3, Clock: clock,
		Deadline:   t0.Add(10 * time.Minute),
		NewBackOff: func() purge.BackOff { return backoff.NewConstantBackOff(2 * time.Second) },
	}
}

func apiErr(status int, retryAfter time.Duration) error {
	e := &cloudflare.APIError{Status: status, Errors: []cloudflare.ErrorItem{{Code: 1, Message: "x"}}}
	if retryAfter >= 0 {
		e.RetryAfter, e.HasRetryAfter = retryAfter, true
	}
	return e
}

func TestPlan(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ n, size, wantBatches, wantLast int }{
		{1, 100, 1, 1}, {100, 100, 1, 100}, {101, 100, 2, 1}, {250, 30, 9, 10}, {0, 30, 0, 0},
	} {
		batches := purge.Plan(cloudflare.Tags, tags(tt.n), tt.size)
		if len(batches) != tt.wantBatches {
			t.Fatalf("Plan(%d, %d) = %d batches, want %d", tt.n, tt.size, len(batches), tt.wantBatches)
		}
		if got := purge.Requests(cloudflare.Tags, tt.n, tt.size); got != tt.wantBatches {
			t.Errorf("Requests(%d, %d) = %d, want %d", tt.n, tt.size, got, tt.wantBatches)
		}
		var seen []cloudflare.Target
		for i, b := range batches {
			if b.Index != i || len(b.Targets) > tt.size {
				t.Errorf("batch %d: index %d, %d targets", i, b.Index, len(b.Targets))
			}
			seen = append(seen, b.Targets...)
		}
		if tt.n > 0 && (!reflect.DeepEqual(seen, tags(tt.n)) || len(batches[len(batches)-1].Targets) != tt.wantLast) {
			t.Errorf("Plan(%d, %d) does not send every target once, in order", tt.n, tt.size)
		}
	}
	everything := purge.Plan(cloudflare.Everything, nil, 30)
	if len(everything) != 1 || everything[0].Count() != 1 || !everything[0].Body().PurgeEverything {
		t.Errorf("Plan(everything) = %+v", everything)
	}
	if got := purge.Requests(cloudflare.Everything, 0, 30); got != 1 {
		t.Errorf("Requests(everything) = %d, want 1", got)
	}
}

func TestRunKeepsBatchOrderUnderConcurrency(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	// Later batches answer first: each call waits until the next one has
	// answered, except the last. (This can only finish if all n run at once.)
	const n = 6
	answered := make([]chan struct{}, n)
	for i := range answered {
		answered[i] = make(chan struct{})
	}
	var mu sync.Mutex
	var answerOrder []int
	p := &fakePurger{clock: clock, script: func(c call) (cloudflare.Result, error) {
		var idx int
		if _, err := fmt.Sscanf(c.items[0], "tag-%d", &idx); err != nil {
			return cloudflare.Result{}, err // fails the batch, and so the test
		}
		if idx+1 < n {
			<-answered[idx+1]
		}
		mu.Lock()
		answerOrder = append(answerOrder, idx)
		mu.Unlock()
		close(answered[idx])
		return cloudflare.Result{ID: fmt.Sprintf("id-of-%d", idx)}, nil
	}}
	o := opts(clock)
	o.Concurrency = n
	// OnDone runs as batches finish, so its order is up to the scheduler;
	// what must hold is one call per batch.
	doneCalls := map[int]int{}
	o.OnDone = func(r purge.BatchResult) { doneCalls[r.Batch.Index]++ }
	results := purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(n), 1), o)
	if !reflect.DeepEqual(answerOrder, []int{5, 4, 3, 2, 1, 0}) {
		t.Fatalf("answers came in order %v; the test meant them to come last-first", answerOrder)
	}
	if len(results) != n {
		t.Fatalf("%d results, want %d", len(results), n)
	}
	for i, r := range results {
		if r.Err != nil || r.Batch.Index != i || r.ID != fmt.Sprintf("id-of-%d", i) {
			t.Errorf("result %d = %+v, want batch %d with id-of-%d", i, r, i, i)
		}
		if doneCalls[i] != 1 {
			t.Errorf("OnDone called %d times for batch %d, want 1", doneCalls[i], i)
		}
	}
}

func TestRunRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		fails        []error // answers before success; nil entries never happen
		maxRetries   int
		wantAttempts int
		wantErr      string
		wantSlept    []time.Duration
	}{
		{"500 then success", []error{apiErr(500, -1)}, 3, 2, "", []time.Duration{2 * time.Second}},
		{"502 503 520 then success", []error{apiErr(502, -1), apiErr(503, -1), apiErr(520, -1)}, 3, 4, "", []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"network error then success", []error{errors.New("connection reset by peer")}, 3, 2, "", []time.Duration{2 * time.Second}},
		{"Retry-After on a 503 wins over backoff", []error{apiErr(503, 9*time.Second)}, 3, 2, "", []time.Duration{9 * time.Second}},
		{"gives up after max-retries", []error{apiErr(500, -1), apiErr(500, -1), apiErr(500, -1)}, 2, 3, "gave up after 3 attempts: HTTP 500", []time.Duration{2 * time.Second, 2 * time.Second}},
		{"no retries", []error{apiErr(500, -1)}, 0, 1, "gave up after 1 attempts", nil},
		{"400 is not retried", []error{apiErr(400, -1)}, 3, 1, "HTTP 400: 1 x", nil},
		{"403 is not retried", []error{apiErr(403, -1)}, 3, 1, "HTTP 403", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock(true)
			p := &fakePurger{clock: clock, script: func(c call) (cloudflare.Result, error) {
				if c.n < len(tt.fails) {
					return cloudflare.Result{}, tt.fails[c.n]
				}
				return cloudflare.Result{ID: "ok"}, nil
			}}
			o := opts(clock)
			o.MaxRetries = tt.maxRetries
			res := purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(1), 1), o)[0]
			if res.Attempts != tt.wantAttempts || len(p.Calls()) != tt.wantAttempts {
				t.Errorf("attempts = %d (calls %d), want %d", res.Attempts, len(p.Calls()), tt.wantAttempts)
			}
			if tt.wantErr == "" && (res.Err != nil || res.ID != "ok") {
				t.Errorf("result = %+v, want success", res)
			}
			if tt.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", res.Err, tt.wantErr)
			}
			if got := clock.Slept(); !reflect.DeepEqual(got, tt.wantSlept) {
				t.Errorf("slept %v, want %v", got, tt.wantSlept)
			}
		})
	}
}

// A 429 holds back every worker, not just the one that got it, until its
// Retry-After has passed.
func TestRun429PausesEveryWorker(t *testing.T) {
	t.Parallel()
	clock := newClock(false)
	firstInFlight := make(chan struct{})
	var once sync.Once
	p := &fakePurger{clock: clock}
	p.script = func(c call) (cloudflare.Result, error) {
		switch {
		case c.items[0] == "tag-0" && c.n < 2:
			<-firstInFlight // both workers are mid-request
			return cloudflare.Result{}, apiErr(429, 30*time.Second)
		case c.items[0] == "tag-1" && c.n < 2:
			once.Do(func() { close(firstInFlight) })
			clock.WaitSleepers(t, 1) // tag-0's worker is paused
			return cloudflare.Result{ID: "one"}, nil
		}
		return cloudflare.Result{ID: c.items[0]}, nil
	}
	o := opts(clock)
	o.Concurrency = 2
	done := make(chan []purge.BatchResult)
	go func() { done <- purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(4), 1), o) }()

	// Both workers wait now: the one that got the 429, and the one that
	// finished tag-1 and would otherwise send tag-2 at once.
	clock.WaitSleepers(t, 2)
	if n := len(p.Calls()); n != 2 {
		t.Fatalf("%d requests before Retry-After passed, want 2", n)
	}
	clock.Advance(29 * time.Second)
	if n := len(p.Calls()); n != 2 {
		t.Fatalf("%d requests after 29s of a 30s Retry-After, want 2", n)
	}
	clock.Advance(time.Second)
	results := <-done
	for _, c := range p.Calls()[2:] {
		if c.at.Before(t0.Add(30 * time.Second)) {
			t.Errorf("request %d (%v) sent at %v, before Retry-After passed", c.n, c.items, c.at.Sub(t0))
		}
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("batch %d failed: %v", r.Batch.Index, r.Err)
		}
	}
}

func TestRunRetryAfterPastDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock, script: func(c call) (cloudflare.Result, error) {
		return cloudflare.Result{}, apiErr(429, 2*time.Minute)
	}}
	o := opts(clock)
	o.Deadline = t0.Add(time.Minute)
	res := purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(1), 1), o)[0]
	if res.Err == nil || !strings.Contains(res.Err.Error(), "Retry-After asks to wait 2m0s, longer than the 1m0s left of timeout") {
		t.Fatalf("err = %v", res.Err)
	}
	if res.Attempts != 1 || len(clock.Slept()) != 0 || !clock.Now().Equal(t0) {
		t.Errorf("attempts %d, slept %v: it should fail without waiting", res.Attempts, clock.Slept())
	}
}

func TestRunAuthFailureStopsRemainingBatches(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock, script: func(c call) (cloudflare.Result, error) {
		if c.items[0] == "tag-1" {
			return cloudflare.Result{}, apiErr(403, -1)
		}
		return cloudflare.Result{ID: c.items[0]}, nil
	}}
	results := purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(5), 1), opts(clock))
	if results[0].Err != nil || results[0].ID != "tag-0" {
		t.Errorf("batch 0 = %+v", results[0])
	}
	if !strings.Contains(fmt.Sprint(results[1].Err), "HTTP 403") {
		t.Errorf("batch 1 err = %v", results[1].Err)
	}
	for _, r := range results[2:] {
		if !errors.Is(r.Err, purge.ErrStopped) || r.Attempts != 0 {
			t.Errorf("batch %d = %+v, want not sent", r.Batch.Index, r)
		}
	}
	if len(p.Calls()) != 2 {
		t.Errorf("%d requests, want 2", len(p.Calls()))
	}
}

func TestRunFailureMidwayKeepsGoing(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock, script: func(c call) (cloudflare.Result, error) {
		if c.items[0] == "tag-2" {
			return cloudflare.Result{}, apiErr(400, -1)
		}
		return cloudflare.Result{ID: c.items[0]}, nil
	}}
	results := purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(5), 1), opts(clock))
	for i, r := range results {
		if (i == 2) != (r.Err != nil) {
			t.Errorf("batch %d: err = %v", i, r.Err)
		}
	}
}

func TestRunPacesToThePlan(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock}
	o := opts(clock)
	o.Limits = cloudflare.PlanFree.Limits() // 5 a minute, bucket 25
	o.Deadline = t0.Add(time.Hour)
	purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(27), 1), o)
	calls := p.Calls()
	if len(calls) != 27 {
		t.Fatalf("%d calls", len(calls))
	}
	if !calls[24].at.Equal(t0) {
		t.Errorf("request 25 at %v; the bucket of 25 should let it go at once", calls[24].at.Sub(t0))
	}
	if got := calls[25].at.Sub(t0); got < 12*time.Second {
		t.Errorf("request 26 at %v, want ≥ 12s (one token every 12s)", got)
	}
	if got := calls[26].at.Sub(calls[25].at); got < 12*time.Second {
		t.Errorf("requests 26 and 27 %v apart, want ≥ 12s", got)
	}
}

func TestRunPacesFilesByURL(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock}
	o := opts(clock)
	o.Limits = cloudflare.PlanFree.Limits() // 800 URLs a second
	urls := make([]cloudflare.Target, 1600)
	for i := range urls {
		urls[i] = cloudflare.Target{Value: fmt.Sprintf("https://a.example/%d", i)}
	}
	purge.Run(context.Background(), p, purge.Plan(cloudflare.Files, urls, 400), o)
	calls := p.Calls()
	if len(calls) != 4 || calls[1].at.After(t0) {
		t.Fatalf("calls = %d; the first 800 URLs should go at once", len(calls))
	}
	if got := calls[3].at.Sub(t0); got < time.Second {
		t.Errorf("URLs 1201-1600 went at %v, want ≥ 1s at 800 URLs a second", got)
	}
}

func TestRunLearnsFromRateLimitHeaders(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock, script: func(c call) (cloudflare.Result, error) {
		// The server allows 2 requests a second and says none are left.
		return cloudflare.Result{ID: "x", RateLimit: cloudflare.RateLimit{
			HasRemaining: true, Remaining: 0, Reset: time.Second, HasPolicy: true, Quota: 2, Window: time.Second}}, nil
	}}
	purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(4), 1), opts(clock))
	calls := p.Calls()
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].at.Sub(calls[i-1].at); gap < 500*time.Millisecond {
			t.Errorf("requests %d and %d %v apart, want ≥ 500ms at 2 a second", i-1, i, gap)
		}
	}
}

func TestRunEmptyBucketWithoutPolicyPausesUntilReset(t *testing.T) {
	t.Parallel()
	clock := newClock(true)
	p := &fakePurger{clock: clock, script: func(c call) (cloudflare.Result, error) {
		rl := cloudflare.RateLimit{HasRemaining: true, Remaining: 5, Reset: 10 * time.Second}
		if c.n == 0 {
			rl.Remaining = 0
		}
		return cloudflare.Result{ID: "x", RateLimit: rl}, nil
	}}
	purge.Run(context.Background(), p, purge.Plan(cloudflare.Tags, tags(3), 1), opts(clock))
	calls := p.Calls()
	if got := calls[1].at.Sub(calls[0].at); got < 10*time.Second {
		t.Errorf("second request %v after an empty bucket with t=10, want ≥ 10s", got)
	}
	if got := calls[2].at.Sub(calls[1].at); got != 0 {
		t.Errorf("third request waited %v though 5 were left", got)
	}
}

func TestRunSendsNothingOnceTheRunIsOver(t *testing.T) {
	t.Parallel()
	expired, cancel1 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel1()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want string
	}{{"timeout", expired, "timeout reached"}, {"cancelled", cancelled, "run cancelled"}} {
		clock := newClock(true)
		p := &fakePurger{clock: clock}
		results := purge.Run(tt.ctx, p, purge.Plan(cloudflare.Tags, tags(3), 1), opts(clock))
		for _, r := range results {
			if r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) {
				t.Errorf("%s: batch %d err = %v, want %q", tt.name, r.Batch.Index, r.Err, tt.want)
			}
		}
		if len(p.Calls()) != 0 {
			t.Errorf("%s: %d requests sent after the run was over", tt.name, len(p.Calls()))
		}
	}
}
