package pace

import (
	"math"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// The constants of the model (see the package doc).
const (
	// cutFactor is what a 429 episode leaves of the rate.
	cutFactor = 0.5
	// increaseShare is how much of the ceiling the rate regains a second
	// while answers are accepted, at first: the same step for every
	// client of the bucket whatever its rate, so that the one cut deepest
	// (the one more 429s reached) catches up with the others, as TCP's
	// additive increase does; from a cut at the ceiling, back in at most
	// (1 − cutFactor) / increaseShare = 4 seconds.
	increaseShare = 0.125
	// The slope doubles every accelerateAfter since the rate began to grow
	// again: the other clients of the bucket may have finished (convex,
	// as TCP CUBIC's growth away from its last loss), so a job left alone
	// at the end is soon at the ceiling again.
	accelerateAfter = 2 * time.Second
	// burstSpread is the least time a full bucket is spent in: the
	// pacer's own requests never go faster than rate + size / burstSpread.
	// Spent at once, two jobs' bursts (each believing the bucket its own)
	// meet the server's in a wave of 429s as large as the requests in
	// flight; spread, in a few. A long run loses nothing by it: the burst
	// is spent all the same, within its first seconds.
	burstSpread = 2 * time.Second
	// floorShare is the least share of the ceiling cuts go down to.
	floorShare = 0.05
)

// Account paces the requests of one account and plan. Its methods take
// the Limiter's lock; its fields are guarded by it.
type Account struct {
	l       *Limiter
	typ     cloudflare.PurgeType
	debugf  func(format string, args ...any)
	maxCost float64

	levels    []cloudflare.Rate // the plans' distinct buckets for typ, smallest first
	lvl       int               // the level whose bucket is believed
	known     bool              // the plan is known: given or looked up
	probing   bool              // climbing the levels: a probe may go past the bucket
	probesOut int
	probed    bool // a probe was accepted since the last episode
	quiet     int  // 429 episodes no probe caused
	shared    bool // the latest episode was not a probe's: others draw from the bucket

	ceiling float64   // Margin of levels[lvl]'s rate
	rate    float64   // at most ceiling
	grown   time.Time // when rate last changed
	regain  time.Time // when the rate began to grow again after the last cut

	bucket tokens  // the account's bucket as believed: the level's size, refilled at rate
	peak   *tokens // the most a second (peakGate); nil: no such gate
	policy *tokens // Ratelimit-Policy's bucket, in requests; nil until seen
	pq     int
	pw     time.Duration

	episodeAt   time.Time // when the latest 429 episode began
	pausedUntil time.Time
	inflight    float64 // units let go and not answered yet

	// What the account accepted since base.from, against what a level's
	// bucket could have let through since base.at: from the run's start
	// (every bucket full) or the last episode (empty but init).
	base struct {
		at, from time.Time
		full     bool
		init     float64
		counted  float64
	}
}

// Account paces an account's requests of typ (each costing at most
// maxCost units) by the plan's documented bucket, or, when plan is zero
// (unknown), by the smallest plan's, climbing (see the package doc).
func (l *Limiter) Account(plan cloudflare.Rate, typ cloudflare.PurgeType, maxCost int, debugf func(string, ...any)) *Account {
	now := time.Now()
	a := &Account{l: l, typ: typ, debugf: debugf, maxCost: float64(max(maxCost, 1)), grown: now}
	for _, p := range cloudflare.Plans {
		b := p.Limits().Bucket(typ)
		if n := len(a.levels); n == 0 || a.levels[n-1] != b {
			a.levels = append(a.levels, b)
		}
	}
	if plan.PerSecond > 0 {
		a.levels, a.known = []cloudflare.Rate{plan}, true
	} else {
		a.probing = len(a.levels) > 1
	}
	a.base.at, a.base.from, a.base.full = now, now, true
	a.setLevel(now)
	return a
}

// resize makes the believed bucket refill at rate, and hold the level's
// burst in the same share as rate is of the ceiling: a share of the rate
// is a share of the bucket (another client refills from it too).
func (a *Account) resize(now time.Time) {
	burst := float64(a.levels[a.lvl].Burst)
	a.bucket.set(now, max(burst*a.rate/a.ceiling, a.maxCost), a.rate)
	old := a.peak
	a.peak = a.peakGate(now)
	if old != nil && a.peak != nil {
		// The gate keeps what it held: a new, full one at every change of
		// the rate (every accepted answer while it grows) would let a
		// tenth of a second's worth more through each time.
		a.peak.limit(now, old.at(now))
	}
}

// peakGate holds the pacer's requests to rate + size / burstSpread, for a
// bucket that refills within burstSpread (every plan's URL bucket refills
// in about a second): there, bursts of several clients meet in a wave of
// 429s as wide as the requests in flight. A bucket of requests holds
// seconds to minutes of its rate: no gate. The gate lets a tenth of a
// second's worth through at once.
func (a *Account) peakGate(now time.Time) *tokens {
	if a.bucket.size > a.rate*burstSpread.Seconds() {
		return nil
	}
	peak := a.rate + a.bucket.size/burstSpread.Seconds()
	switch {
	case a.probing && a.lvl > 0:
		// Climbing past the smallest plan: the account has shown it has
		// more than the smallest plan's bucket, so the burst goes at the
		// next plan's pace, which rules a level out soonest.
		next := a.levels[a.lvl+1]
		peak = next.PerSecond + float64(next.Burst)/burstSpread.Seconds()
	case a.probing:
		peak += a.bucket.size / burstSpread.Seconds()
	}
	t := newTokens(max(a.maxCost, peak/10), peak, now)
	return &t
}

// decide says whether a request of cost units may go at now, and if not,
// until when it waits. Callers hold the lock.
func (a *Account) decide(now time.Time, cost float64) decision {
	l := a.l
	d := decision{until: now, reason: "the rate limit"}
	if a.policy != nil {
		d.until = later(d.until, a.policy.readyAt(now, 1))
	}
	if a.peak != nil {
		d.until = later(d.until, a.peak.readyAt(now, cost))
	}
	if a.pausedUntil.After(d.until) {
		d.until, d.reason = a.pausedUntil, "the API's pause (Retry-After or an empty Ratelimit)"
	}
	if free := l.window.free(now); free.After(d.until) {
		d.until, d.reason = free, cloudflare.APILimitText
	}
	if at := a.bucket.readyAt(now, cost); at.After(d.until) {
		// Only the bucket holds it back: while climbing, it may go past
		// it as the probe of the next plan.
		if a.probing && !now.Before(d.until) && a.probesOut < a.maxProbes() {
			d.probe = true
		} else {
			d.until, d.reason = at, "the rate limit"
			d.soft = a.probing
		}
	}
	d.ok = l.inflight < l.limit && !now.Before(d.until)
	return d
}

// commit lets a request of cost units go at now. Callers hold the lock.
func (a *Account) commit(now time.Time, cost float64, probe bool) *Ticket {
	if probe {
		a.probesOut++
	} else {
		a.bucket.take(now, cost)
	}
	if a.peak != nil {
		a.peak.take(now, cost)
	}
	if a.policy != nil {
		a.policy.take(now, 1)
	}
	a.l.window.record(now)
	a.l.inflight++
	a.inflight += cost
	return &Ticket{cost: cost, sent: now, probe: probe}
}

// Resize makes t a request of cost units, fewer than it was let go for
// (the units it took stay taken: a little slower, never faster).
func (a *Account) Resize(t *Ticket, cost int) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	a.inflight += float64(cost) - t.cost
	t.cost = float64(cost)
}

