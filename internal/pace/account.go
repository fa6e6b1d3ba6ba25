package pace

import (
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
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
	phase     phase             // phase.go: climbing or settled, at the ceiling or a share
	probesOut int
	probed    bool // a climbing probe was accepted since the last episode
	// quiet counts the 429 episodes no probe caused: others draw from the
	// bucket, or spent it before the run (othersSeen).
	quiet int

	ceiling   float64 // Margin of levels[lvl]'s rate
	rate      float64 // the ceiling, or below it the account's measured share (phase.atShare); set by setRate
	lastProbe time.Time

	bucket tokens  // the account's bucket as believed: a share of the level's, refilled at rate
	gated  bool    // the level's bucket refills within burstSpread: spending it is paced (peak)
	peak   tokens  // the most a second (share.go: peakPace)
	policy *tokens // Ratelimit-Policy's bucket, in requests; nil until seen
	pq     int
	pw     time.Duration

	episodeAt   time.Time // when the latest 429 episode began
	pausedUntil time.Time
	inflight    float64 // units let go and not answered yet
	queued      float64 // units of the account's work no worker has taken yet (Queued)
	waiting     float64 // units of requests waiting in Wait

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
	a := &Account{l: l, typ: typ, debugf: debugf, maxCost: float64(max(maxCost, 1))}
	for _, p := range cloudflare.Plans {
		b := p.Limits().Bucket(typ)
		if n := len(a.levels); n == 0 || a.levels[n-1] != b {
			a.levels = append(a.levels, b)
		}
	}
	if plan.PerSecond > 0 {
		a.levels, a.known = []cloudflare.Rate{plan}, true
	} else if len(a.levels) > 1 {
		a.phase = climbing
	}
	a.base.at, a.base.from, a.base.full = now, now, true
	a.setLevel(now)
	return a
}

// Queued tells the pacer how many units of the account's work no worker
// has taken yet: with the requests waiting, the work left, over which
// the bucket is spent (share.go: peakPace).
func (a *Account) Queued(units int) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	a.queued = float64(units)
}

// decide says whether a request of cost units may go at now, and if not,
// until when it waits. Callers hold the lock.
func (a *Account) decide(now time.Time, cost float64) decision {
	l := a.l
	d := decision{until: now, reason: "the rate limit"}
	if a.policy != nil {
		d.until = later(d.until, a.policy.readyAt(now, 1))
	}
	if a.pausedUntil.After(d.until) {
		d.until, d.reason = a.pausedUntil, "the API's pause (Retry-After or an empty Ratelimit)"
	}
	if free := l.window.free(now); free.After(d.until) {
		d.until, d.reason = free, cloudflare.APILimitText
	}
	hard := d.until // what no probe passes: the server's pause, the windows
	if a.gated {
		if perSecond, open := a.peakPace(now); !open {
			a.peak.set(now, max(a.maxCost, perSecond/10), perSecond)
			d.until = later(d.until, a.peak.readyAt(now, cost))
		}
	}
	bucketAt := a.bucket.readyAt(now, cost)
	probeAt, mayProbe := a.nextProbe(hard, cost)
	pastShare := mayProbe && bucketAt.After(now) // beyond the believed share
	switch {
	case pastShare && !probeAt.After(now):
		// The probe for room the others left: past the believed share,
		// and its pace.
		d.probe, d.until = true, now
	case !bucketAt.After(d.until):
		// The believed bucket holds enough by then.
	case a.phase.climbs() && !now.Before(d.until) && a.probesOut < a.maxProbes():
		// Only the bucket holds it back: the probe of the next plan.
		d.probe = true
	default:
		d.until, d.reason = bucketAt, "the rate limit"
		d.soft = a.phase != alone
	}
	if pastShare && !d.probe && probeAt.Before(d.until) {
		d.until = probeAt // wake to decide on a probe then
	}
	d.ok = l.inflight < l.limit && !now.Before(d.until)
	return d
}

