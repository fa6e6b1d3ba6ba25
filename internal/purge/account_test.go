package purge_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// Purge limits are per account, the API window per token: jobs of
// different accounts (Job.Account) have pacers of their own, and share
// the window and the concurrency.

// unbound is an account whose purge bucket never binds (more than any
// plan's: an account on a contract, a test server), so that only the API
// window paces its requests.
var unbound = cloudflare.Limits{Requests: cloudflare.Rate{PerSecond: 1e6, Burst: 1e6}}

// accountJob is a job purging n tags (prefix-0, prefix-1...) one a
// request in zone, of account.
func accountJob(zoneID, account, prefix string, n int) purge.Job {
	j := purge.NewJob(cloudflare.ZoneScope(cloudflare.MustParseID(zoneID)), cloudflare.Purge, cloudflare.Tags, prefixed(prefix, n), 1)
	j.Account = account
	return j
}

// sentAt lists when the calls for zoneID went, in order.
func sentAt(calls []call, zoneID string) []time.Time {
	var out []time.Time
	for _, c := range calls {
		if c.req.Scope.Zone().String() == zoneID {
			out = append(out, c.at)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// Two accounts of the free plan each have their own tag bucket (25, then
// 5 a minute): 25 requests to each go at once. The same jobs in one
// account share one bucket: the 26th request waits a token.
func TestRunAccountsHaveTheirOwnBuckets(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name               string
		accountA, accountB string
		atOnce             int
	}{
		{"two accounts", "acc-a", "acc-b", 50},
		{"one account", "acc-a", "acc-a", 25},
		{"both unknown: one account", "", "", 25},
		{"one known, one unknown", "acc-a", "", 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				s := &fakeSender{}
				o := opts(t0)
				o.Concurrency = 8
				o.Limits = cloudflare.PlanFree.Limits()
				o.Deadline = t0.Add(time.Hour)
				jobs := []purge.Job{accountJob("a", tt.accountA, "a-", 25), accountJob("b", tt.accountB, "b-", 25)}
				for _, r := range purge.Run(context.Background(), s, jobs, o).Results {
					if r.Err != nil {
						t.Fatalf("job %d batch %d: %v", r.Job, r.Batch.Index, r.Err)
					}
				}
				calls := s.Calls()
				if len(calls) != 50 {
					t.Fatalf("%d requests, want 50", len(calls))
				}
				times := append(sentAt(calls, "a"), sentAt(calls, "b")...)
				slices.SortFunc(times, time.Time.Compare)
				if at := times[tt.atOnce-1]; !at.Equal(t0) {
					t.Errorf("request %d at +%v, want %d at once", tt.atOnce, at.Sub(t0), tt.atOnce)
				}
				if tt.atOnce < len(times) {
					if at := times[tt.atOnce]; at.Sub(t0) < 12*time.Second {
						t.Errorf("request %d at +%v, want ≥ 12s: one bucket for both jobs", tt.atOnce+1, at.Sub(t0))
					}
				}
			})
		})
	}
}

// A 429 with Retry-After pauses the requests of its account only; the
// other account's go on at once.
func TestRun429PausesOnlyItsAccount(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		limited := false
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			if c.items[0] == "a-0" && !limited {
				limited = true
				return cloudflare.Result{}, apiErr(429, 30*time.Second)
			}
			return cloudflare.Result{ID: c.items[0]}, nil
		}}
		o := opts(t0)
		// One request in flight at a time, so that account a's first
		// request is its only one before the 429 comes back (with two, a
		// second one may rightly go at +0s too, before the 429 is known).
		// A worker waiting on its account's pause holds no slot, so b's
		// five still go at +0s.
		o.Concurrency = 1
		o.Limits = cloudflare.PlanEnterprise.Limits()
		jobs := []purge.Job{accountJob("a", "acc-a", "a-", 5), accountJob("b", "acc-b", "b-", 5)}
		done := make(chan []purge.BatchResult)
		go func() { done <- purge.Run(context.Background(), s, jobs, o).Results }()

		// (Checks before Run returns use Errorf: a Fatalf would leave its
		// goroutines blocked, which synctest reports as a deadlock.)
		synctest.Wait()
		calls := s.Calls()
		if a, b := sentAt(calls, "a"), sentAt(calls, "b"); len(a) != 1 || len(b) != 5 || !time.Now().Equal(t0) {
			t.Errorf("at +%v, %d requests to account a and %d to b; want a's 429 alone and all 5 of b's at once", time.Since(t0), len(a), len(b))
		}
		results := <-done
		for _, r := range results {
			if r.Err != nil {
				t.Errorf("job %d batch %d: %v", r.Job, r.Batch.Index, r.Err)
			}
		}
		a := sentAt(s.Calls(), "a")
		if len(a) != 6 {
			t.Fatalf("%d requests to account a, want 6: 5 batches and one retry", len(a))
		}
		for i, at := range a[1:] {
			if at.Sub(t0) < 30*time.Second {
				t.Errorf("request %d to account a at +%v, before Retry-After passed", i+2, at.Sub(t0))
			}
		}
	})
}