// Pause holds back every request to the account for d from now (a 429's
// Retry-After), and trusts it: the refused request of cost units may go
// again then, however slow the believed bucket refills; the others follow
// at the rate. A later end never moves the gate earlier.
func (a *Account) Pause(d time.Duration, cost int) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	now := time.Now()
	a.pausedUntil = later(a.pausedUntil, now.Add(d))
	a.grown = later(a.grown, a.pausedUntil) // waiting is no evidence the rate may grow
	a.regain = later(a.regain, a.pausedUntil)
	if a.shared {
		// Nothing refills while paused: the server's bucket refills, but
		// for every client of the account, which waited on it too. The
		// refused request may go at the end, the others follow at the
		// rate (not all at once, when the bucket is shared).
		a.bucket.have, a.bucket.last = min(a.bucket.at(now), 0)+float64(cost), a.pausedUntil
	}
}

// Answered learns from the answer to a request the pacer let go.
func (a *Account) Answered(t *Ticket, ans Answer) {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.inflight--
	a.inflight -= t.cost
	a.observe(now, ans.RateLimit)
	switch {
	case ans.Accepted:
		a.accepted(now, t)
	case ans.Limited:
		a.limited(now, t)
	}
	if t.probe {
		a.probesOut--
	}
	l.wake()
}

