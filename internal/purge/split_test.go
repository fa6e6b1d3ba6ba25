package purge_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// invalidURL is Cloudflare's 400 for one URL it will not purge.
func invalidURL(url string) error {
	return &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 1, Message: cloudflaretest.InvalidURLMessage(url)}}}
}

// refusing answers invalidURL for any request holding one of bad, and
// succeeds (ID: the request's first target) otherwise.
func refusing(bad ...string) *fakeSender {
	return &fakeSender{script: func(c call) (cloudflare.Result, error) {
		for _, it := range c.items {
			if slices.Contains(bad, it) {
				return cloudflare.Result{}, invalidURL(it)
			}
		}
		return cloudflare.Result{ID: "id-" + c.items[0]}, nil
	}}
}

// quietRefusal is a 400 about a target that names none: every request
// refused with it gets the same answer.
var quietRefusal = &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 1, Message: "Some targets could not be purged."}}}

// refusingQuietly answers quietRefusal for any request holding one of
// bad, and succeeds (ID: the request's first target) otherwise.
func refusingQuietly(bad ...string) *fakeSender {
	return &fakeSender{script: func(c call) (cloudflare.Result, error) {
		for _, it := range c.items {
			if slices.Contains(bad, it) {
				return cloudflare.Result{}, quietRefusal
			}
		}
		return cloudflare.Result{ID: "id-" + c.items[0]}, nil
	}}
}

// checkCounts checks what BatchResult promises: every target purged,
// rejected or in the failed part, and Err set exactly when some failed.
func checkCounts(t *testing.T, results []purge.BatchResult) {
	t.Helper()
	for _, r := range results {
		accounted := r.Purged + len(r.Rejected)
		if accounted > r.Batch.Count() || (r.Err == nil) != (accounted == r.Batch.Count()) {
			t.Errorf("batch %d: %d purged + %d rejected of %d, err %v", r.Batch.Index, r.Purged, len(r.Rejected), r.Batch.Count(), r.Err)
		}
		for _, rej := range r.Rejected {
			if !slices.ContainsFunc(r.Batch.Targets, func(t cloudflare.Target) bool { return t.Value == rej.Target.Value }) {
				t.Errorf("batch %d: rejected %q is not one of its targets", r.Batch.Index, rej.Target.Value)
			}
		}
	}
}

// maxExtra is the bound on extra requests per rejected target in a batch
// of n: two per halving.
func maxExtra(n int) int { return 2 * int(math.Ceil(math.Log2(float64(n)))) }

