// Package pace decides when the next purge request of an account may go.
//
// Cloudflare's purge buckets belong to the account (zones of one plan in
// one account share one), and every job, workflow and tool using the
// account draws from it, each seeing only its own answers. So each
// account-and-plan's requests are paced the way TCP shares a link among
// flows it cannot see: additive increase, multiplicative decrease.
//
//   - Rate. One rate per account and plan (Account.rate), in the units of
//     the plan's bucket for the run's purge type (URLs for files,
//     requests otherwise), with a bucket of the plan's burst refilled at
//     it (Account.bucket). It starts at its ceiling, Margin (95%) of the
//     plan's documented rate (given, or looked up: UsePlan), and never
//     goes above it (Account.setLevel).
//   - Decrease. A 429 (or code 1134, whatever the status) says the
//     server's bucket was empty: the believed bucket is emptied and, once
//     per episode (a refusal of a request sent before the episode began is
//     part of it), the rate is multiplied by cutFactor (½), down to at
//     most floorShare of the ceiling; every request to the account then
//     waits out the Retry-After (Pause), with nothing refilled meanwhile
//     (Account.limited).
//   - Increase. While answers come back accepted the rate grows by
//     increaseShare (⅛) of the ceiling a second, the slope doubling every
//     accelerateAfter (2 s), up to the ceiling (Account.grow): the same
//     step for every client whatever its rate, so that a job the 429s
//     reached more often catches up with the others (TCP's additive
//     increase), back at the ceiling about 2.5 seconds after a cut from
//     it, and quickly there when the other clients are done.
//   - Bursts. A bucket that refills within burstSpread (every URL bucket
//     does in about a second) is spent no faster than rate + size /
//     burstSpread (Account.peakGate): several jobs starting at once then
//     meet in a few 429s, not in a wave as wide as their requests in
//     flight. The believed bucket shrinks with the rate, and the gate
//     keeps what it held when the rate changes (resize).
//   - Unknown plan. The ceiling is the smallest plan's rate, and the pacer
//     climbs the documented plans: one request at a time (two above the
//     smallest) may go past the bucket as a probe, and once the account
//     has accepted more than a plan's bucket could have let through, the
//     next plan's rate is the ceiling (climb.go). The first 429 episode a
//     probe takes part in ends the climb without a cut (the probe's
//     overshoot caused it); one that no probe caused cuts, and the second
//     such ends the climb (the first may come of a bucket spent before
//     the run).
//   - Headers. Ratelimit-Policy (requests in a window) and Ratelimit's
//     remaining count, when present, bound the pace from above: a bucket
//     of their own that every request also draws from (observe).
//   - Token. The API window (WindowLimit requests in any five minutes,
//     every account of the token together) and the concurrency limit are
//     the Limiter's, shared by every account of a run.
//
// The constants were chosen with the shared-bucket benchmark in
// internal/loadtest (two and four jobs, each its own run of the action,
// through one bucket of Free's URL shape: 800 URLs, 800 a second, whole
// seconds of Retry-After) and the single-job load benchmark, whose
// figures they keep (but for a bucket smaller than every plan's, which
// the slope below overruns a little more often: 0.87 rather than 0.94):
// a deeper cut (½ rather than TCP's 0.7) because two
// jobs that each believe they own the bucket overshoot it twice over; the
// slope a share of the ceiling rather than of each job's own cut rate,
// because with the latter a job that two 429s reached grew back at half
// the speed of the other and finished alone at a cut rate (two jobs at
// 0.84 of the ideal rather than 0.92, four at 0.82-0.89 rather than
// 0.92); the doubling slope so that the job left alone at the end is not
// slow; the spread burst because the jobs start together. What is left
// of the ideal goes to 429s: each pauses its job for a whole second of
// Retry-After (a full bucket's worth of time), and when one reaches a
// job the other does not, that job falls a second behind and finishes
// alone, climbing back from a cut rate. No constant removes that: a job
// cannot tell a partner that finished from one still sharing but by
// growing until the next 429, so a slower climb that keeps two equal
// jobs together leaves a lone one slow (tried in virtual time: holding
// the rate four seconds after a cut brought two equal jobs to 0.95, and
// a job of 5,400 URLs beside one of 600 from 0.75 down to 0.65). See the
// README's Performance section for the figures.
//
// One mutex (the Limiter's) guards every bucket of a run: no lock is
// taken inside another. Deciding (Account.decide, under the lock, from one
// clock reading) is separate from waiting (Account.Wait, without the
// lock, until the decided time or until something changes).
package pace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// Margin is the share of a documented rate the pacer uses. Requests reach
// the server with a few milliseconds of jitter, so pacing at exactly the
// documented rate makes an occasional request arrive a little early and
// get a 429, which pauses the account for a whole second of Retry-After;
// 5% less costs less than that.
const Margin = 0.95