// accepted learns from an accepted request: the rate grows back toward
// the ceiling, and while climbing, a level the account has accepted more
// than is ruled out.
func (a *Account) accepted(now time.Time, t *Ticket) {
	if !t.sent.Before(a.base.from) {
		a.base.counted += t.cost
	}
	if t.probe {
		a.probed = true
	}
	from := a.lvl
	for a.probing && a.lvl < len(a.levels)-1 && a.ruledOut(a.lvl, now) {
		a.lvl++
	}
	if a.lvl != from {
		a.setLevel(now)
		a.debugf("rate limit: the account accepted more than the %s plan's purge limit of %s; pacing as for the %s plan (%s)",
			PlanNames(a.levels[from], a.typ), DescribeRate(a.levels[from], a.typ), PlanNames(a.levels[a.lvl], a.typ), DescribeRate(a.levels[a.lvl], a.typ))
		return
	}
	a.grow(now)
}

// grow raises the rate toward the ceiling by increaseShare of the ceiling
// a second, the slope doubling every
// accelerateAfter since growth began (at most one second's worth at once:
// an idle stretch is no evidence), until the next 429 or the ceiling.
func (a *Account) grow(now time.Time) {
	if a.rate < a.ceiling {
		dt := min(max(now.Sub(a.grown).Seconds(), 0), 1)
		since := max(now.Sub(a.regain), 0)
		slope := increaseShare * a.ceiling * math.Exp2(float64(since)/float64(accelerateAfter))
		a.rate = min(a.ceiling, a.rate+dt*slope)
		a.resize(now)
	}
	a.grown = later(a.grown, now)
}

// limited learns from a 429: the server's bucket was empty.
func (a *Account) limited(now time.Time, t *Ticket) {
	// A request sent before the episode began (or at that instant, before
	// the pacer learned of it) was on its way when the pacer learned the
	// bucket was empty: it teaches nothing new.
	if !t.sent.After(a.episodeAt) {
		return
	}
	a.episodeAt = now
	probeCaused := a.probing && (t.probe || a.probesOut > 0 || a.probed)
	if probeCaused {
		// Going past the level's bucket was refused: the level is the
		// account's.
		a.probing = false
		a.debugf("rate limit: a request past the %s plan's purge limit of %s was refused; pacing as for that plan",
			PlanNames(a.levels[a.lvl], a.typ), DescribeRate(a.levels[a.lvl], a.typ))
	} else {
		a.quiet++
	}
	// A 429 no probe took part in says the bucket holds less than the
	// level allows: someone else draws from it too (or spent it before the
	// run): give way. While climbing, the climb goes on after the first
	// such episode (the bucket may only have started spent) and ends at
	// the second. A probe's 429 after such an episode cuts too.
	a.shared = a.quiet > 0
	if !probeCaused || a.quiet > 0 {
		if a.quiet >= 2 {
			a.probing = false
		}
		a.rate = max(a.rate*cutFactor, a.ceiling*floorShare)
		a.debugf("rate limit: refused with the bucket believed not empty (shared with other clients?); pacing at %s %s a second", formatCount(a.rate), unitName(a.typ))
	}
	a.grown, a.regain = now, now
	a.resize(now)
	a.bucket.limit(now, 0)
	// The server's bucket held less than t's cost when it refused t; what
	// it accepts from requests sent from now on counts against that.
	a.base.at, a.base.from, a.base.full, a.base.init, a.base.counted = t.sent, now, false, t.cost, 0
	a.probed = false
}
