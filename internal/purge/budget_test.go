package purge_test

import (
	"context"
	"errors"
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

// The time budget counts the plan's bucket as well as the API window.
func TestCheckBudgetCountsThePlan(t *testing.T) {
	t.Parallel()
	files := func(n, size int) []purge.Job {
		return []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, prefixed("https://a.example/", n), size)}
	}
	free, pro, enterprise := cloudflare.PlanFree.Limits(), cloudflare.PlanPro.Limits(), cloudflare.PlanEnterprise.Limits()

	// Issue 11: 40 tag requests on the free plan are 25 at once, then 15
	// at 5 a minute × 0.95: 189.5 s.
	want := "1m is too short: 40 targets at 1 a request are 40 requests, which take at least 3m10s under " +
		"the free plan's purge limit of 5 requests a minute (bucket 25); want a timeout over 3m10s (e.g. 4m), " +
		"or a larger batch-size (up to 100), or fewer targets per run, or the plan input if the account's plan is a larger one"
	checkBudgetError(t, purge.CheckBudget(tagJobs(40, 1), free, time.Minute), want, purge.BudgetError{Targets: 40, BatchSize: 1, Requests: 40,
		Least: 190 * time.Second, Timeout: time.Minute, Bucket: free.Requests, Plan: "free", Type: cloudflare.Tags, Units: 40}, true)

	checkBudgets(t, []budgetCase{
		{"free: 40 tags in 3m11s", tagJobs(40, 1), free, 3*time.Minute + 11*time.Second, ""},
		{"free: 40 tags in 3m10s", tagJobs(40, 1), free, 3*time.Minute + 10*time.Second, "take at least 3m10s under the free plan's"},
		{"free: 25 tags go at once", tagJobs(25, 1), free, time.Second, ""},
		{"free: 40 tags at 2 a request", tagJobs(40, 2), free, time.Second, ""},
		{"unknown plan: 40 tags", tagJobs(40, 1), cloudflare.Limits{}, time.Second, ""},
		{"free: 6,000 URLs", files(6000, 30), free, 5 * time.Second,
			"5s is too short: 6000 targets at 30 a request are 200 requests, which take at least 7s under the free plan's purge limit of 800 URLs a second (bucket 800); " +
				"want a timeout over 7s (e.g. 1m), or fewer URLs per run (batch-size does not change a limit counted in URLs)"},
		{"pro: 30,000 URLs", files(30_000, 100), pro, 10 * time.Second,
			"under the pro/business plan's purge limit of 1,500 URLs a second (bucket 1,500); want a timeout over 20s (e.g. 1m)"},
		{"free: 1,141 tag requests, the plan binds", tagJobs(1141, 1), free, time.Hour,
			"1h is too short: 1141 targets at 1 a request are 1141 requests, which take at least 3h54m57s under the free plan's purge limit"},
		{"enterprise: 1,141 tag requests, the API window binds", tagJobs(1141, 1), enterprise, 5 * time.Minute,
			"take at least 5m under Cloudflare's API limit of 1200 requests per 5 minutes; want a timeout over 5m (e.g. 10m), or a larger batch-size"},
	})
}

// budgetCase is one CheckBudget call and what it must say ("" passes).
type budgetCase struct {
	name    string
	jobs    []purge.Job
	limits  cloudflare.Limits
	timeout time.Duration
	want    string
}

// checkBudgetError checks a refusal word for word and number for number,
// and whether the plan's bucket (rather than the API window) binds.
func checkBudgetError(t *testing.T, err error, want string, fields purge.BudgetError, planBinds bool) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Errorf("CheckBudget = %v\nwant %q", err, want)
	}
	if got, ok := errors.AsType[*purge.BudgetError](err); !ok || *got != fields || got.PlanBinds() != planBinds {
		t.Errorf("CheckBudget = %#v\nwant %#v, plan binds: %v", err, fields, planBinds)
	}
}

