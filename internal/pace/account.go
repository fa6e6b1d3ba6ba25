package pace

import (
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// Account paces the requests of one account and plan. Its methods take
// the Limiter's lock; its fields are guarded by it.
type Account struct {
	limiter *Limiter
	typ     cloudflare.PurgeType
	debugf  func(format string, args ...any)
	maxCost float64

	levels []cloudflare.Rate // the plans' distinct buckets for typ, smallest first
	level  int               // the index in levels of the bucket believed
	known  bool              // the plan is known: given or looked up
	phase  phase             // phase.go: climbing or settled, at the ceiling or a share

	ceiling float64 // Margin of levels[level]'s rate
	rate    float64 // the ceiling, or below it the account's measured share (phase.atShare); set by setRate

	probesInFlight int       // probes let go and not answered yet
	lastProbe      time.Time // when the latest probe was let go
	// quietEpisodes counts the 429 episodes no probe caused: others draw
	// from the bucket, or spent it before the run (othersSeen).
	quietEpisodes int

	bucket tokens  // the account's bucket as believed: a share of the level's, refilled at rate
	gated  bool    // the level's bucket refills within burstSpread: spending it is paced (peak)
	peak   tokens  // the most a second (share.go: peakPace)
	policy *tokens // Ratelimit-Policy's bucket, in requests; nil until seen
	// The quota and window of the Ratelimit-Policy policy is made from: a
	// policy that differs replaces it (observe).
	policyQuota  int
	policyWindow time.Duration

	episodeAt   time.Time // when the latest 429 episode began
	pausedUntil time.Time
	inflight    float64 // units let go and not answered yet
	queued      float64 // units of the account's work no worker has taken yet (Queued)
	waiting     float64 // units of requests waiting in Wait

	tally tally // since the run's start or the latest 429 episode

	notes []debugLine // written under the lock, printed once it is released (unlock)
}

// tally is what an account got since the run's start or its latest 429
// episode: what it accepted against what a level's bucket could have let
// through meanwhile (letThrough), the measure of its share (takeShare) and
// of the climb (ruledOut).
type tally struct {
	// bucketFrom is when a level's bucket is reckoned from: full then (at
	// the run's start), or holding heldThen (when the request that began
	// the episode was sent).
	bucketFrom time.Time
	full       bool
	heldThen   float64
	// accepted is the units of the requests sent from countFrom on that
	// were accepted.
	countFrom time.Time
	accepted  float64
	// probeAccepted: a probe past the level's bucket was accepted, so
	// while climbing the next 429 episode is the climb's doing.
	probeAccepted bool
}

// Account paces an account's requests of typ (each costing at most
// maxCost units) by the plan's documented bucket, or, when plan is zero
// (unknown), by the smallest plan's, climbing (see the package doc).
func (l *Limiter) Account(plan cloudflare.Rate, typ cloudflare.PurgeType, maxCost int, debugf func(string, ...any)) *Account {
	now := time.Now()
	a := &Account{limiter: l, typ: typ, debugf: debugf, maxCost: float64(max(maxCost, 1))}
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
	a.tally = tally{bucketFrom: now, countFrom: now, full: true}
	a.setLevel(now)
	return a
}

// debugLine is a debug line to print once the Limiter's lock is released:
// debugf may take a lock of its own (action.Reporter's does), and no lock
// is taken inside the Limiter's.
type debugLine struct {
	format string
	args   []any
}

// lock takes the Limiter's lock, which guards every account of the run.
func (a *Account) lock() { a.limiter.mu.Lock() }

// note keeps a debug line for unlock to print. Callers hold the lock.
func (a *Account) note(format string, args ...any) {
	a.notes = append(a.notes, debugLine{format, args})
}

// unlock releases the Limiter's lock, then prints the debug lines noted
// under it.
func (a *Account) unlock() {
	notes := a.notes
	a.notes = nil
	a.limiter.mu.Unlock()
	for _, n := range notes {
		a.debugf(n.format, n.args...)
	}
}

// Queued tells the pacer how many units of the account's work no worker
// has taken yet: with the requests waiting, the work left, over which
// the bucket is spent (share.go: peakPace).
func (a *Account) Queued(units int) {
	a.lock()
	defer a.unlock()
	a.queued = float64(units)
}

// decide says whether a request of cost units may go at now, and if not,
// until when it waits. Callers hold the lock.
func (a *Account) decide(now time.Time, cost float64) decision {
	l := a.limiter
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
	case a.phase.climbs() && !now.Before(d.until) && a.probesInFlight < a.maxProbes():
		// Only the bucket holds it back: the probe of the next plan.
		d.probe = true
	default:
		d.until, d.reason = bucketAt, "the rate limit"
		d.soft = a.phase != alone
	}
	if pastShare && !d.probe && probeAt.Before(d.until) {
		d.until = probeAt // wake to decide on a probe then
	}
	d.ok = l.inflight < l.maxInFlight && !now.Before(d.until)
	return d
}

