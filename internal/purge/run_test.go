package purge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// Tests that send run inside synctest.Test: time there is virtual, starts
// at 2000-01-01 UTC (each test notes t0 := time.Now() first), and moves on
// only when every goroutine of the bubble is blocked, so nothing sleeps
// for real and every recorded time is exact.

var zone = cloudflare.ZoneScope(cloudflare.MustParseID("z"))

func tags(n int) []cloudflare.Target {
	return prefixed("tag-", n)
}

func prefixed(prefix string, n int) []cloudflare.Target {
	out := make([]cloudflare.Target, n)
	for i := range out {
		out[i] = cloudflare.Target{Value: fmt.Sprintf("%s%d", prefix, i)}
	}
	return out
}

// tagJobs is one job purging n tags of zone z, size a request.
func tagJobs(n, size int) []purge.Job {
	return []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Tags, tags(n), size)}
}

// opts sends one request at a time, retries 3 times 2 s apart, and must
// be over 10 minutes after t0.
func opts(t0 time.Time) purge.Options {
	return purge.Options{
		Concurrency: 1, MaxRetries: 3,
		Deadline:   t0.Add(10 * time.Minute),
		NewBackOff: func() purge.BackOff { return backoff.NewConstantBackOff(2 * time.Second) },
	}
}

// apiErrCode is an answer of status with one Cloudflare error of code.
func apiErrCode(status, code int) error {
	return &cloudflare.APIError{Status: status, Errors: []cloudflare.ErrorItem{{Code: code, Message: "x"}}}
}

// rateLimit1134 is Cloudflare's "Unable to purge, rate limit reached"
// (code 1134) with status, and Retry-After.
func rateLimit1134(status int, retryAfter time.Duration) error {
	return &cloudflare.APIError{Status: status, RetryAfter: retryAfter, HasRetryAfter: true,
		Errors: []cloudflare.ErrorItem{{Code: cloudflare.CodeRateLimited, Message: "Unable to purge, rate limit reached. Please wait and consider throttling your request speed"}}}
}

func apiErr(status int, retryAfter time.Duration) error {
	e := &cloudflare.APIError{Status: status, Errors: []cloudflare.ErrorItem{{Code: 1, Message: "x"}}}
	if retryAfter >= 0 {
		e.RetryAfter, e.HasRetryAfter = retryAfter, true
	}
	return e
}

// gaps lists the time between each call and the one before it.
func gaps(calls []call) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(calls); i++ {
		out = append(out, calls[i].at.Sub(calls[i-1].at))
	}
	return out
}

func TestNewJob(t *testing.T) {
	t.Parallel()
	scope := cloudflare.EnvironmentScope(cloudflare.MustParseID("z"), cloudflare.MustParseID("e"))
	for _, tt := range []struct{ n, size, wantBatches, wantLast int }{
		{1, 100, 1, 1}, {100, 100, 1, 100}, {101, 100, 2, 1}, {250, 30, 9, 10}, {0, 30, 0, 0},
	} {
		job := purge.NewJob(scope, cloudflare.Purge, cloudflare.Tags, tags(tt.n), tt.size)
		if job.Scope != scope || job.Operation != cloudflare.Purge || job.Type != cloudflare.Tags {
			t.Errorf("NewJob(%d, %d) = scope %v, operation %q, type %q", tt.n, tt.size, job.Scope, job.Operation, job.Type)
		}
		batches := job.Batches
		if len(batches) != tt.wantBatches {
			t.Fatalf("NewJob(%d, %d) = %d batches, want %d", tt.n, tt.size, len(batches), tt.wantBatches)
		}
		if got := purge.Requests(cloudflare.Tags, tt.n, tt.size); got != tt.wantBatches {
			t.Errorf("Requests(%d, %d) = %d, want %d", tt.n, tt.size, got, tt.wantBatches)
		}
		if got := job.Count(); got != tt.n {
			t.Errorf("NewJob(%d, %d).Count() = %d", tt.n, tt.size, got)
		}
		var seen []cloudflare.Target
		for i, b := range batches {
			if b.Index != i || b.Type != cloudflare.Tags || len(b.Targets) > tt.size {
				t.Errorf("batch %d: index %d, type %q, %d targets", i, b.Index, b.Type, len(b.Targets))
			}
			req := job.Request(b)
			if req.Scope != scope || req.Operation != cloudflare.Purge || !reflect.DeepEqual(req.Body, b.Body()) {
				t.Errorf("batch %d: request %+v", i, req)
			}
			seen = append(seen, b.Targets...)
		}
		if tt.n > 0 && (!reflect.DeepEqual(seen, tags(tt.n)) || len(batches[len(batches)-1].Targets) != tt.wantLast) {
			t.Errorf("NewJob(%d, %d) does not send every target once, in order", tt.n, tt.size)
		}
	}
	everything := purge.NewJob(zone, cloudflare.Purge, cloudflare.Everything, nil, 30)
	if len(everything.Batches) != 1 || everything.Batches[0].Count() != 1 || everything.Count() != 1 ||
		!everything.Batches[0].Body().PurgeEverything {
		t.Errorf("NewJob(everything) = %+v", everything)
	}
	if got := purge.Requests(cloudflare.Everything, 0, 30); got != 1 {
		t.Errorf("Requests(everything) = %d, want 1", got)
	}
}