// One bad target among 90: when Cloudflare's message names it, it is set
// aside and the rest of its batch sent again at once (two requests);
// when it names none, the batch is split in halves until it stands alone.
func TestRunIsolatesARejectedTarget(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		sender func(bad string) *fakeSender
		// wantAttempts of the bad target's batch; 0: at most maxExtra(30) more than one
		wantAttempts int
		wantErr      string
	}{
		{"named in the message", func(bad string) *fakeSender { return refusing(bad) }, 2, "HTTP 400: 1 Unable to purge %s, which is an invalid URL."},
		{"not named", func(bad string) *fakeSender { return refusingQuietly(bad) }, 0, "HTTP 400: 1 Some targets could not be purged."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				urls := prefixed("https://a.example/", 90)
				bad := urls[47].Value // batch 1, target 17
				s := tt.sender(bad)
				var done []purge.BatchResult
				o := opts(time.Now())
				o.OnDone = func(r purge.BatchResult) { done = append(done, r) }
				out := purge.Run(context.Background(), s, []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, 30)}, o)
				checkCounts(t, out.Results)
				if len(out.Results) != 3 || len(done) != 3 || out.LearnedBatchSize != 0 {
					t.Fatalf("%d results, %d OnDone calls, learned size %d; want 3, 3, 0", len(out.Results), len(done), out.LearnedBatchSize)
				}
				for i, r := range out.Results {
					if i == 1 {
						continue
					}
					if r.Purged != 30 || r.Attempts != 1 || len(r.IDs) != 1 || r.Rejected != nil || r.Err != nil {
						t.Errorf("batch %d = %+v, want 30 purged in one request", i, r)
					}
				}
				r := out.Results[1]
				if r.Purged != 29 || len(r.Rejected) != 1 || r.Rejected[0].Target.Value != bad || r.Err != nil {
					t.Fatalf("batch 1 = %+v, want 29 purged and %s rejected", r, bad)
				}
				if got, want := r.Rejected[0].Err.Error(), strings.ReplaceAll(tt.wantErr, "%s", bad); got != want {
					t.Errorf("rejection = %q, want %q", got, want)
				}
				if r.Batch.Index != 1 || len(r.Batch.Targets) != 30 {
					t.Errorf("batch 1 reported as index %d with %d targets: results are per batch given", r.Batch.Index, len(r.Batch.Targets))
				}
				refused := 0
				for _, c := range s.Calls() {
					if slices.Contains(c.items, bad) {
						refused++
					}
				}
				if tt.wantAttempts > 0 && (r.Attempts != tt.wantAttempts || len(r.IDs) != 1) {
					t.Errorf("%d requests, %d IDs for the batch, want %d requests, one ID", r.Attempts, len(r.IDs), tt.wantAttempts)
				}
				// 30 → 15 → 8 → 4 → 2 → 1: a refused piece and two halves a level.
				if extra := r.Attempts - 1; tt.wantAttempts == 0 && extra > maxExtra(30) {
					t.Errorf("%d extra requests for one bad target in 30, want at most %d", extra, maxExtra(30))
				}
				if len(r.IDs) != r.Attempts-refused {
					t.Errorf("%d IDs for %d attempts, of which %d were refused", len(r.IDs), r.Attempts, refused)
				}
				// Every purged target went in exactly one confirmed request.
				purged := map[string]int{}
				for _, c := range s.Calls() {
					if !slices.Contains(c.items, bad) {
						for _, it := range c.items {
							purged[it]++
						}
					}
				}
				for _, u := range urls {
					if want := 1 - b2i(u.Value == bad); purged[u.Value] != want {
						t.Errorf("%s purged %d times, want %d", u.Value, purged[u.Value], want)
					}
				}
			})
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Several bad targets, and IDs in target order whatever order the
// requests answer in.
func TestRunIsolatesSeveralRejectedTargets(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		bad := []string{"tag-3", "tag-40", "tag-41", "tag-99"}
		s := refusing(bad...)
		inner := s.script
		s.script = func(c call) (cloudflare.Result, error) {
			// Requests holding the first targets answer last.
			if c.items[0] == "tag-0" {
				time.Sleep(time.Second)
			}
			return inner(c)
		}
		o := opts(time.Now())
		o.Concurrency = 4
		out := purge.Run(context.Background(), s, tagJobs(100, 100), o)
		checkCounts(t, out.Results)
		r := out.Results[0]
		var rejected []string
		for _, rej := range r.Rejected {
			rejected = append(rejected, rej.Target.Value)
		}
		if r.Purged != 96 || !reflect.DeepEqual(rejected, bad) || r.Err != nil {
			t.Fatalf("result = %d purged, rejected %v, err %v; want 96 purged and %v rejected in order", r.Purged, rejected, r.Err, bad)
		}
		// Each answer names the next bad target: one request each, then
		// the rest.
		if r.Attempts != len(bad)+1 {
			t.Errorf("%d requests for %d bad targets Cloudflare names, want %d", r.Attempts, len(bad), len(bad)+1)
		}
		// IDs name each request's first target: in target order, they are
		// sorted by it.
		var firsts []int
		for _, id := range r.IDs {
			var n int
			if _, err := fmt.Sscanf(id, "id-tag-%d", &n); err != nil {
				t.Fatalf("ID %q: %v", id, err)
			}
			firsts = append(firsts, n)
		}
		if !slices.IsSorted(firsts) || len(firsts) == 0 || firsts[0] != 0 {
			t.Errorf("IDs %v are not in target order", r.IDs)
		}
		if out.LearnedBatchSize != 0 {
			t.Errorf("learned batch size %d from bad targets, want 0", out.LearnedBatchSize)
		}
	})
}

