// Sharing the account's bucket with clients the pacer cannot see: the
// measured share, probes for room, and how fast the believed bucket is
// spent.

package pace

import "time"

// The constants of the model (see the package doc).
const (
	// burstSpread is the least time a shared bucket's believed share is
	// spent in (rate + size / burstSpread): spent at once, several jobs'
	// shares meet the server's bucket in a wave of 429s as wide as their
	// requests in flight.
	burstSpread = 2 * time.Second
	// probeShare is the most probes add to the pace, as a share of the
	// ceiling: a probe (one at a time) goes at most every cost /
	// (probeShare × ceiling), ten a second for Free's URL bucket, which
	// find a partner's leaving within a few tenths of a second, and one
	// every half second for its 5 requests a second of tags.
	probeShare = 0.4
	// probeGain is what an accepted probe multiplies the rate by: from
	// half the ceiling back to it in five probes, half a second.
	probeGain = 1.15
	// maxCut is the most one episode cuts the rate by: a share measured
	// over a window the account spent mostly paused (its partner took the
	// room meanwhile) is no measure of what it may take.
	maxCut = 0.5
	// probeHorizon: no probe is sent when the work left takes less than
	// this at the rate (worthProbing): the end-burst of the others may
	// need what room is left.
	probeHorizon = 500 * time.Millisecond
	// floorShare is the least share of the ceiling a measured share is
	// taken as.
	floorShare = 0.05
)

// takeShare paces at the share of the level's bucket the account got
// since the last episode (or the run's start, the bucket full): what it
// accepted against what the bucket let through meanwhile. Every client
// that meets the empty bucket measures its own, so the shares add up to
// about the whole bucket without anyone knowing the others. The rate
// falls to no less than maxCut of itself at once; a share measured at or
// above the ceiling leaves the account alone.
func (a *Account) takeShare(now time.Time) {
	share := 1.0
	if through := a.letThrough(a.level, now); through > 0 {
		share = a.tally.accepted / through
	}
	a.setRate(max(share*a.levels[a.level].PerSecond, a.ceiling*floorShare, a.rate*maxCut))
}

// nextProbe is when a sharing account may send its next probe of cost
// units (past the believed share, one at a time, probeShare of the
// ceiling at most), not before hard (the pause, the windows); false when
// it may not probe at all.
func (a *Account) nextProbe(hard time.Time, cost float64) (time.Time, bool) {
	if a.phase != sharing || a.probesInFlight > 0 || !a.worthProbing() {
		return time.Time{}, false
	}
	every := time.Duration(cost / (probeShare * a.ceiling) * float64(time.Second))
	return later(hard, a.lastProbe.Add(every)), true
}

// worthProbing reports whether the work left is worth a probe: a refused
// one pauses the account for a whole second of Retry-After, which, when
// the work left takes less than probeHorizon, costs more than finding
// room can gain.
func (a *Account) worthProbing() bool {
	return a.left() > a.rate*probeHorizon.Seconds()
}

// left is the work left: units no worker has taken yet, and those of the
// requests waiting.
func (a *Account) left() float64 { return a.queued + a.waiting }

// roomFound learns from an accepted probe past the believed share: the
// server's bucket had room to spare, so the others take less than they
// did (one of them finished?). At the ceiling the account is alone again,
// and its believed bucket is what the level's would hold had it been
// alone since the last episode: the room the others left is spent, not
// wasted.
func (a *Account) roomFound(now time.Time) {
	a.setRate(a.rate * probeGain)
	a.resize(now)
	if a.phase.atShare() {
		return
	}
	if holds := a.aloneHolds(now) - a.inflight; holds > a.bucket.at(now) {
		a.bucket.have, a.bucket.last = holds, now
	}
	a.note("rate limit: requests past the account's share went through; pacing at %s %s a second again", formatCount(a.rate), unitName(a.typ))
}

// aloneHolds is the least the level's bucket holds now if the account has
// been alone since the last episode: empty when its first 429 came back,
// refilled since, less what the account's later requests took.
func (a *Account) aloneHolds(now time.Time) float64 {
	b := a.levels[a.level]
	return min(float64(b.Burst), b.PerSecond*now.Sub(a.episodeAt).Seconds()-a.tally.accepted)
}

// pauseRefill is the account's share of what the level's bucket refills
// from now until the pause ends, as much as its believed bucket holds.
func (a *Account) pauseRefill(now time.Time) float64 {
	share := a.rate / a.ceiling
	return min(a.bucket.size, share*a.levels[a.level].PerSecond*a.pausedUntil.Sub(now).Seconds())
}

// resize makes the believed bucket refill at rate, and hold the level's
// burst in the same share as rate is of the ceiling: a share of the rate
// is a share of the bucket (another client refills from it too).
func (a *Account) resize(now time.Time) {
	burst := float64(a.levels[a.level].Burst)
	a.bucket.set(now, max(burst*a.rate/a.ceiling, a.maxCost), a.rate)
}

// peakPace is the most units a second the account's requests go at, for
// a bucket that refills within burstSpread (gated: every plan's URL
// bucket refills in about a second); open: no limit but the bucket's.
//   - Alone, the believed bucket is spread over the work left, so that
//     it runs out as the work does: rate × left / (left − held). A long
//     run spends it last, not in a burst at the start where it meets
//     other jobs' bursts; work that fits in the bucket goes at once.
//   - Sharing, the believed share goes within burstSpread: it is the
//     account's share of what the server's bucket kept, best spent before
//     the others' probes find it.
//   - Climbing, at the smallest plan's rate plus its burst over
//     burstSpread (twice that after a bucket's worth of time without a
//     429), and past the smallest plan at the next plan's: the account
//     has shown it has more than the smallest, and the next level is
//     ruled out soonest so.
func (a *Account) peakPace(now time.Time) (perSecond float64, open bool) {
	held := max(a.bucket.at(now), 0)
	switch {
	case a.phase.climbs() && a.level > 0:
		next := a.levels[a.level+1]
		return next.PerSecond + float64(next.Burst)/burstSpread.Seconds(), false
	case a.phase.climbs() && !a.othersSeen() && now.Sub(a.tally.bucketFrom).Seconds() >= a.bucket.size/a.ceiling:
		// A bucket's worth of time without a 429: other jobs spending the
		// bucket they believe theirs would have met this one by now, so it
		// climbs at twice the burst, ruling the smallest plan out in about
		// a second more.
		return a.rate + 2*a.bucket.size/burstSpread.Seconds(), false
	case a.phase != alone:
		return a.rate + a.bucket.size/burstSpread.Seconds(), false
	}
	left := a.left()
	if left <= held+a.maxCost {
		return 0, true
	}
	return a.rate * left / (left - held), false
}