// commit lets a request of cost units go at now. Callers hold the lock.
func (a *Account) commit(now time.Time, cost float64, probe bool) *Ticket {
	if probe {
		a.probesInFlight++
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
	a.limiter.window.record(now)
	a.limiter.inflight++
	a.inflight += cost
	return &Ticket{cost: cost, sent: now, probe: probe}
}

// Resize makes t a request of cost units, fewer than it was let go for
// (the units it took stay taken: a little slower, never faster).
func (a *Account) Resize(t *Ticket, cost int) {
	a.lock()
	defer a.unlock()
	a.inflight += float64(cost) - t.cost
	t.cost = float64(cost)
}

// Pause holds back every request to the account for d from now (a 429's
// Retry-After), and trusts it: the refused request of cost units may go
// again then, however slow the believed bucket refills. A later end never
// moves the gate earlier.
func (a *Account) Pause(d time.Duration, cost int) {
	a.lock()
	defer a.unlock()
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
	l := a.limiter
	a.lock()
	defer a.unlock()
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
		a.probesInFlight--
	}
	l.wake()
}

// accepted learns from an accepted request: a probe past the believed
// share says the others left room (share.go), and while climbing, a level
// the account has accepted more than is ruled out.
func (a *Account) accepted(now time.Time, t *Ticket) {
	if !t.sent.Before(a.tally.countFrom) {
		a.tally.accepted += t.cost
	}
	if t.probe && a.phase.atShare() {
		a.roomFound(now)
		return
	}
	if t.probe {
		a.tally.probeAccepted = true
	}
	from := a.level
	for a.phase.climbs() && a.level < len(a.levels)-1 && a.ruledOut(a.level, now) {
		a.level++
	}
	if a.level != from {
		a.setLevel(now)
		a.note("rate limit: the account accepted more than the %s plan's purge limit of %s; pacing as for the %s plan (%s)",
			PlanNames(a.levels[from], a.typ), DescribeRate(a.levels[from], a.typ), PlanNames(a.levels[a.level], a.typ), DescribeRate(a.levels[a.level], a.typ))
	}
}

// othersSeen reports whether a 429 episode no probe caused has come: the
// server's bucket is not the account's alone (or was spent before the
// run).
func (a *Account) othersSeen() bool { return a.quietEpisodes > 0 }

// limited learns from a 429: the server's bucket was empty.
func (a *Account) limited(now time.Time, t *Ticket) {
	// A request sent before the episode began (or at that instant, before
	// the pacer learned of it) was on its way when the pacer learned the
	// bucket was empty: it teaches nothing new.
	if !t.sent.After(a.episodeAt) {
		return
	}
	a.episodeAt = now
	probeCaused := a.phase.climbs() && (t.probe || a.probesInFlight > 0 || a.tally.probeAccepted)
	if probeCaused {
		// Going past the level's bucket was refused: the level is the
		// account's.
		a.endClimb()
		a.note("rate limit: a request past the %s plan's purge limit of %s was refused; pacing as for that plan",
			PlanNames(a.levels[a.level], a.typ), DescribeRate(a.levels[a.level], a.typ))
	} else {
		a.quietEpisodes++
	}
	// A 429 no probe took part in says the bucket holds less than the
	// level allows: someone else draws from it too (or spent it before the
	// run): take the share the account got. While climbing, the climb
	// goes on after the first such episode (the bucket may only have
	// started spent) and ends at the second. A probe's 429 after such an
	// episode measures the share too.
	if a.othersSeen() {
		if a.quietEpisodes >= 2 {
			a.endClimb()
		}
		a.takeShare(now)
		a.note("rate limit: refused with the bucket believed not empty (shared with other clients?); pacing at %s %s a second", formatCount(a.rate), unitName(a.typ))
	}
	a.resize(now)
	a.bucket.limit(now, 0)
	// The server's bucket held less than t's cost when it refused t; what
	// it accepts from requests sent from now on counts against that.
	a.tally = tally{bucketFrom: t.sent, countFrom: now, heldThen: t.cost}
}