// A 400 about the request as a whole (routing, the body's keys, the
// credentials, the rate limit) or that is not Cloudflare's envelope is not
// split: every half would fail the same way.
func TestRunDoesNotSplitWholeRequestErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"1092 purge_everything with other keys", apiErrCode(400, 1092)},
		{"7000 no route", apiErrCode(400, 7000)},
		{"7003 bad identifier", apiErrCode(400, 7003)},
		{"6003 bad auth headers", &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 6003, Message: "Invalid request headers", ErrorChain: []cloudflare.ErrorItem{{Code: 6111}}}}}},
		{"a proxy's page", &cloudflare.APIError{Status: 400, Problem: "response is not a Cloudflare API envelope: 400 Bad Request"}},
		{"403", apiErrCode(403, 10000)},
		{"413", apiErrCode(413, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := &fakeSender{script: func(c call) (cloudflare.Result, error) { return cloudflare.Result{}, tt.err }}
				out := purge.Run(context.Background(), s, tagJobs(10, 10), opts(time.Now()))
				checkCounts(t, out.Results)
				r := out.Results[0]
				if len(s.Calls()) != 1 || r.Attempts != 1 || r.Purged != 0 || r.Rejected != nil || !errors.Is(r.Err, tt.err) {
					t.Errorf("%d requests; result %+v; want one request failing the batch with %v", len(s.Calls()), r, tt.err)
				}
			})
		})
	}
}

// A code is not kept from splitting for what the documentation says it
// means (a 1012 received may be the invalid-URL answer), but when both
// halves of a batch are refused alike, the error is about no one target:
// trying cost two requests, and the batch fails with Cloudflare's answer.
func TestRunStopsSplittingWhenBothHalvesFailAlike(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"1012 body keys", apiErrCode(400, 1012)},
		{"1014 not an array", apiErrCode(400, 1014)},
		{"1136 files on an IP-selected environment", apiErrCode(400, 1136)},
		{"a message naming no target", quietRefusal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := &fakeSender{script: func(c call) (cloudflare.Result, error) { return cloudflare.Result{}, tt.err }}
				out := purge.Run(context.Background(), s, tagJobs(30, 30), opts(time.Now()))
				checkCounts(t, out.Results)
				r := out.Results[0]
				if len(s.Calls()) != 3 || r.Attempts != 3 || r.Purged != 0 || r.Rejected != nil || !errors.Is(r.Err, tt.err) {
					t.Errorf("%d requests; result %+v; want three requests (the batch, its halves) failing it with %v", len(s.Calls()), r, tt.err)
				}
			})
		})
	}
}

// Halves refused with different answers are each split on.
func TestRunSplitsOnWhenHalvesFailDifferently(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		other := &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 2, Message: "Another target could not be purged."}}}
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			switch {
			case slices.Contains(c.items, "tag-3"):
				return cloudflare.Result{}, quietRefusal
			case slices.Contains(c.items, "tag-20"):
				return cloudflare.Result{}, other
			}
			return cloudflare.Result{ID: "ok"}, nil
		}}
		out := purge.Run(context.Background(), s, tagJobs(30, 30), opts(time.Now()))
		checkCounts(t, out.Results)
		r := out.Results[0]
		var rejected []string
		for _, rej := range r.Rejected {
			rejected = append(rejected, rej.Target.Value)
		}
		if r.Purged != 28 || !reflect.DeepEqual(rejected, []string{"tag-3", "tag-20"}) || r.Err != nil {
			t.Errorf("result = %d purged, rejected %v, err %v; want 28 purged, tag-3 and tag-20 rejected", r.Purged, rejected, r.Err)
		}
	})
}