// The API window is the token's: two accounts of 700 requests each, with
// buckets that let them all go at once, send 1,140 together, and the rest
// when the window has moved on.
func TestRunAPIWindowIsSharedByAccounts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := &fakeSender{}
		o := opts(t0)
		o.Concurrency = 8
		o.Limits = unbound
		o.Deadline = t0.Add(time.Hour)
		jobs := []purge.Job{accountJob("a", "acc-a", "a-", 700), accountJob("b", "acc-b", "b-", 700)}
		done := make(chan []purge.BatchResult)
		go func() { done <- purge.Run(context.Background(), s, jobs, o).Results }()

		synctest.Wait() // every worker waits for the window
		if n := len(s.Calls()); n != windowLimit || !time.Now().Equal(t0) {
			t.Errorf("%d requests at +%v before the window moved on, want %d at once", n, time.Since(t0), windowLimit)
		}
		time.Sleep(5*time.Minute - time.Nanosecond)
		synctest.Wait()
		if n := len(s.Calls()); n != windowLimit {
			t.Errorf("%d requests just before the window moved on, want %d", n, windowLimit)
		}
		for _, r := range <-done {
			if r.Err != nil {
				t.Fatalf("job %d batch %d: %v", r.Job, r.Batch.Index, r.Err)
			}
		}
		calls := s.Calls()
		if len(calls) != 1400 {
			t.Fatalf("%d requests, want 1400", len(calls))
		}
		for _, c := range calls[windowLimit:] {
			if !c.at.Equal(t0.Add(5 * time.Minute)) {
				t.Fatalf("request %d at +%v, want +5m: the window counts both accounts", c.n+1, c.at.Sub(t0))
			}
		}
	})
}

// The requests in flight are counted over every account: Concurrency is
// one limit for the run.
func TestRunConcurrencyCountsEveryAccount(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		inFlight, most := 0, 0
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			return cloudflare.Result{ID: c.items[0]}, nil
		}}
		o := opts(t0)
		o.Concurrency = 3
		o.Limits = cloudflare.PlanEnterprise.Limits()
		jobs := []purge.Job{accountJob("a", "acc-a", "a-", 10), accountJob("b", "acc-b", "b-", 10), accountJob("c", "acc-c", "c-", 10)}
		for _, r := range purge.Run(context.Background(), s, jobs, o).Results {
			if r.Err != nil {
				t.Fatalf("job %d batch %d: %v", r.Job, r.Batch.Index, r.Err)
			}
		}
		if most != 3 {
			t.Errorf("at most %d requests in flight, want 3", most)
		}
		// 30 requests, 3 at a time, 100 ms each.
		if d := time.Since(t0); d != time.Second {
			t.Errorf("took %v, want 1s", d)
		}
	})
}

// No lookup when the plan is given, or when the run fits in the smallest
// plan's bucket (800 URLs, 25 requests): it could change nothing.
func TestRunLookupPlanOnlyWhenItMatters(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		limits cloudflare.Limits
		typ    cloudflare.PurgeType
		n      int
		want   int
	}{
		{"plan given", cloudflare.PlanFree.Limits(), cloudflare.Files, 6000, 0},
		{"800 URLs", cloudflare.Limits{}, cloudflare.Files, 800, 0},
		{"801 URLs", cloudflare.Limits{}, cloudflare.Files, 801, 1},
		{"25 tag requests", cloudflare.Limits{}, cloudflare.Tags, 25, 0},
		{"26 tag requests", cloudflare.Limits{}, cloudflare.Tags, 26, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				asked := 0
				o := opts(time.Now())
				o.Limits = tt.limits
				o.LookupPlan = func(ctx context.Context, zoneID string) (cloudflare.Plan, error) {
					asked++
					return cloudflare.PlanEnterprise, nil
				}
				size := 1
				if tt.typ == cloudflare.Files {
					size = 30
				}
				purge.Run(context.Background(), &fakeSender{}, []purge.Job{purge.NewJob(zone, cloudflare.Purge, tt.typ, tags(tt.n), size)}, o)
				if asked != tt.want {
					t.Errorf("LookupPlan called %d times, want %d", asked, tt.want)
				}
			})
		})
	}
}

