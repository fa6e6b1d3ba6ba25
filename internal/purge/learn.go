package purge

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"golang.org/x/time/rate"
)

// When the plan is unknown, the pacer learns which bucket the account has.
//
// Retry-After and Ratelimit's t= come in whole seconds, so every 429
// costs the whole pool up to a second, and several requests in flight
// when the bucket runs dry come back 429 together. Finding the rate by
// running into the limit again and again (or by estimating it from the
// first 429, when one equation holds two unknowns, the bucket's size and
// its rate) costs more than a handful of them. But Cloudflare documents
// every plan's bucket, and an account has one of four. So the pacer
// climbs a ladder of the documented buckets, smallest first:
//
//   - it paces as for the smallest plan not yet ruled out (the level),
//     exactly as it would with that plan given: no request goes that the
//     level's bucket would refuse, so an account of that plan sees no 429
//     from the paced requests;
//   - when only the level's bucket holds a request back, it goes anyway
//     as a probe, if fewer than maxProbes are in flight (one at the
//     smallest plan's level, two above it);
//   - a level is ruled out when the server has accepted more than its
//     bucket could hold (count since the run began, or since the last
//     429, against burst + rate × time, with no cap: an upper bound on
//     what such a bucket lets through, so the ruling is sound). The pacer
//     then paces as for the next level, starting from what that bucket
//     would hold now (its model, below), and probes again;
//   - the first 429 episode a probe takes part in (the probe itself is
//     refused, or one is out or was accepted since the last episode)
//     says the level is the account's: probing stops. Going past the
//     level's bucket costs the probes in flight and those of the paced
//     requests that the probes' extra units crowded out: one or two 429s;
//   - a 429 no probe took part in says the bucket holds less than its
//     level allows (shared with other clients, or started half empty):
//     every bucket is emptied (resync) and probing goes on; a second such
//     episode measures the rate itself (pacer.estimate);
//   - past the top level, no plan's pacing applies: only 429s teach.
//
// Options.LookupPlan may end the climb at once (pacer.usePlan).

// ladder is the documented buckets of a purge type's plans, smallest
// first, and what the answers have shown of them.
type ladder struct {
	levels []level
	h      int // the level paced by; len(levels): beyond every plan

	gate      *rate.Limiter // levels[h]'s bucket at plannedMargin; nil beyond every plan
	probing   bool          // one request at a time may go past gate
	probesOut int           // probes in flight
	probed    bool          // a probe was accepted since the last 429 episode

	// base is what the rulings count from: the run's start (every bucket
	// full), or the last 429 episode (every bucket empty).
	base struct {
		at      time.Time // when the bucket was at most init
		from    time.Time // count only requests sent from then on
		full    bool      // init is each level's burst (the run's start)
		init    float64   // else: units the bucket held at most
		counted float64   // units accepted since
	}
}

// level is one plan's bucket.
type level struct {
	plans []cloudflare.Plan // the plans with this bucket
	rate  cloudflare.Rate
	model bucketModel
}

// bucketModel follows what a bucket of a level holds: refilled at its
// rate up to its size, less what the server accepted, counted when the
// answer came (after the server counted it, so that the model never
// holds more than such a bucket would), and emptied by a 429.
type bucketModel struct {
	size, perSecond float64
	tokens          float64
	last            time.Time
}

func (m *bucketModel) at(now time.Time) float64 {
	return min(m.size, m.tokens+now.Sub(m.last).Seconds()*m.perSecond)
}

func (m *bucketModel) take(now time.Time, n float64) {
	m.tokens, m.last = m.at(now)-n, now
}

func (m *bucketModel) reset(now time.Time) {
	m.tokens, m.last = min(m.at(now), 0), now
}

// newLadder lists the buckets of typ's plans, the cheapest plan first (the
// same bucket once), each model full at now.
func newLadder(typ cloudflare.PurgeType, now time.Time) *ladder {
	l := &ladder{}
	for _, plan := range cloudflare.Plans {
		b := plan.Limits().Bucket(typ)
		if n := len(l.levels); n > 0 && l.levels[n-1].rate == b {
			l.levels[n-1].plans = append(l.levels[n-1].plans, plan)
			continue
		}
		l.levels = append(l.levels, level{plans: []cloudflare.Plan{plan}, rate: b, model: bucketModel{
			size: float64(b.Burst), perSecond: b.PerSecond, tokens: float64(b.Burst), last: now,
		}})
	}
	l.base.at, l.base.from, l.base.full = now, now, true
	return l
}

// find is the index of the level with bucket b, or -1.
func (l *ladder) find(b cloudflare.Rate) int {
	for i, lv := range l.levels {
		if lv.rate == b {
			return i
		}
	}
	return -1
}