func TestRunKeepsBatchOrderUnderConcurrency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Later batches answer first: each call waits until the next one has
		// answered, except the last. (This can only finish if all n run at once.)
		const n = 6
		answered := make([]chan struct{}, n)
		for i := range answered {
			answered[i] = make(chan struct{})
		}
		var mu sync.Mutex
		var answerOrder []int
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
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
		o := opts(time.Now())
		o.Concurrency = n
		// OnDone runs as batches finish, so its order is up to the scheduler;
		// what must hold is one call per batch.
		doneCalls := map[int]int{}
		o.OnDone = func(r purge.BatchResult) { doneCalls[r.Batch.Index]++ }
		results := purge.Run(context.Background(), s, tagJobs(n, 1), o).Results
		if !reflect.DeepEqual(answerOrder, []int{5, 4, 3, 2, 1, 0}) {
			t.Fatalf("answers came in order %v; the test meant them to come last-first", answerOrder)
		}
		if len(results) != n {
			t.Fatalf("%d results, want %d", len(results), n)
		}
		for i, r := range results {
			if r.Err != nil || r.Job != 0 || r.Batch.Index != i || !reflect.DeepEqual(r.IDs, []string{fmt.Sprintf("id-of-%d", i)}) || r.Purged != 1 {
				t.Errorf("result %d = %+v, want batch %d with id-of-%d", i, r, i, i)
			}
			if doneCalls[i] != 1 {
				t.Errorf("OnDone called %d times for batch %d, want 1", doneCalls[i], i)
			}
		}
	})
}