// commit lets a request of cost units go at now. Callers hold the lock.
func (a *Account) commit(now time.Time, cost float64, probe bool) *Ticket {
	if probe {
		a.probesOut++
		a.lastProbe = now
	} else {
		a.bucket.take(now, cost)
	}
	if a.gated {
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
// again then, however slow the believed bucket refills. A later end never
// moves the gate earlier.
func (a *Account) Pause(d time.Duration, cost int) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	now := time.Now()
	a.pausedUntil = later(a.pausedUntil, now.Add(d))
	if a.othersSeen() {
		// The server's bucket refills meanwhile for every client of the
		// account, which waited on it too: the believed bucket holds the
		// account's share of that at the end (share.go).
		a.bucket.have, a.bucket.last = min(a.bucket.at(now), 0)+max(float64(cost), a.pauseRefill(now)), a.pausedUntil
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

// accepted learns from an accepted request: a probe past the believed
// share says the others left room (share.go), and while climbing, a level
// the account has accepted more than is ruled out.
func (a *Account) accepted(now time.Time, t *Ticket) {
	if !t.sent.Before(a.base.from) {
		a.base.counted += t.cost
	}
	if t.probe && a.phase.atShare() {
		a.roomFound(now)
		return
	}
	if t.probe {
		a.probed = true
	}
	from := a.lvl
	for a.phase.climbs() && a.lvl < len(a.levels)-1 && a.ruledOut(a.lvl, now) {
		a.lvl++
	}
	if a.lvl != from {
		a.setLevel(now)
		a.debugf("rate limit: the account accepted more than the %s plan's purge limit of %s; pacing as for the %s plan (%s)",
			PlanNames(a.levels[from], a.typ), DescribeRate(a.levels[from], a.typ), PlanNames(a.levels[a.lvl], a.typ), DescribeRate(a.levels[a.lvl], a.typ))
	}
}

// othersSeen reports whether a 429 episode no probe caused has come: the
// server's bucket is not the account's alone (or was spent before the
// run).
func (a *Account) othersSeen() bool { return a.quiet > 0 }

// limited learns from a 429: the server's bucket was empty.
func (a *Account) limited(now time.Time, t *Ticket) {
	// A request sent before the episode began (or at that instant, before
	// the pacer learned of it) was on its way when the pacer learned the
	// bucket was empty: it teaches nothing new.
	if !t.sent.After(a.episodeAt) {
		return
	}
	a.episodeAt = now
	probeCaused := a.phase.climbs() && (t.probe || a.probesOut > 0 || a.probed)
	if probeCaused {
		// Going past the level's bucket was refused: the level is the
		// account's.
		a.endClimb()
		a.debugf("rate limit: a request past the %s plan's purge limit of %s was refused; pacing as for that plan",
			PlanNames(a.levels[a.lvl], a.typ), DescribeRate(a.levels[a.lvl], a.typ))
	} else {
		a.quiet++
	}
	// A 429 no probe took part in says the bucket holds less than the
	// level allows: someone else draws from it too (or spent it before the
	// run): take the share the account got. While climbing, the climb
	// goes on after the first such episode (the bucket may only have
	// started spent) and ends at the second. A probe's 429 after such an
	// episode measures the share too.
	if a.othersSeen() {
		if a.quiet >= 2 {
			a.endClimb()
		}
		a.takeShare(now)
		a.debugf("rate limit: refused with the bucket believed not empty (shared with other clients?); pacing at %s %s a second", formatCount(a.rate), unitName(a.typ))
	}
	a.resize(now)
	a.bucket.limit(now, 0)
	// The server's bucket held less than t's cost when it refused t; what
	// it accepts from requests sent from now on counts against that.
	a.base.at, a.base.from, a.base.full, a.base.init, a.base.counted = t.sent, now, false, t.cost, 0
	a.probed = false
}
