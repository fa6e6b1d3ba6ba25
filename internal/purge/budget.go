package purge

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/pace"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
)

// BudgetError says a run cannot finish within its timeout, whatever the
// server answers: the pacing alone takes longer. The caller reports it as
// a bad timeout input.
type BudgetError struct {
	Targets   int // targets of every job (of Account's, see Accounts)
	BatchSize int // the most targets a batch holds
	Requests  int // batches of every job (of Account's, see Accounts)
	// Least is the shortest time the pacer can send every request in:
	// the largest of what the API window and each account's bucket of
	// the plan impose.
	Least   time.Duration
	Timeout time.Duration
	// Bucket is the plan's bucket for the purge type, when it is what
	// binds (zero when the API window does), and Plan names the plans
	// with that bucket ("pro/business"; "" when none has it).
	Bucket cloudflare.Rate
	Plan   string
	Type   cloudflare.PurgeType
	// Units is what the jobs take of Bucket: URLs for files, else
	// requests.
	Units int
	// Accounts is how many accounts the jobs span (Job.Account), when the
	// plan binds and they span more than one; 0 otherwise. Account then
	// names the one whose bucket binds ("" for jobs of unknown account),
	// and Targets, BatchSize, Requests and Units are its jobs'.
	Accounts int
	Account  string
}

// PlanBinds reports whether the plan's bucket, not the API window, makes
// the run too long.
func (e *BudgetError) PlanBinds() bool { return e.Bucket.PerSecond > 0 }

// Limit names what makes the run take Least: "the free plan's purge
// limit of 5 requests a minute (bucket 25)", or Cloudflare's API limit.
func (e *BudgetError) Limit() string {
	if !e.PlanBinds() {
		return cloudflare.APILimitText
	}
	name := "the plan's"
	if e.Plan != "" {
		name = "the " + e.Plan + " plan's"
	}
	return name + " purge limit of " + pace.DescribeRate(e.Bucket, e.Type)
}

// Suggestion is a timeout that would do: the next whole minute past
// Least (past a whole API window when that binds).
func (e *BudgetError) Suggestion() time.Duration {
	if !e.PlanBinds() {
		return e.Least + cloudflare.APIRequestWindow
	}
	return e.Least.Truncate(time.Minute) + time.Minute
}

func (e *BudgetError) Error() string {
	in := ""
	if e.Accounts > 1 {
		in = "in " + accountName(e.Account) + ", "
	}
	msg := fmt.Sprintf("%s is too short: %s%d targets at %d a request are %d requests, which take at least %s under %s; want a timeout over %s (e.g. %s)",
		minutes(e.Timeout), in, e.Targets, e.BatchSize, e.Requests, minutes(e.Least),
		e.Limit(), minutes(e.Least), minutes(e.Suggestion()))
	switch {
	case !e.PlanBinds():
		return msg + ", or a larger batch-size"
	case e.Type == cloudflare.Files:
		// The bucket counts URLs: fewer requests would not go faster.
		return msg + ", or fewer URLs per run (batch-size does not change a limit counted in URLs), or the plan input if the account's plan is a larger one"
	default:
		return msg + fmt.Sprintf(", or a larger batch-size (up to %d), or fewer targets per run, or the plan input if the account's plan is a larger one", cloudflare.MaxItemsPerRequest)
	}
}

// CheckBudget refuses, before anything is sent, a timeout the jobs cannot
// finish in, counting everything the pacer will impose:
//
//   - the API window, per token: past about a thousand requests of every
//     account together, Cloudflare's global API limit makes every further
//     lot wait five minutes;
//   - the plan's bucket, per account and plan (Job.Account, Job.Plan),
//     when the job's plan or limits has rates for the jobs' purge type:
//     each bucket's pacer spends its burst within seconds, then refills
//     it at pace.Margin of the documented rate (units are URLs for files,
//     requests otherwise). The buckets empty side by side, so the slowest
//     is what counts. (Other clients of the account may slow it further:
//     nothing here can know them.)
//
// With the plan unknown only the API window counts: the pacer learns each
// account's bucket as it goes, and the smallest plan's would refuse runs
// that a larger plan finishes in time.
func CheckBudget(jobs []Job, limits cloudflare.Limits, timeout time.Duration) error {
	var typ cloudflare.PurgeType
	if len(jobs) > 0 {
		typ = jobs[0].Type
	}
	all := share{maxCost: 1}
	of, n := buckets(jobs)
	accounts := make([]share, n)
	for j, job := range jobs {
		a := &accounts[of[j]]
		if a.maxCost == 0 {
			*a = share{account: job.Account, bucket: bucket(job, limits, typ), maxCost: 1}
		}
		all.add(job)
		a.add(job)
	}
	e := all.budgetError(timeout, typ)
	e.Least = LeastDuration(all.requests)
	for _, a := range accounts {
		if planned := PlanDuration(a.units, a.bucket, a.maxCost); planned > e.Least {
			e = a.budgetError(timeout, typ)
			e.Least, e.Bucket, e.Plan = planned, a.bucket, pace.PlanNames(a.bucket, typ)
			if len(accounts) > 1 {
				e.Accounts, e.Account = len(accounts), a.account
			}
		}
	}
	if e.Least == 0 || e.Least < timeout {
		return nil
	}
	return e
}