// Jobs share one pacer: the plan's bucket counts the requests of every
// job. Results come back in job and then batch order, and each request
// goes to its own job's scope, with its job's operation.
func TestRunJobsShareOnePacer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		other := cloudflare.Operation("other_operation") // the fake sender takes any
		jobs := []purge.Job{
			purge.NewJob(cloudflare.ZoneScope(cloudflare.MustParseID("a")), cloudflare.Purge, cloudflare.Tags, prefixed("a-", 20), 1),
			purge.NewJob(cloudflare.EnvironmentScope(cloudflare.MustParseID("b"), cloudflare.MustParseID("e")), other, cloudflare.Tags, prefixed("b-", 6), 2),
			purge.NewJob(cloudflare.ZoneScope(cloudflare.MustParseID("c")), cloudflare.Purge, cloudflare.Tags, prefixed("c-", 5), 1),
		}
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			return cloudflare.Result{ID: c.items[0]}, nil
		}}
		o := opts(t0)
		o.Concurrency = 4
		o.Limits = cloudflare.PlanFree.Limits() // 5 a minute, bucket 25
		o.Deadline = t0.Add(time.Hour)
		var mu sync.Mutex
		done := map[[2]int]int{}
		o.OnDone = func(r purge.BatchResult) {
			mu.Lock()
			done[[2]int{r.Job, r.Batch.Index}]++
			mu.Unlock()
		}
		results := purge.Run(context.Background(), s, jobs, o).Results

		var want [][2]int
		for j, job := range jobs {
			for _, b := range job.Batches {
				want = append(want, [2]int{j, b.Index})
			}
		}
		if len(results) != len(want) {
			t.Fatalf("%d results, want %d", len(results), len(want))
		}
		for i, r := range results {
			if got := [2]int{r.Job, r.Batch.Index}; got != want[i] {
				t.Errorf("result %d is job %d batch %d, want job %d batch %d", i, got[0], got[1], want[i][0], want[i][1])
				continue
			}
			b := jobs[r.Job].Batches[r.Batch.Index]
			if r.Err != nil || r.Attempts != 1 || !reflect.DeepEqual(r.IDs, []string{b.Targets[0].Value}) || !reflect.DeepEqual(r.Batch, b) {
				t.Errorf("result %d = %+v, want job %d's batch %+v sent once", i, r, r.Job, b)
			}
			if done[want[i]] != 1 {
				t.Errorf("OnDone called %d times for job %d batch %d, want 1", done[want[i]], r.Job, r.Batch.Index)
			}
		}

		calls := s.Calls()
		if len(calls) != len(want) {
			t.Fatalf("%d requests, want %d", len(calls), len(want))
		}
		for _, c := range calls {
			j := strings.IndexByte("abc", c.items[0][0])
			if j < 0 || c.req.Scope != jobs[j].Scope || c.req.Operation != jobs[j].Operation {
				t.Errorf("request %d for %v went to %v with operation %q", c.n, c.items, c.req.Scope, c.req.Operation)
			}
		}
		// 28 requests: the bucket of 25 lets 25 go at once, the jobs'
		// together; the other 3 go one token (≥ 12 s) apart.
		times := make([]time.Time, len(calls))
		for i, c := range calls {
			times[i] = c.at
		}
		slices.SortFunc(times, time.Time.Compare)
		if at := times[24]; !at.Equal(t0) {
			t.Errorf("request 25 of all jobs at +%v, want at once", at.Sub(t0))
		}
		for i := 25; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < 12*time.Second {
				t.Errorf("requests %d and %d of all jobs %v apart, want ≥ 12s: one pacer for every job", i, i+1, gap)
			}
		}
	})
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
		{"no retries", []error{apiErr(500, -1)}, 0, 1, "gave up after 1 attempt:", nil},
		{"400 is not retried", []error{apiErrCode(400, 1092)}, 3, 1, "HTTP 400: 1092 x", nil},
		// 1134 is the purge rate limit whatever the status: retried, after
		// its Retry-After as a 429 would be.
		{"1134 on a 400 is retried like a 429", []error{rateLimit1134(400, 5*time.Second)}, 3, 2, "", []time.Duration{5 * time.Second}},
		{"1134 on a 200 is retried like a 429", []error{rateLimit1134(200, 5*time.Second)}, 3, 2, "", []time.Duration{5 * time.Second}},
		{"403 is not retried", []error{apiErr(403, -1)}, 3, 1, "HTTP 403", nil},
		{"501 is not retried", []error{apiErr(501, -1)}, 3, 1, "HTTP 501", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
					if c.n < len(tt.fails) {
						return cloudflare.Result{}, tt.fails[c.n]
					}
					return cloudflare.Result{ID: "ok"}, nil
				}}
				o := opts(t0)
				o.MaxRetries = tt.maxRetries
				res := purge.Run(context.Background(), s, tagJobs(1, 1), o).Results[0]
				calls := s.Calls()
				if res.Attempts != tt.wantAttempts || len(calls) != tt.wantAttempts {
					t.Errorf("attempts = %d (calls %d), want %d", res.Attempts, len(calls), tt.wantAttempts)
				}
				if tt.wantErr == "" && (res.Err != nil || !reflect.DeepEqual(res.IDs, []string{"ok"})) {
					t.Errorf("result = %+v, want success", res)
				}
				if tt.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr)) {
					t.Errorf("err = %v, want %q", res.Err, tt.wantErr)
				}
				// The waits between attempts, and no wait after the last.
				var total time.Duration
				for _, d := range tt.wantSlept {
					total += d
				}
				if got := gaps(calls); !reflect.DeepEqual(got, tt.wantSlept) || !calls[0].at.Equal(t0) || time.Since(t0) != total {
					t.Errorf("waited %v between attempts, %v in all, want %v", got, time.Since(t0), tt.wantSlept)
				}
			})
		})
	}
}