// install paces by level h, starting from what its model holds less what
// is in flight. Callers hold the pacer's lock.
func (l *ladder) install(p *pacer, now time.Time) {
	if l.h >= len(l.levels) {
		l.gate, l.probing = nil, false
		return
	}
	lv := l.levels[l.h]
	l.gate = p.bucketLimiter(lv.rate.PerSecond*plannedMargin, lv.rate.Burst)
	setTokens(l.gate, now, lv.model.at(now)-float64(p.inflight))
	// Probing goes on at the top level too: an account that takes more
	// than every plan's bucket (a test server, an unlisted contract) is
	// not paced by any.
	l.probing = true
}

// ruledOut reports whether the server has accepted more than level i's
// bucket could have let through.
func (l *ladder) ruledOut(i int, now time.Time) bool {
	lv := l.levels[i]
	init := l.base.init
	if l.base.full {
		init = float64(lv.rate.Burst)
	}
	return l.base.counted > init+lv.rate.PerSecond*now.Sub(l.base.at).Seconds()+1e-6
}

// accepted learns from a request the server accepted: callers hold the
// pacer's lock.
func (l *ladder) accepted(p *pacer, t *ticket, now time.Time) {
	for i := range l.levels {
		l.levels[i].model.take(now, float64(t.cost))
	}
	if !t.sent.Before(l.base.from) {
		l.base.counted += float64(t.cost)
	}
	if t.probe {
		l.probed = true
	}
	from := l.h
	for l.h < len(l.levels) && l.ruledOut(l.h, now) {
		l.h++
	}
	if l.h == from {
		return
	}
	l.install(p, now)
	was := l.levels[from]
	if l.h == len(l.levels) {
		p.debugf("rate limit: the account accepted more than the %s plan's purge limit of %s; no plan's pacing applies, only 429s slow requests",
			planNames(was.plans), describeRate(was.rate, p.typ))
	} else {
		p.debugf("rate limit: the account accepted more than the %s plan's purge limit of %s; pacing as for the %s plan (%s)",
			planNames(was.plans), describeRate(was.rate, p.typ), planNames(l.levels[l.h].plans), describeRate(l.levels[l.h].rate, p.typ))
	}
	p.wake()
}

// maxProbes is how many probes may be in flight at once: one at the
// smallest plan's level, the most common plan, where a probe past an
// account of that plan costs one 429; two once the account has shown it
// has more, which halves the time each further level takes to rule out
// (every probe's answer comes a round trip later) for a 429 more when
// the level holds.
func (l *ladder) maxProbes() int {
	if l.h == 0 {
		return 1
	}
	return 2
}

// probeCaused reports whether a probe took part in the 429 episode that t
// begins.
func (l *ladder) probeCaused(t *ticket) bool {
	return l.probing && (t.probe || l.probesOut > 0 || l.probed)
}

// limited learns from a 429 that begins an episode: callers hold the
// pacer's lock.
func (l *ladder) limited(p *pacer, t *ticket, now time.Time, causedByProbe bool) {
	for i := range l.levels {
		l.levels[i].model.reset(now)
	}
	empty(l.gate, now)
	// The server's bucket held less than t's cost when it refused t,
	// which was after t was sent; what it accepts from requests sent from
	// now on counts against that.
	l.base.at, l.base.from, l.base.full, l.base.init, l.base.counted = t.sent, now, false, float64(t.cost), 0
	l.probed = false
	if causedByProbe {
		l.probing = false
		if l.h < len(l.levels) {
			lv := l.levels[l.h]
			p.debugf("rate limit: a request past the %s plan's purge limit of %s was refused; pacing as for that plan",
				planNames(lv.plans), describeRate(lv.rate, p.typ))
		}
	}
}

// planNames writes plans as "pro/business".
func planNames(plans []cloudflare.Plan) string {
	names := make([]string, len(plans))
	for i, p := range plans {
		names[i] = string(p)
	}
	return strings.Join(names, "/")
}

// unitName is what a bucket of typ counts.
func unitName(typ cloudflare.PurgeType) string {
	if typ == cloudflare.Files {
		return "URLs"
	}
	return "requests"
}

// describeRate writes a bucket as "5 requests a minute (bucket 25)".
func describeRate(b cloudflare.Rate, typ cloudflare.PurgeType) string {
	per, n := "second", b.PerSecond
	if n < 1 {
		per, n = "minute", n*60
	}
	return fmt.Sprintf("%s %s a %s (bucket %s)", formatCount(n), unitName(typ), per, formatCount(float64(b.Burst)))
}

// formatCount writes a rate without needless decimals: 5, 1,500, 2.5.
func formatCount(n float64) string {
	if r := math.Round(n); math.Abs(n-r) < 1e-9 {
		n = r
	}
	if n != math.Trunc(n) || n >= 1e15 {
		return fmt.Sprintf("%.3g", n)
	}
	s := fmt.Sprintf("%d", int64(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