// When every target is refused, splitting does not spend the token's API
// allowance: 1,200 URLs in 40 batches of 30, every one refused (alike, or
// each answer naming another URL), cost the 40 requests planned and a
// bounded few more, not the ~1,140 that halving every batch down to single
// URLs would (the whole API window: every other tool on the token would
// get 429 for five minutes). Every URL is reported not purged, with
// Cloudflare's answer.
func TestRunBrakesWhenEveryTargetIsRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		refuse func(c call) error
	}{
		{"alike", func(call) error { return quietRefusal }},
		{"each naming a URL", func(c call) error { return invalidURL(c.items[len(c.items)/2]) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
					time.Sleep(50 * time.Millisecond)
					return cloudflare.Result{}, tt.refuse(c)
				}}
				var lines debugLines
				o := opts(time.Now())
				o.Concurrency = 8
				o.Debugf = lines.debugf
				urls := prefixed("https://a.example/", 1200)
				out := purge.Run(context.Background(), s, []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, 30)}, o)
				checkCounts(t, out.Results)
				// The brake engages after 16 + 2 × 8 refusals; up to 8 more
				// were in flight, and up to 2 more a batch were halves or
				// rests already queued. Then one request a batch.
				if n := len(s.Calls()); n > 40+32+8+2*8 {
					t.Errorf("%d requests for 40 batches every target of which is refused, want at most %d", n, 40+32+8+2*8)
				}
				for _, r := range out.Results {
					if r.Purged != 0 || r.Err == nil && len(r.Rejected) == 0 {
						t.Fatalf("batch %d = %+v, want nothing purged, Cloudflare's answer as the reason", r.Batch.Index, r)
					}
					if r.Err != nil && !strings.HasPrefix(r.Err.Error(), "HTTP 400: 1 ") {
						t.Errorf("batch %d failed with %v, want Cloudflare's answer", r.Batch.Index, r.Err)
					}
				}
				if !strings.Contains(lines.String(), "splitting stopped: 32 requests in a row were refused") {
					t.Errorf("debug lines %q, want the brake's", lines.all())
				}
				t.Logf("1,200 URLs every one refused (%s): %d requests", tt.name, len(s.Calls()))
			})
		})
	}
}

// A batch of one target refused the same way is a rejection: the target
// stands alone already.
func TestRunRejectsALoneTarget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		out := purge.Run(context.Background(), refusing("tag-2"), tagJobs(5, 1), opts(time.Now()))
		checkCounts(t, out.Results)
		for i, r := range out.Results {
			if i == 2 && (r.Purged != 0 || len(r.Rejected) != 1 || r.Rejected[0].Target.Value != "tag-2" || r.Attempts != 1) {
				t.Errorf("batch 2 = %+v, want tag-2 rejected after one request", r)
			}
			if i != 2 && r.Purged != 1 {
				t.Errorf("batch %d = %+v, want purged", i, r)
			}
		}
	})
}

// Parts of one batch may fail for other reasons than a rejection: the
// counts still add up, and Err is the first failed part's.
func TestRunSplitPartsFailingOtherwise(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			switch {
			case slices.Contains(c.items, "tag-3"):
				return cloudflare.Result{}, quietRefusal
			case len(c.items) == 2 && c.items[0] == "tag-0":
				return cloudflare.Result{}, apiErr(500, -1) // this half never goes through
			}
			return cloudflare.Result{ID: "ok"}, nil
		}}
		o := opts(time.Now())
		o.MaxRetries = 1
		out := purge.Run(context.Background(), s, tagJobs(4, 4), o)
		checkCounts(t, out.Results)
		r := out.Results[0]
		// [0 1 2 3] refused; [0 1] fails twice (500); [2 3] refused; [2] purged; [3] rejected.
		if r.Purged != 1 || len(r.Rejected) != 1 || r.Rejected[0].Target.Value != "tag-3" ||
			r.Err == nil || !strings.Contains(r.Err.Error(), "gave up after 2 attempts: HTTP 500") || r.Attempts != 6 {
			t.Errorf("result = %+v; want 1 purged, tag-3 rejected, 2 failed (HTTP 500), 6 attempts", r)
		}
	})
}

// Halves go through the pacer like any request: the free plan's tag
// bucket (25 at once, then one every 12 s) spaces them.
func TestRunSplitsArePaced(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := refusingQuietly("x-3")
		o := opts(t0)
		o.Limits = cloudflare.PlanFree.Limits()
		o.Deadline = t0.Add(time.Hour)
		jobs := []purge.Job{
			purge.NewJob(zone, cloudflare.Purge, cloudflare.Tags, prefixed("x-", 4), 4),
			purge.NewJob(zone, cloudflare.Purge, cloudflare.Tags, tags(24), 1),
		}
		out := purge.Run(context.Background(), s, jobs, o)
		checkCounts(t, out.Results)
		calls := s.Calls()
		// 24 + the batch of 4 + its halves (2) + the refused half's (2).
		if len(calls) != 29 {
			t.Fatalf("%d requests, want 29", len(calls))
		}
		for i := 25; i < len(calls); i++ {
			if gap := calls[i].at.Sub(calls[i-1].at); gap < 12*time.Second {
				t.Errorf("requests %d and %d %v apart, want ≥ 12s: splits count against the bucket", i, i+1, gap)
			}
		}
	})
}