// LookupPlan is asked once per account whose share of the run is larger
// than the smallest plan's bucket, about the zone of its first job, and
// its answer paces that account only.
func TestRunLooksUpThePlanOfEachAccount(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		asked := map[string]int{}
		var lines debugLines
		o := opts(t0)
		o.Concurrency = 4
		o.Deadline = t0.Add(time.Hour)
		o.LookupPlan = func(ctx context.Context, zoneID string) (cloudflare.Plan, error) {
			mu.Lock()
			asked[zoneID]++
			mu.Unlock()
			if strings.HasPrefix(zoneID, "a") {
				time.Sleep(100 * time.Millisecond) // one round trip
				return cloudflare.PlanEnterprise, nil
			}
			return "", errors.New("HTTP 403: 10000 Authentication error")
		}
		o.Debugf = lines.debugf
		jobs := []purge.Job{
			accountJob("a1", "acc-a", "a1-", 20), accountJob("b1", "acc-b", "b1-", 30),
			accountJob("a2", "acc-a", "a2-", 20), // acc-a: 40 requests in two zones
			accountJob("u1", "", "u1-", 25),      // fits the smallest bucket: no lookup
		}
		// 115 requests of 10 ms, 4 at a time: the lookups are answered
		// before the run ends.
		s := &fakeSender{script: func(c call) (cloudflare.Result, error) {
			time.Sleep(10 * time.Millisecond)
			return cloudflare.Result{ID: c.items[0]}, nil
		}}
		for _, r := range purge.Run(context.Background(), s, jobs, o).Results {
			if r.Err != nil {
				t.Fatalf("job %d batch %d: %v", r.Job, r.Batch.Index, r.Err)
			}
		}
		if want := map[string]int{"a1": 1, "b1": 1}; !maps.Equal(asked, want) {
			t.Errorf("LookupPlan asked about %v, want %v", asked, want)
		}
		debug := lines.String()
		for _, want := range []string{
			`account acc-a: plan lookup: plan "enterprise"; pacing at`,
			"account acc-b: plan lookup failed, learning the purge limits from the answers instead: HTTP 403",
		} {
			if !strings.Contains(debug, want) {
				t.Errorf("debug lines %q, want %q", lines.all(), want)
			}
		}
		if strings.Contains(debug, "account acc-b: plan lookup: plan") {
			t.Errorf("debug lines %q: acc-a's plan paces acc-b", lines.all())
		}
	})
}

// The time budget counts each account's units against its own bucket,
// and every request against the API window.
func TestCheckBudgetPerAccount(t *testing.T) {
	t.Parallel()
	free := cloudflare.PlanFree.Limits()
	jobs := func(accounts map[string]int) []purge.Job {
		var out []purge.Job
		for _, name := range slices.Sorted(maps.Keys(accounts)) {
			out = append(out, accountJob("z"+strings.ReplaceAll(name, "-", ""), name, name+"-", accounts[name]))
		}
		return out
	}

	// 40 tags of acc-a bind: 25 at once, 15 at 5 a minute × 0.95.
	want := "1m is too short: in account acc-a, 40 targets at 1 a request are 40 requests, which take at least 3m10s under " +
		"the free plan's purge limit of 5 requests a minute (bucket 25); want a timeout over 3m10s (e.g. 4m), " +
		"or a larger batch-size (up to 100), or fewer targets per run, or the plan input if the account's plan is a larger one"
	checkBudgetError(t, purge.CheckBudget(jobs(map[string]int{"acc-a": 40, "acc-b": 30}), free, time.Minute), want, purge.BudgetError{
		Targets: 40, BatchSize: 1, Requests: 40, Least: 190 * time.Second, Timeout: time.Minute,
		Bucket: free.Requests, Plan: "free", Type: cloudflare.Tags, Units: 40, Accounts: 2, Account: "acc-a"}, true)

	checkBudgets(t, []budgetCase{
		{"free: 25 tags in each of two accounts go at once", jobs(map[string]int{"acc-a": 25, "acc-b": 25}), free, time.Second, ""},
		{"free: 50 tags in one account", jobs(map[string]int{"acc-a": 50}), free, time.Second,
			"1s is too short: 50 targets at 1 a request are 50 requests, which take at least 5m16s under the free plan's"},
		{"free: unknown and known accounts", jobs(map[string]int{"": 40, "acc-b": 5}), free, time.Minute,
			"1m is too short: in the zones of an unknown account, 40 targets at 1 a request are 40 requests, which take at least 3m10s"},
		{"free: the slowest account counts", jobs(map[string]int{"acc-a": 40, "acc-b": 40}), free, 3*time.Minute + 11*time.Second, ""},
		{"unknown plan: the window counts every account", jobs(map[string]int{"acc-a": 571, "acc-b": 570}), cloudflare.Limits{}, 5 * time.Minute,
			"5m is too short: 1141 targets at 1 a request are 1141 requests, which take at least 5m under Cloudflare's API limit"},
		{"unknown plan: 1,140 requests of two accounts fit one window", jobs(map[string]int{"acc-a": 570, "acc-b": 570}), cloudflare.Limits{}, time.Second, ""},
	})
}