// share counts the jobs of one bucket (account and plan), or of all.
type share struct {
	account                                 string
	bucket                                  cloudflare.Rate
	requests, targets, units, size, maxCost int
}

func (s *share) add(j Job) {
	s.requests += len(j.Batches)
	s.targets += j.Count()
	for _, b := range j.Batches {
		cost := cloudflare.Cost(b.Type, b.Count())
		s.units += cost
		s.maxCost = max(s.maxCost, cost)
		s.size = max(s.size, b.Count())
	}
}

func (s *share) budgetError(timeout time.Duration, typ cloudflare.PurgeType) *BudgetError {
	return &BudgetError{Targets: s.targets, BatchSize: s.size, Requests: s.requests, Timeout: timeout, Type: typ, Units: s.units}
}

// LeastDuration is the shortest time the pacer can send requests requests
// in, whatever the plan: each pace.WindowLimit requests past the first lot wait
// a whole APIRequestWindow.
func LeastDuration(requests int) time.Duration {
	if requests <= 0 {
		return 0
	}
	return time.Duration((requests-1)/pace.WindowLimit) * cloudflare.APIRequestWindow
}

// PlanDuration is the shortest time the pacer can send units units in
// under bucket (requests costing at most maxCost units each): its burst at
// once, the rest at pace.Margin of its rate, rounded up to the second.
// 0 when the bucket is unknown or the burst holds them all.
func PlanDuration(units int, bucket cloudflare.Rate, maxCost int) time.Duration {
	burst := max(bucket.Burst, maxCost)
	if bucket.PerSecond <= 0 || units <= burst {
		return 0
	}
	secs := float64(units-burst) / (bucket.PerSecond * pace.Margin)
	return time.Duration(math.Ceil(secs)) * time.Second
}

// minutes prints a duration without a trailing "0s" (10m, not 10m0s).
func minutes(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Budget is how a run's timeout is shared: the purge, and before it the
// wait for the new build (wait-for), after the checks' need is set aside.
type Budget struct {
	// Purge is the time the purge may take: the timeout less the checks'.
	Purge time.Duration
	// Wait is the time wait-for may take: what the purge (its pacing's
	// least time and WaitReserve) and the checks leave.
	Wait time.Duration
}

// WaitReserve is the time a wait-for leaves the purge beyond what its
// pacing needs: enough for its requests and a retry.
const WaitReserve = 10 * time.Second

// WaitLeast is the least time wait-for must have: a poll and its answer.
const WaitLeast = 10 * time.Second

// SplitTimeout shares timeout between the purge of jobs, the checks after
// it (checks: the time their requests need) and, when waitFor, a wait
// before it. A timeout that cannot hold them is bad input, named timeout,
// refused before anything is sent: too short for the checks, for the
// purge's pacing once the checks have theirs (CheckBudget), or leaving
// wait-for no time (it would fail "never matched" before its first
// poll). checkURLs and concurrency (how many URLs the checks request,
// how many at a time) are for the words.
func SplitTimeout(jobs []Job, limits cloudflare.Limits, timeout, checks time.Duration, checkURLs, concurrency int, waitFor bool) (Budget, error) {
	invalid := func(format string, args ...any) (Budget, error) {
		return Budget{}, problem.New(problem.Invalid, "timeout", format, args...)
	}
	if checks > 0 && checks >= timeout {
		return invalid("%s is too short for the checks: %d URL(s) to check, %d at a time, take about %s; want a timeout over %s, or fewer verify-urls, or a higher concurrency",
			timeout, checkURLs, concurrency, checks, checks+time.Minute)
	}
	b := Budget{Purge: timeout - checks, Wait: timeout - checks - WaitReserve}
	if err := CheckBudget(jobs, limits, b.Purge); err != nil {
		if checks > 0 {
			return invalid("leaving %s of it for the checks of %d URL(s), %v", checks, checkURLs, err)
		}
		return invalid("%v", err)
	}
	if e, ok := errors.AsType[*BudgetError](CheckBudget(jobs, limits, 0)); ok {
		b.Wait -= e.Least
	}
	if waitFor && b.Wait < WaitLeast {
		return invalid("%s leaves wait-for no time: the purge and the checks after it need about %s of it; want a timeout over %s, or no wait-for",
			timeout, timeout-b.Wait, timeout-b.Wait+WaitLeast+time.Minute)
	}
	return b, nil
}