// A 500, 502 or 503 may pass when sent again; 501 Not Implemented says the
// server does not do this at all, so it is final.
func TestRunRetriesServerErrorsBut501(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status    int
		retried   bool
		wantCalls int
	}{
		{500, true, 2}, {501, false, 1}, {502, true, 2}, {503, true, 2},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
					if c.n == 0 {
						return cloudflare.Result{}, apiErr(tt.status, -1)
					}
					return cloudflare.Result{ID: "ok"}, nil
				}}
				res := purge.Run(context.Background(), s, tagJobs(1, 1), opts(time.Now())).Results[0]
				if n := len(s.Calls()); n != tt.wantCalls || res.Attempts != tt.wantCalls {
					t.Fatalf("HTTP %d: %d requests, %d attempts; want %d", tt.status, n, res.Attempts, tt.wantCalls)
				}
				if tt.retried && (res.Err != nil || !reflect.DeepEqual(res.IDs, []string{"ok"})) {
					t.Errorf("HTTP %d then success: result %+v, want success", tt.status, res)
				}
				if !tt.retried && (res.Err == nil || !strings.Contains(res.Err.Error(), fmt.Sprintf("HTTP %d", tt.status))) {
					t.Errorf("HTTP %d: err = %v, want it as it came", tt.status, res.Err)
				}
			})
		})
	}
}

// A 429 holds back every worker, not just the one that got it, until its
// Retry-After has passed.
func TestRun429PausesEveryWorker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		firstInFlight := make(chan struct{})
		release := make(chan struct{}) // lets tag-1 answer
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			switch {
			case c.items[0] == "tag-0" && c.n < 2:
				<-firstInFlight // both workers are mid-request
				return cloudflare.Result{}, apiErr(429, 30*time.Second)
			case c.items[0] == "tag-1" && c.n < 2:
				close(firstInFlight)
				<-release
				return cloudflare.Result{ID: "one"}, nil
			}
			return cloudflare.Result{ID: c.items[0]}, nil
		}}
		o := opts(t0)
		o.Concurrency = 2
		done := make(chan []purge.BatchResult)
		go func() { done <- purge.Run(context.Background(), s, tagJobs(4, 1), o).Results }()

		// tag-0's worker got the 429 and is paused; tag-1 is still in flight.
		// (Checks before Run returns use Errorf: a Fatalf would leave its
		// goroutines blocked, which synctest reports as a deadlock.)
		synctest.Wait()
		if n := len(s.Calls()); n != 2 {
			t.Errorf("%d requests before tag-1 answered, want 2", n)
		}
		// Both workers wait now: the one that got the 429, and the one that
		// finished tag-1 and would otherwise send tag-2 at once.
		close(release)
		synctest.Wait()
		if n := len(s.Calls()); n != 2 || !time.Now().Equal(t0) {
			t.Errorf("%d requests at +%v, before Retry-After passed; want 2", n, time.Since(t0))
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if n := len(s.Calls()); n != 2 {
			t.Errorf("%d requests after 29s of a 30s Retry-After, want 2", n)
		}
		time.Sleep(time.Second)
		results := <-done
		calls := s.Calls()
		if len(calls) != 5 {
			t.Errorf("%d requests, want 5: 4 batches and one retry", len(calls))
		}
		for _, c := range calls[2:] {
			if c.at.Before(t0.Add(30 * time.Second)) {
				t.Errorf("request %d (%v) sent at +%v, before Retry-After passed", c.n, c.items, c.at.Sub(t0))
			}
		}
		for _, r := range results {
			if r.Err != nil {
				t.Errorf("batch %d failed: %v", r.Batch.Index, r.Err)
			}
		}
	})
}

func TestRunRetryAfterPastDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			return cloudflare.Result{}, apiErr(429, 2*time.Minute)
		}}
		o := opts(t0)
		o.Deadline = t0.Add(time.Minute)
		res := purge.Run(context.Background(), s, tagJobs(1, 1), o).Results[0]
		if res.Err == nil || !strings.Contains(res.Err.Error(), "Retry-After asks to wait 2m0s, longer than the 1m0s left of timeout") {
			t.Fatalf("err = %v", res.Err)
		}
		if !purge.TimedOut(res.Err) {
			t.Errorf("TimedOut(%v) = false", res.Err)
		}
		if res.Attempts != 1 || len(s.Calls()) != 1 || time.Since(t0) != 0 {
			t.Errorf("attempts %d, waited %v: it should fail without waiting", res.Attempts, time.Since(t0))
		}
	})
}

