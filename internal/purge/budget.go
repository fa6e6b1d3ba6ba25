package purge

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// BudgetError says a run cannot finish within its timeout, whatever the
// server answers: the pacing alone takes longer. The caller reports it as
// a bad timeout input.
type BudgetError struct {
	Targets   int // targets of every job
	BatchSize int // the most targets a batch holds
	Requests  int // batches of every job
	// Least is the shortest time the pacer can send every request in:
	// the larger of what the API window and the plan's bucket impose.
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
	return name + " purge limit of " + describeRate(e.Bucket, e.Type)
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
	msg := fmt.Sprintf("%s is too short: %d targets at %d a request are %d requests, which take at least %s under %s; want a timeout over %s (e.g. %s)",
		minutes(e.Timeout), e.Targets, e.BatchSize, e.Requests, minutes(e.Least),
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
//   - the API window: past about a thousand requests, Cloudflare's global
//     API limit makes every further lot wait five minutes;
//   - the plan's bucket, when limits has rates for the jobs' purge type:
//     the pacer lets its burst go at once, then refills it at
//     plannedMargin of the documented rate (units are URLs for files,
//     requests otherwise).
//
// With the plan unknown only the API window counts: the pacer learns the
// account's bucket as it goes, and the smallest plan's would refuse runs
// that a larger plan finishes in time.
func CheckBudget(jobs []Job, limits cloudflare.Limits, timeout time.Duration) error {
	requests, targets, units, size, maxCost := 0, 0, 0, 0, 1
	var typ cloudflare.PurgeType
	if len(jobs) > 0 {
		typ = jobs[0].Type
	}
	for _, j := range jobs {
		requests += len(j.Batches)
		targets += j.Count()
		for _, b := range j.Batches {
			cost := cloudflare.Cost(b.Type, b.Count())
			units += cost
			maxCost = max(maxCost, cost)
			size = max(size, b.Count())
		}
	}
	e := &BudgetError{Targets: targets, BatchSize: size, Requests: requests, Timeout: timeout, Type: typ, Units: units,
		Least: LeastDuration(requests)}
	bucket := limits.Bucket(typ)
	if planned := PlanDuration(units, bucket, maxCost); planned > e.Least {
		e.Least, e.Bucket, e.Plan = planned, bucket, planName(bucket, typ)
	}
	if e.Least == 0 || e.Least < timeout {
		return nil
	}
	return e
}

// LeastDuration is the shortest time the pacer can send requests requests
// in, whatever the plan: each windowLimit requests past the first lot wait
// a whole APIRequestWindow.
func LeastDuration(requests int) time.Duration {
	if requests <= 0 {
		return 0
	}
	return time.Duration((requests-1)/windowLimit) * cloudflare.APIRequestWindow
}

// PlanDuration is the shortest time the pacer can send units units in
// under bucket (requests costing at most maxCost units each): its burst at
// once, the rest at plannedMargin of its rate, rounded up to the second.
// 0 when the bucket is unknown or the burst holds them all.
func PlanDuration(units int, bucket cloudflare.Rate, maxCost int) time.Duration {
	burst := max(bucket.Burst, maxCost)
	if bucket.PerSecond <= 0 || units <= burst {
		return 0
	}
	secs := float64(units-burst) / (bucket.PerSecond * plannedMargin)
	return time.Duration(math.Ceil(secs)) * time.Second
}

// planName names the plans whose bucket for typ is b: "free",
// "pro/business"; "" when none is.
func planName(b cloudflare.Rate, typ cloudflare.PurgeType) string {
	var names []string
	for _, plan := range cloudflare.Plans {
		if plan.Limits().Bucket(typ) == b {
			names = append(names, string(plan))
		}
	}
	return strings.Join(names, "/")
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