func checkBudgets(t *testing.T, cases []budgetCase) {
	t.Helper()
	for _, tt := range cases {
		err := purge.CheckBudget(tt.jobs, tt.limits, tt.timeout)
		if tt.want == "" && err != nil {
			t.Errorf("%s: CheckBudget = %v, want nil", tt.name, err)
		}
		if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: CheckBudget = %v\nwant %q", tt.name, err, tt.want)
		}
	}
}

// The time budget counts Cloudflare's API window, whatever the plan.
func TestCheckBudgetCountsTheAPIWindow(t *testing.T) {
	t.Parallel()
	urls := func(n int) []cloudflare.Target { return prefixed("https://a.example/", n) }
	files := func(n, size int) purge.Job {
		return purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, urls(n), size)
	}

	// Refused: 34,500 URLs at 30 a request are 1,150 requests, past one
	// window's 1,140, so at least 5 minutes, and 5m is not more than that.
	want := "5m is too short: 34500 targets at 30 a request are 1150 requests, which take at least 5m under " +
		"Cloudflare's API limit of 1200 requests per 5 minutes; want a timeout over 5m (e.g. 10m), or a larger batch-size"
	checkBudgetError(t, purge.CheckBudget([]purge.Job{files(34_500, 30)}, cloudflare.Limits{}, 5*time.Minute), want, purge.BudgetError{
		Targets: 34_500, BatchSize: 30, Requests: 1150, Least: 5 * time.Minute, Timeout: 5 * time.Minute, Type: cloudflare.Files, Units: 34_500}, false)

	checkBudgets(t, []budgetCase{
		{"no jobs", nil, cloudflare.Limits{}, time.Second, ""},
		{"everything", []purge.Job{purge.NewJob(zone, cloudflare.Purge, cloudflare.Everything, nil, 30)}, cloudflare.Limits{}, time.Second, ""},
		{"1,140 requests fit one window", []purge.Job{files(windowLimit, 1)}, cloudflare.Limits{}, time.Second, ""},
		{"1,141 requests with 5m1s", []purge.Job{files(windowLimit+1, 1)}, cloudflare.Limits{}, 5*time.Minute + time.Second, ""},
		{"1,141 requests with 5m", []purge.Job{files(windowLimit+1, 1)}, cloudflare.Limits{}, 5 * time.Minute,
			"1141 targets at 1 a request are 1141 requests, which take at least 5m"},
		{"jobs add up", []purge.Job{files(600, 1), tagJobs(541, 1)[0]}, cloudflare.Limits{}, 5 * time.Minute,
			"1141 targets at 1 a request are 1141 requests, which take at least 5m"},
		{"2,281 requests with 10m", []purge.Job{files(2*windowLimit+1, 1)}, cloudflare.Limits{}, 10 * time.Minute,
			"10m is too short: 2281 targets at 1 a request are 2281 requests, which take at least 10m under Cloudflare's API limit of 1200 requests per 5 minutes; want a timeout over 10m (e.g. 15m)"},
	})
}

// The budget is what the pacer does: on the free plan, the last request
// goes within the second before the least duration, for one account (40
// tag requests) and across two (40 and 30, each with its own bucket).
func TestCheckBudgetMatchesThePacer(t *testing.T) {
	t.Parallel()
	for name, jobs := range map[string][]purge.Job{
		"one account":  tagJobs(40, 1),
		"two accounts": {accountJob("a", "acc-a", "a-", 40), accountJob("b", "acc-b", "b-", 30)},
	} {
		synctest.Test(t, func(t *testing.T) {
			t0 := time.Now()
			s := &fakeSender{}
			o := opts(t0)
			o.Concurrency = 8
			o.Limits = cloudflare.PlanFree.Limits()
			o.Deadline = t0.Add(time.Hour)
			purge.Run(context.Background(), s, jobs, o)
			budgetErr, _ := errors.AsType[*purge.BudgetError](purge.CheckBudget(jobs, o.Limits, time.Minute))
			calls := s.Calls()
			last := calls[len(calls)-1].at.Sub(t0)
			if budgetErr == nil || last > budgetErr.Least || last <= budgetErr.Least-time.Second {
				t.Errorf("%s: last request at +%v; the budget says at least %v", name, last, budgetErr)
			}
		})
	}
}
