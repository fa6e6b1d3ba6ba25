package pace

import (
	"math"
	"time"
)

// tokens is a token bucket: it holds at most size units and refills at
// rate units a second. It is the one bucket type of the package: the
// account's purge bucket as the pacer believes it, the bucket the
// Ratelimit-Policy header describes, and the peak-rate gate are all
// tokens. It is plain data: the Limiter's lock guards it.
type tokens struct {
	size, rate float64
	have       float64 // at last; may be below zero (a debt to wait out)
	last       time.Time
}

func newTokens(size, rate float64, now time.Time) tokens {
	return tokens{size: size, rate: rate, have: size, last: now}
}

// at is what the bucket holds at now.
func (t *tokens) at(now time.Time) float64 {
	if now.Before(t.last) {
		return t.have
	}
	return min(t.size, t.have+now.Sub(t.last).Seconds()*t.rate)
}

// readyAt is when the bucket holds n units (at most its size): now if it
// does.
func (t *tokens) readyAt(now time.Time, n float64) time.Time {
	missing := min(n, t.size) - t.at(now)
	if missing <= 1e-9 {
		return now
	}
	if t.rate <= 0 {
		return now.Add(time.Hour * 24 * 365)
	}
	// Less a nanosecond's rounding: a wait computed to end exactly at a
	// time (a Retry-After) ends then.
	return now.Add(max(time.Duration(math.Ceil(missing/t.rate*float64(time.Second)-1e-3)), 1))
}

// take removes n units.
func (t *tokens) take(now time.Time, n float64) {
	t.have, t.last = t.at(now)-n, now
}

// limit makes the bucket hold at most n units from now on.
func (t *tokens) limit(now time.Time, n float64) {
	t.have, t.last = min(t.at(now), n), now
}

// set changes the bucket's size and rate from now on, keeping what it
// holds (within the new size).
func (t *tokens) set(now time.Time, size, rate float64) {
	have := t.at(now)
	t.size, t.rate = size, rate
	t.have, t.last = min(have, size), now
}