// Limiter is a run's pacing: what every account shares (the API window
// and the requests in flight) and the accounts' buckets.
type Limiter struct {
	mu       sync.Mutex
	changed  chan struct{} // closed (and replaced) when a waiter may go sooner
	window   window
	inflight int // requests let go and not answered yet
	limit    int // the most requests in flight at once
	deadline time.Time
}

// New paces a run of at most concurrency requests in flight that must be
// over by deadline.
func New(concurrency int, deadline time.Time) *Limiter {
	return &Limiter{
		changed:  make(chan struct{}),
		window:   window{limit: WindowLimit, span: cloudflare.APIRequestWindow},
		limit:    max(concurrency, 1),
		deadline: deadline,
	}
}

// RecordLookup counts another call of the token (a plan lookup) in the
// API window, which counts every call.
func (l *Limiter) RecordLookup() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.window.record(time.Now())
}

// wake lets every waiter decide again. Callers hold mu.
func (l *Limiter) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Ticket is one request the pacer let go; pass it to Answered.
type Ticket struct {
	cost  float64
	sent  time.Time
	probe bool // sent past the bucket, to test the next plan
}

// Answer is what came back for a request.
type Answer struct {
	Accepted bool
	// Limited: a 429, or code 1134 (cloudflare.APIError.RateLimited).
	Limited   bool
	RateLimit cloudflare.RateLimit
}

// DeadlineError says a wait (Retry-After, backoff or pacing) would end
// after the run's timeout, so the request failed at once instead.
type DeadlineError struct {
	Reason string
	Wait   time.Duration
	Left   time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("%s asks to wait %s, longer than the %s left of timeout; not waiting",
		e.Reason, e.Wait.Round(time.Second), max(e.Left, 0).Round(time.Second))
}

// TimedOut reports whether err means the run's timeout was, or would
// have been, passed.
func TimedOut(err error) bool {
	_, passed := errors.AsType[*DeadlineError](err)
	return passed || errors.Is(err, context.DeadlineExceeded)
}

// Wait blocks until a request of a's that costs cost units may go, and
// returns its ticket.
func (a *Account) Wait(ctx context.Context, cost int) (*Ticket, error) {
	l := a.l
	for {
		l.mu.Lock()
		now := time.Now()
		d := a.decide(now, float64(cost))
		if d.ok {
			t := a.commit(now, float64(cost), d.probe)
			l.mu.Unlock()
			return t, nil
		}
		changed := l.changed
		l.mu.Unlock()
		if err := l.sleep(ctx, now, d, changed); err != nil {
			return nil, err
		}
	}
}

// decision is what decide found: go now (ok), or not before until.
type decision struct {
	ok     bool
	probe  bool
	until  time.Time
	reason string
	// soft: the wait may end sooner (a probe's answer may raise the
	// rate), so a wait past the deadline is not yet a failure.
	soft bool
}

// sleep waits until d.until, or until something changes, or ctx is done.
func (l *Limiter) sleep(ctx context.Context, now time.Time, d decision, changed <-chan struct{}) error {
	until := d.until
	if until.After(l.deadline) {
		if !d.soft || !now.Before(l.deadline) {
			return &DeadlineError{Reason: d.reason, Wait: until.Sub(now), Left: l.deadline.Sub(now)}
		}
		until = l.deadline
	}
	// No timer when only a request in flight holds it back: an answer
	// frees it, and wakes the waiters.
	var timeUp <-chan time.Time
	if until.After(now) {
		t := time.NewTimer(until.Sub(now))
		defer t.Stop()
		timeUp = t.C
	}
	select {
	case <-timeUp:
	case <-changed:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