// tooMany refuses files requests of more than limit URLs.
func tooMany(limit int) *fakeSender {
	return &fakeSender{script: func(c call) (cloudflare.Result, error) {
		if len(c.items) > limit {
			return cloudflare.Result{}, &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 1, Message: cloudflaretest.TooManyFilesMessage}}}
		}
		return cloudflare.Result{ID: id(c.n)}, nil
	}}
}

// Batch size 100 against an account that takes 30: every URL is purged,
// the refused batch is cut into pieces of 30 (not halved), the size is
// learned once, and every later batch is cut to it before it is sent.
func TestRunLearnsTheBatchSize(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := tooMany(30)
		var lines debugLines
		o := opts(time.Now())
		o.Debugf = lines.debugf
		urls := prefixed("https://a.example/", 300)
		out := purge.Run(context.Background(), s, []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, 100)}, o)
		checkCounts(t, out.Results)
		if out.LearnedBatchSize != 30 {
			t.Errorf("learned batch size %d, want 30", out.LearnedBatchSize)
		}
		refused := 0
		for _, c := range s.Calls() {
			if len(c.items) > 30 {
				refused++
			}
		}
		if refused != 1 {
			t.Errorf("%d requests refused, want 1: the size is found once", refused)
		}
		wantAttempts := []int{5, 4, 4} // 100, then 30, 30, 30, 10; then the same cuts
		for i, r := range out.Results {
			if r.Purged != 100 || r.Err != nil || r.Attempts != wantAttempts[i] || len(r.IDs) != 4 || r.Batch.Index != i {
				t.Errorf("batch %d = %d purged, %d attempts, %d IDs, index %d, err %v; want 100, %d, 4, %d, nil",
					i, r.Purged, r.Attempts, len(r.IDs), r.Batch.Index, r.Err, wantAttempts[i], i)
			}
		}
		if want := "sending at most 30 a request from now on"; !strings.Contains(lines.String(), want) {
			t.Errorf("debug lines %q, want %q", lines.all(), want)
		}
	})
}

// With 8 workers, only the first batch goes while its size is in doubt
// (the size trial), so one request is refused, not one a worker; once the
// size is learned no request is refused again: the 400s do not grow with
// the number of batches, nor with the concurrency.
func TestRunLearnsTheBatchSizeOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		var refusedAt []time.Duration
		s := tooMany(30)
		inner := s.script
		s.script = func(c call) (cloudflare.Result, error) {
			time.Sleep(100 * time.Millisecond)
			res, err := inner(c)
			if err != nil {
				mu.Lock()
				refusedAt = append(refusedAt, c.at.Sub(t0)) // when it was sent
				mu.Unlock()
			}
			return res, err
		}
		var learnedAt time.Duration
		o := opts(t0)
		o.Debugf = func(f string, a ...any) {
			if strings.HasPrefix(f, "batch size:") {
				mu.Lock()
				learnedAt = time.Since(t0)
				mu.Unlock()
			}
		}
		o.Concurrency = 8
		urls := prefixed("https://a.example/", 2000)
		out := purge.Run(context.Background(), s, []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, 100)}, o)
		checkCounts(t, out.Results)
		purged := 0
		for _, r := range out.Results {
			purged += r.Purged
		}
		if purged != 2000 || out.LearnedBatchSize != 30 {
			t.Errorf("%d purged, learned size %d; want 2000, 30", purged, out.LearnedBatchSize)
		}
		if len(refusedAt) != 1 || learnedAt == 0 || slices.Max(refusedAt) >= learnedAt {
			t.Errorf("%d requests refused, sent at %v; the size learned at %v; want 1, none sent after", len(refusedAt), refusedAt, learnedAt)
		}
		// 20 batches of 100, each cut to 30 + 30 + 30 + 10, and the one refused.
		if n := len(s.Calls()); n != 81 {
			t.Errorf("%d requests, want 81", n)
		}
		t.Logf("20 batches of 100 against a cap of 30, 8 at a time: %d requests refused, %d sent, %v", len(refusedAt), len(s.Calls()), time.Since(t0))
	})
}