func TestRunAuthFailureStopsRemainingBatches(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			if c.items[0] == "tag-1" {
				return cloudflare.Result{}, apiErr(403, -1)
			}
			return cloudflare.Result{ID: c.items[0]}, nil
		}}
		results := purge.Run(context.Background(), s, tagJobs(5, 1), opts(time.Now())).Results
		if results[0].Err != nil || !reflect.DeepEqual(results[0].IDs, []string{"tag-0"}) {
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
		if len(s.Calls()) != 2 {
			t.Errorf("%d requests, want 2", len(s.Calls()))
		}
	})
}

// slowSender answers after latency, as a server does, and, as the real
// client does, gives up when its context ends before the answer.
type slowSender struct {
	fakeSender
	latency func(r cloudflare.Request) time.Duration
}

func (s *slowSender) Send(ctx context.Context, r cloudflare.Request) (cloudflare.Result, error) {
	select {
	case <-time.After(s.latency(r)):
		return s.fakeSender.Send(ctx, r)
	case <-ctx.Done():
		return cloudflare.Result{}, fmt.Errorf("request failed: %w", ctx.Err())
	}
}

// Requests already in flight when another is refused for its credentials
// were received by the server, which may have purged: they end with their
// own answers (their IDs kept), never "not sent". Only what was not yet
// sent is stopped.
func TestRunAuthFailureLetsRequestsInFlightFinish(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// tag-1 is answered after 0.5 s, while tag-0, tag-2 and tag-3 are
		// in flight until 1 s.
		s := &slowSender{latency: func(r cloudflare.Request) time.Duration {
			if body, _ := json.Marshal(r.Body); strings.Contains(string(body), `"tag-1"`) {
				return time.Second / 2
			}
			return time.Second
		}}
		s.script = func(c call) (cloudflare.Result, error) {
			if c.items[0] == "tag-1" {
				return cloudflare.Result{}, apiErr(403, -1)
			}
			return cloudflare.Result{ID: c.items[0]}, nil
		}
		o := opts(time.Now())
		o.Concurrency = 4
		results := purge.Run(context.Background(), s, tagJobs(8, 1), o).Results
		for _, i := range []int{0, 2, 3} {
			if r := results[i]; r.Err != nil || !reflect.DeepEqual(r.IDs, []string{fmt.Sprintf("tag-%d", i)}) || r.Attempts != 1 {
				t.Errorf("batch %d, in flight at the refusal = %+v, want its own answer (purged)", i, r)
			}
		}
		if !strings.Contains(fmt.Sprint(results[1].Err), "HTTP 403") {
			t.Errorf("batch 1 err = %v", results[1].Err)
		}
		for _, r := range results[4:] {
			if !errors.Is(r.Err, purge.ErrStopped) || r.Attempts != 0 {
				t.Errorf("batch %d = %+v, want not sent", r.Batch.Index, r)
			}
		}
		if len(s.Calls()) != 4 {
			t.Errorf("%d requests, want the 4 sent before the refusal", len(s.Calls()))
		}
	})
}

func TestRunFailureMidwayKeepsGoing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			if c.items[0] == "tag-2" {
				return cloudflare.Result{}, apiErrCode(400, 1092) // about the body's keys: not split
			}
			return cloudflare.Result{ID: c.items[0]}, nil
		}}
		results := purge.Run(context.Background(), s, tagJobs(5, 1), opts(time.Now())).Results
		for i, r := range results {
			if (i == 2) != (r.Err != nil) || (i == 2) != (r.Purged == 0) || len(r.Rejected) != 0 {
				t.Errorf("batch %d: %+v", i, r)
			}
		}
		if len(s.Calls()) != 5 {
			t.Errorf("%d requests, want 5", len(s.Calls()))
		}
	})
}

