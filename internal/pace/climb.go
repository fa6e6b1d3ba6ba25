// Climbing the plans' buckets when the plan is unknown, a looked-up plan,
// and what the answers' headers say.

package pace

import (
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// setLevel paces by levels[level], from what its bucket would hold now.
func (a *Account) setLevel(now time.Time) {
	b := a.levels[a.level]
	a.ceiling = b.PerSecond * Margin
	a.setRate(a.ceiling)
	a.bucket = newTokens(max(float64(b.Burst), a.maxCost), a.rate, now)
	a.bucket.limit(now, a.holds(a.level, now)-a.inflight)
	if a.level == len(a.levels)-1 {
		a.endClimb()
	}
	// A bucket of requests holds seconds to minutes of its rate: spent as
	// it comes. One that refills within burstSpread (every URL bucket) is
	// spent at peakPace.
	a.gated = float64(b.Burst) <= a.ceiling*burstSpread.Seconds()
	a.peak = newTokens(max(a.maxCost, a.ceiling/10), a.ceiling, now)
}

// letThrough is what level i's bucket could have let through since
// tally.bucketFrom: full then (the run's start) or holding
// tally.heldThen (the latest episode), refilled since (not capped along
// the way: a little more than such a bucket lets through after an idle
// stretch).
func (a *Account) letThrough(i int, now time.Time) float64 {
	b := a.levels[i]
	held := a.tally.heldThen
	if a.tally.full {
		held = float64(b.Burst)
	}
	return held + b.PerSecond*now.Sub(a.tally.bucketFrom).Seconds()
}

// holds is about what level i's bucket would hold now, given what the
// account accepted since tally.bucketFrom.
func (a *Account) holds(i int, now time.Time) float64 {
	return min(float64(a.levels[i].Burst), a.letThrough(i, now)-a.tally.accepted)
}

// Known reports whether the account's plan is known (given or looked up).
func (a *Account) Known() bool {
	a.lock()
	defer a.unlock()
	return a.known
}

// maxProbes is how many probes may be in flight: one at the smallest
// plan's level, the most common plan, where a probe past an account of
// that plan costs one 429; two above it, which halves the time each
// further level takes to rule out.
func (a *Account) maxProbes() int {
	if a.level == 0 {
		return 1
	}
	return 2
}

// ruledOut reports whether the account has accepted more than level i's
// bucket could have let through since tally.bucketFrom.
func (a *Account) ruledOut(i int, now time.Time) bool {
	return a.tally.accepted > a.letThrough(i, now)+1e-6
}

// UsePlan paces as for plan from now on, when the pacer did not know it:
// the answer of a plan lookup.
func (a *Account) UsePlan(plan cloudflare.Plan) {
	a.lock()
	defer a.unlock()
	if a.known {
		return
	}
	b := plan.Limits().Bucket(a.typ)
	i := -1
	for j, lv := range a.levels {
		if lv == b {
			i = j
		}
	}
	switch {
	case b.PerSecond <= 0 || i < 0:
		a.note("plan lookup: plan %q has no documented purge limits; learning them from the answers", plan)
		return
	case i < a.level:
		// Documented limits are not always the account's: trust what the
		// server accepted over what the plan's name implies.
		a.note("plan lookup: plan %q, but the account accepted more than its bucket allows; learning the limits from the answers", plan)
		return
	}
	now := time.Now()
	rate := a.rate
	a.level, a.known = i, true
	a.endClimb()
	a.setLevel(now)
	if !a.episodeAt.IsZero() {
		a.setRate(rate) // a measured share stands
		a.resize(now)
	}
	a.note("plan lookup: plan %q; pacing at %s", plan, DescribeRate(b, a.typ))
	a.limiter.wake()
}

// observe learns from an answer's Ratelimit and Ratelimit-Policy headers.
func (a *Account) observe(now time.Time, rl cloudflare.RateLimit) {
	if rl.HasPolicy && rl.Window > 0 && (a.policy == nil || rl.Quota != a.policyQuota || rl.Window != a.policyWindow) {
		p := newTokens(float64(rl.Quota), float64(rl.Quota)/rl.Window.Seconds(), now)
		a.policy, a.policyQuota, a.policyWindow = &p, rl.Quota, rl.Window
	}
	if !rl.HasRemaining {
		return
	}
	if a.policy != nil {
		// Take out what the server has counted and this run has not
		// (other clients of the account, or requests before this run).
		a.policy.limit(now, float64(rl.Remaining))
		return
	}
	if rl.Remaining == 0 && rl.Reset > 0 {
		// No policy to pace by: the server says the bucket is empty, so
		// nobody sends until it resets.
		a.pausedUntil = later(a.pausedUntil, now.Add(rl.Reset))
	}
}