// Through the real client against the fake API's scripted shapes: an
// invalid URL and a cap of 30 URLs a request, on the free plan's bucket.
func TestRunAgainstFakeAPIShapes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		urls := prefixed("https://a.example/", 1500)
		bad := urls[777].Value
		bucket := &cloudflaretest.Bucket{Size: 800, Rate: 800, PerItem: true}
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithLatency(100*time.Millisecond), cloudflaretest.WithBucket(bucket),
			cloudflaretest.WithScript(cloudflaretest.RefuseURL(bad, cloudflaretest.RefuseFilesOver(30, nil))))
		defer fake.Close()
		client := cloudflare.NewClient(fake.BaseURL(), cloudflare.Credentials{Token: "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"}, fake.Client(), "test")
		o := opts(t0)
		o.Concurrency = 8
		o.MaxRetries = 20
		o.Deadline = t0.Add(time.Hour)
		out := purge.Run(context.Background(), client, []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, 100)}, o)
		checkCounts(t, out.Results)
		purged, confirmed := 0, map[string]bool{}
		var rejected []purge.Rejection
		for _, r := range out.Results {
			purged += r.Purged
			rejected = append(rejected, r.Rejected...)
			if r.Err != nil {
				t.Errorf("batch %d: %v", r.Batch.Index, r.Err)
			}
		}
		refused := 0
		for _, req := range fake.Requests() {
			if req.Status == 400 {
				refused++
			}
			if req.Confirmed {
				for _, it := range bodyURLs(t, req.Body) {
					confirmed[it] = true
				}
			}
		}
		if purged != 1499 || len(confirmed) != 1499 || confirmed[bad] {
			t.Errorf("%d purged, %d confirmed by the fake (bad one: %v); want 1499", purged, len(confirmed), confirmed[bad])
		}
		if len(rejected) != 1 || rejected[0].Target.Value != bad || !strings.Contains(rejected[0].Err.Error(), cloudflaretest.InvalidURLMessage(bad)) {
			t.Errorf("rejected %v, want %s alone with Cloudflare's message", rejected, bad)
		}
		if out.LearnedBatchSize != 30 {
			t.Errorf("learned batch size %d, want 30", out.LearnedBatchSize)
		}
		t.Logf("1,500 URLs at 100 against a cap of 30, one invalid: %d requests, %d × 400, %d × 429, %v", len(fake.Requests()), refused, bucket.Limited(), time.Since(t0))
	})
}

// At the default size (100 URLs a request below Enterprise), through the
// real client and 8 workers, against an account that takes 30: one
// request refused, then 30 a request at most, 30 learned, and every URL
// confirmed exactly once.
func TestRunFallsBackToTheSafeSize(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithLatency(100*time.Millisecond),
			cloudflaretest.WithScript(cloudflaretest.RefuseFilesOver(30, nil)))
		defer fake.Close()
		client := cloudflare.NewClient(fake.BaseURL(), cloudflare.Credentials{Token: "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"}, fake.Client(), "test")
		o := opts(time.Now())
		o.Concurrency = 8
		urls := prefixed("https://a.example/", 1000)
		size := cloudflare.PlanUnknown.Limits().BatchSize(cloudflare.Files)
		out := purge.Run(context.Background(), client, []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, size)}, o)
		checkCounts(t, out.Results)
		if size != 100 || out.LearnedBatchSize != 30 {
			t.Errorf("default size %d, learned %d; want 100, then 30", size, out.LearnedBatchSize)
		}
		confirmed := map[string]int{}
		reqs := fake.Requests()
		for i, req := range reqs {
			n := len(bodyURLs(t, req.Body))
			switch {
			case i == 0 && (req.Status != 400 || n != 100):
				t.Errorf("request 1: %d URLs, HTTP %d; want the first batch of 100, refused", n, req.Status)
			case i > 0 && (req.Status != 200 || n > 30):
				t.Errorf("request %d: %d URLs, HTTP %d; want at most 30, purged", i+1, n, req.Status)
			}
			if req.Confirmed {
				for _, u := range bodyURLs(t, req.Body) {
					confirmed[u]++
				}
			}
		}
		for _, u := range urls {
			if confirmed[u.Value] != 1 {
				t.Errorf("%s confirmed %d times, want once", u.Value, confirmed[u.Value])
			}
		}
		// 10 batches of 100, each sent as 30 + 30 + 30 + 10, and the refused one.
		if len(reqs) != 41 {
			t.Errorf("%d requests, want 41", len(reqs))
		}
	})
}