func TestRunPacesToThePlan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &fakeSender{}
		o := opts(t0)
		o.Limits = cloudflare.PlanFree.Limits() // 5 a minute, bucket 25
		o.Deadline = t0.Add(time.Hour)
		purge.Run(context.Background(), s, tagJobs(27, 1), o)
		calls := s.Calls()
		if len(calls) != 27 {
			t.Fatalf("%d calls", len(calls))
		}
		if !calls[24].at.Equal(t0) {
			t.Errorf("request 25 at +%v; the bucket of 25 should let it go at once", calls[24].at.Sub(t0))
		}
		if got := calls[25].at.Sub(t0); got < 12*time.Second {
			t.Errorf("request 26 at +%v, want ≥ 12s (one token every 12s)", got)
		}
		if got := calls[26].at.Sub(calls[25].at); got < 12*time.Second {
			t.Errorf("requests 26 and 27 %v apart, want ≥ 12s", got)
		}
	})
}

func TestRunPacesFilesByURL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &fakeSender{}
		o := opts(t0)
		o.Limits = cloudflare.PlanFree.Limits() // 800 URLs a second
		urls := prefixed("https://a.example/", 1600)
		jobs := []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, 400)}
		purge.Run(context.Background(), s, jobs, o)
		calls := s.Calls()
		// The bucket of 800 refills in about a second: its burst is spent
		// over two (at 760 + 400 URLs a second), not at once, so that
		// other clients' bursts do not meet it in a wave of 429s.
		if len(calls) != 4 || calls[0].at.After(t0) || calls[1].at.Sub(t0) > 400*time.Millisecond {
			t.Fatalf("calls = %d, the second at +%v; the first 800 URLs should go within 0.4 s", len(calls), calls[1].at.Sub(t0))
		}
		if got := calls[3].at.Sub(t0); got < time.Second {
			t.Errorf("URLs 1201-1600 went at +%v, want ≥ 1s at 800 URLs a second", got)
		}
	})
}

func TestRunLearnsFromRateLimitHeaders(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			// The server allows 2 requests a second and says none are left.
			return cloudflare.Result{ID: "x", RateLimit: cloudflare.RateLimit{
				HasRemaining: true, Remaining: 0, Reset: time.Second, HasPolicy: true, Quota: 2, Window: time.Second}}, nil
		}}
		purge.Run(context.Background(), s, tagJobs(4, 1), opts(time.Now()))
		calls := s.Calls()
		if len(calls) != 4 {
			t.Fatalf("%d requests, want 4", len(calls))
		}
		for i, gap := range gaps(calls) {
			if gap < 500*time.Millisecond {
				t.Errorf("requests %d and %d %v apart, want ≥ 500ms at 2 a second", i, i+1, gap)
			}
		}
	})
}

func TestRunEmptyBucketWithoutPolicyPausesUntilReset(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			rl := cloudflare.RateLimit{HasRemaining: true, Remaining: 5, Reset: 10 * time.Second}
			if c.n == 0 {
				rl.Remaining = 0
			}
			return cloudflare.Result{ID: "x", RateLimit: rl}, nil
		}}
		purge.Run(context.Background(), s, tagJobs(3, 1), opts(time.Now()))
		calls := s.Calls()
		if len(calls) != 3 {
			t.Fatalf("%d requests, want 3", len(calls))
		}
		if got := calls[1].at.Sub(calls[0].at); got < 10*time.Second {
			t.Errorf("second request %v after an empty bucket with t=10, want ≥ 10s", got)
		}
		if got := calls[2].at.Sub(calls[1].at); got != 0 {
			t.Errorf("third request waited %v though 5 were left", got)
		}
	})
}

func TestRunSendsNothingOnceTheRunIsOver(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want string
	}{
		{"timeout", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}, "timeout reached"},
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, "run cancelled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := tt.ctx()
				defer cancel()
				s := &fakeSender{}
				results := purge.Run(ctx, s, tagJobs(3, 1), opts(time.Now())).Results
				if len(results) != 3 {
					t.Fatalf("%d results, want 3", len(results))
				}
				for _, r := range results {
					if r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) || r.Attempts != 0 {
						t.Errorf("batch %d = %+v, want not sent: %q", r.Batch.Index, r, tt.want)
					}
				}
				if len(s.Calls()) != 0 {
					t.Errorf("%d requests sent after the run was over", len(s.Calls()))
				}
			})
		})
	}
}
