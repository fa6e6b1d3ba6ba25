// Package pace decides when the next purge request of an account may go.
//
// Cloudflare's purge buckets belong to the account (zones of one plan in
// one account share one), and every job, workflow and tool using the
// account draws from it, each seeing only its own answers. The model, in
// a paragraph: each account-and-plan is paced at one rate, at first
// Margin (95%) of the plan's documented rate, with a believed bucket of
// the plan's burst that a long run spends last. A 429 says the server's
// bucket was empty; the account then paces at the share of the bucket it
// actually got since the last 429 (what it accepted against what the
// bucket let through meanwhile), so that clients that cannot see each
// other split the bucket as they were using it, none cut by more than
// half at once (maxCut). Its believed bucket shrinks to the same share,
// refills by that share of the server's refill while the Retry-After
// pause lasts, and is spent within two seconds (burstSpread). Once it is
// spent, one request at a time may go past it as a probe, adding at most
// 40% of the ceiling to the pace (probeShare): a refused probe is one
// more 429 (and a measure of the share again), an accepted one says the
// others left room and raises the rate by 15% (probeGain), up to the
// plan's rate, where the account is alone again and its bucket holds what
// the server's would have kept for it.
//
// An account is in one of four phases, alone, sharing, climbing (the
// plan unknown) and climbing at a share; phase.go says what each means
// and what moves an account from one to another.
//
//   - Rate and ceiling (Account.rate, Account.ceiling): in the units of
//     the plan's bucket for the run's purge type (URLs for files,
//     requests otherwise); the ceiling is Margin of the plan's rate
//     (given, or looked up: UsePlan) and the rate never goes above it
//     (setRate).
//   - A 429 episode (Account.limited): a 429 (or code 1134, whatever the
//     status) empties the believed bucket and, once per episode (a
//     refusal of a request sent before the episode began is part of it),
//     sets the rate to the measured share, at most halved and at least
//     floorShare of the ceiling (takeShare); every request to the
//     account then waits out the Retry-After (Pause), after which the
//     believed bucket holds the account's share of the refill
//     (pauseRefill).
//   - Spending the bucket (peakPace): a bucket that refills within
//     burstSpread (every URL bucket does in about a second) is spent no
//     faster than this. Alone, it is spread over the work left (purge
//     tells it: Queued), so that jobs starting together meet at their
//     rates, not at their bursts, and a long run loses nothing: its
//     bucket stays full until the end. Sharing, within burstSpread.
//   - Probes (decide, nextProbe, roomFound): while sharing, and only
//     when the believed bucket holds a request back, one request at a
//     time goes past it and past the peak pace, adding probeShare of the
//     ceiling at most; not in the last probeHorizon of the work, where a
//     refusal's second of pause would cost more than room found could
//     gain (worthProbing).
//   - Unknown plan (climb.go): the ceiling is the smallest plan's rate,
//     and the pacer climbs the documented plans: one request at a time
//     (two above the smallest) may go past the bucket as a probe, and once
//     the account has accepted more than a plan's bucket could have let
//     through, the next plan's rate is the ceiling. The first 429 episode
//     a climbing probe takes part in ends the climb without measuring a
//     share (the probe's overshoot caused it); one that no probe caused
//     measures it, and the second such ends the climb (the first may come
//     of a bucket spent before the run).
//   - Headers. Ratelimit-Policy (requests in a window) and Ratelimit's
//     remaining count, when present, bound the pace from above: a bucket
//     of their own that every request also draws from (observe).
//   - Token. The API window (WindowLimit requests in any five minutes,
//     every account of the token together) and the concurrency limit are
//     the Limiter's, shared by every account of a run.
//
// Why so, rather than TCP's additive increase and multiplicative
// decrease, which this package used before: with AIMD each job grows back
// toward the plan's rate after every cut, so two jobs sharing a bucket
// meet again every few seconds in a wave of 429s as wide as their
// requests in flight, and a job the last 429 reached (a second's pause
// behind the other) finishes alone at a cut rate. A measured share needs
// no growth while the others are there, and probes find a partner's
// leaving within a few tenths of a second. What is left of the ideal goes
// to the first meeting (each job spends the bucket it believes its own)
// and to the pauses: a refused probe pauses its job a whole second of
// Retry-After. The constants were chosen by running the shared-bucket
// benchmark's cases (internal/loadtest: two and four jobs, each its own
// run of the action) in virtual time from thirteen start offsets each,
// with a job of 5,400 URLs beside one of 600 and the single-job cases as
// checks (TestPacingOverStartOffsets, in this package's tests; go test -v
// prints its figures), then confirmed on the real benchmark. The measured
// figures, which change with each tuning, are kept with the documentation
// (the README's Performance section), not here.
//
// One mutex (the Limiter's) guards every bucket of a run, and no other
// lock is taken while it is held: the debug lines written under it are
// printed once it is released (Account.unlock), since a debugf may take a
// lock of its own. Deciding (Account.decide, under the lock, from one
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
	mu          sync.Mutex
	changed     chan struct{} // closed (and replaced) when a waiter may go sooner
	window      window
	inflight    int // requests let go and not answered yet
	maxInFlight int // the most requests in flight at once
	deadline    time.Time
}

// New paces a run of at most concurrency requests in flight that must be
// over by deadline.
func New(concurrency int, deadline time.Time) *Limiter {
	return &Limiter{
		changed:     make(chan struct{}),
		window:      window{limit: WindowLimit, span: cloudflare.APIRequestWindow},
		maxInFlight: max(concurrency, 1),
		deadline:    deadline,
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
	probe bool // let go past the believed bucket: the climb's, or a share's (phase.go)
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
	l := a.limiter
	a.lock()
	a.waiting += float64(cost) // part of the work left (peakPace)
	a.unlock()
	for {
		a.lock()
		now := time.Now()
		d := a.decide(now, float64(cost))
		if d.ok {
			a.waiting -= float64(cost)
			t := a.commit(now, float64(cost), d.probe)
			a.unlock()
			return t, nil
		}
		changed := l.changed
		a.unlock()
		if err := l.sleep(ctx, now, d, changed); err != nil {
			a.lock()
			a.waiting -= float64(cost)
			a.unlock()
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