// When every piece of a batch cut to the safe size is refused alike, the
// refusal is about no one target nor the size: the batch fails with
// Cloudflare's answer after a request a piece, none split further.
func TestRunStopsWhenEveryPieceIsRefusedAlike(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSender{script: func(call) (cloudflare.Result, error) { return cloudflare.Result{}, quietRefusal }}
		o := opts(time.Now())
		o.Concurrency = 4
		out := purge.Run(context.Background(), s, tagJobs(100, 100), o)
		checkCounts(t, out.Results)
		r := out.Results[0]
		if len(s.Calls()) != 5 || r.Attempts != 5 || r.Purged != 0 || r.Rejected != nil || !errors.Is(r.Err, quietRefusal) {
			t.Errorf("%d requests; result %+v; want five (the batch, its pieces of 30, 30, 30 and 10) failing it with %v", len(s.Calls()), r, quietRefusal)
		}
		if out.LearnedBatchSize != 0 {
			t.Errorf("learned batch size %d, want 0", out.LearnedBatchSize)
		}
	})
}

// A batch refused for one target whose message names none is cut to the
// safe size like one refused for its size; the piece holding the target
// is then halved until it stands alone, nothing is learned, and the next
// batch, sent alone while the size is in doubt, goes through whole: the
// batches after it go whole too.
func TestRunCutsThenIsolatesAQuietlyRefusedTarget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		urls := prefixed("https://a.example/", 300)
		bad := urls[47].Value // batch 0, piece 1
		s := refusingQuietly(bad)
		o := opts(time.Now())
		o.Concurrency = 8
		out := purge.Run(context.Background(), s, []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls, 100)}, o)
		checkCounts(t, out.Results)
		if out.LearnedBatchSize != 0 {
			t.Errorf("learned batch size %d from a bad target, want 0", out.LearnedBatchSize)
		}
		r := out.Results[0]
		if r.Purged != 99 || len(r.Rejected) != 1 || r.Rejected[0].Target.Value != bad || r.Err != nil {
			t.Errorf("batch 0 = %d purged, rejected %v, err %v; want 99 purged and %s rejected", r.Purged, r.Rejected, r.Err, bad)
		}
		// 100, its pieces of 30, 30, 30, 10, then the refused 30 halved
		// down to the bad target: within 2·log2(30) more.
		if extra := r.Attempts - 5; extra > maxExtra(30) {
			t.Errorf("%d requests for batch 0, want at most %d", r.Attempts, 5+maxExtra(30))
		}
		for _, r := range out.Results[1:] {
			if r.Purged != 100 || r.Attempts != 1 || r.Err != nil {
				t.Errorf("batch %d = %d purged in %d requests, err %v; want 100 in one", r.Batch.Index, r.Purged, r.Attempts, r.Err)
			}
		}
		purged := map[string]int{}
		for _, c := range s.Calls() {
			if !slices.Contains(c.items, bad) {
				for _, it := range c.items {
					purged[it]++
				}
			}
		}
		for _, u := range urls {
			if want := 1 - b2i(u.Value == bad); purged[u.Value] != want {
				t.Errorf("%s purged %d times, want %d", u.Value, purged[u.Value], want)
			}
		}
	})
}

func bodyURLs(t *testing.T, body []byte) []string {
	var b struct{ Files []string }
	if err := jsonUnmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return b.Files
}
