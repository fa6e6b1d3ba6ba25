package purge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"golang.org/x/time/rate"
)

// pacer decides when the next request may go. It is shared by every
// worker, so that what one answer teaches slows all of them:
//
//   - planned: the documented bucket of the account's plan (URLs for files
//     purges, requests otherwise), so a known plan sees no 429 at all;
//   - learned: the bucket the server describes in Ratelimit-Policy, in
//     requests (the IETF draft's default unit), kept in step with the
//     Ratelimit header's remaining count so requests slow before it is empty;
//   - pausedUntil: a gate every worker waits behind after a 429 or an
//     empty bucket, until Retry-After has passed;
//   - window: Cloudflare's global API limit (1,200 requests in any 5
//     minutes, every plan), which only purges of over a thousand requests
//     reach.
//
// The token buckets are golang.org/x/time/rate limiters, driven through
// their *N methods under the pacer's lock, so that one reading of the
// clock decides for all of them. The global limit is
// a count in a sliding window, which no token bucket expresses without
// halving the rate (a bucket lets burst + rate × window through in one
// window), hence the small window type below.
type pacer struct {
	deadline time.Time

	mu          sync.Mutex
	planned     *rate.Limiter // nil: plan unknown
	learned     *rate.Limiter // nil: no Ratelimit-Policy seen yet
	policy      cloudflare.RateLimit
	pausedUntil time.Time
	window      window
}

// window remembers when the last limit requests went, so that no span of
// time holds more than limit of them.
type window struct {
	limit int
	span  time.Duration
	sent  []time.Time // a ring of send times, oldest at next once full
	next  int
}

// free is the earliest time a request may go: now while fewer than limit
// requests are remembered, else when the oldest leaves the window.
func (w *window) free(now time.Time) time.Time {
	if len(w.sent) < w.limit {
		return now
	}
	return w.sent[w.next].Add(w.span)
}

// record notes a request sent at now (times come in order: callers hold
// the pacer's lock and read one clock).
func (w *window) record(now time.Time) {
	if len(w.sent) < w.limit {
		w.sent = append(w.sent, now)
		return
	}
	w.sent[w.next] = now
	w.next = (w.next + 1) % w.limit
}

// plannedMargin is the share of a plan's documented rate the pacer uses.
// Requests reach the server with a few milliseconds of jitter, so pacing
// at exactly the documented rate makes an occasional request arrive a
// little early and get a 429, which pauses every worker for a whole
// second of Retry-After; 5% less costs less than that.
const plannedMargin = 0.95

// windowLimit is the most requests the pacer sends in any
// APIRequestWindow: the same margin under Cloudflare's global limit.
const windowLimit = int(cloudflare.APIRequestLimit * plannedMargin)

func newPacer(deadline time.Time, planned cloudflare.Rate, maxCost int) *pacer {
	p := &pacer{deadline: deadline, window: window{
		limit: windowLimit,
		span:  cloudflare.APIRequestWindow,
	}}
	if planned.PerSecond > 0 {
		p.planned = rate.NewLimiter(rate.Limit(planned.PerSecond*plannedMargin), max(planned.Burst, maxCost))
	}
	return p
}

// DeadlineError says a wait (Retry-After, backoff or pacing) would end
// after the run's timeout, so the batch failed at once instead.
type DeadlineError struct {
	reason string
	wait   time.Duration
	left   time.Duration
}

// TimedOut reports whether err means the run's timeout was, or would
// have been, passed.
func TimedOut(err error) bool {
	_, passed := errors.AsType[*DeadlineError](err)
	return passed || errors.Is(err, context.DeadlineExceeded)
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("%s asks to wait %s, longer than the %s left of timeout; not waiting",
		e.reason, e.wait.Round(time.Second), max(e.left, 0).Round(time.Second))
}

// wait blocks until a request that costs cost units of the planned bucket
// (and one of the learned one) may go.
func (p *pacer) wait(ctx context.Context, cost int) error {
	p.mu.Lock()
	now := time.Now()
	at := now
	for _, lim := range []*rate.Limiter{p.planned, p.learned} {
		if lim != nil {
			n := cost
			if lim == p.learned {
				n = 1
			}
			if t := now.Add(lim.ReserveN(now, min(n, lim.Burst())).DelayFrom(now)); t.After(at) {
				at = t
			}
		}
	}
	p.mu.Unlock()

	for {
		p.mu.Lock()
		now := time.Now()
		until, reason := at, "the rate limit"
		if p.pausedUntil.After(until) {
			until, reason = p.pausedUntil, "the API's pause (Retry-After or an empty Ratelimit)"
		}
		if free := p.window.free(now); free.After(until) {
			until, reason = free, cloudflare.APILimitText
		}
		if !now.Before(until) {
			// Counted in the window the moment it may go, under the lock,
			// so that workers woken together cannot overfill it.
			p.window.record(now)
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		if until.After(p.deadline) {
			return &DeadlineError{reason: reason, wait: until.Sub(now), left: p.deadline.Sub(now)}
		}
		if err := sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// pause holds every worker back for d from now (a 429, or a bucket the
// server says is empty). A later end never moves the gate earlier.
func (p *pacer) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := time.Now().Add(d); until.After(p.pausedUntil) {
		p.pausedUntil = until
	}
}

// observe learns from an answer's rate-limit headers.
func (p *pacer) observe(rl cloudflare.RateLimit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if rl.HasPolicy && (p.learned == nil || rl.Quota != p.policy.Quota || rl.Window != p.policy.Window) {
		perSecond := float64(rl.Quota) / rl.Window.Seconds()
		p.learned = rate.NewLimiter(rate.Limit(perSecond), rl.Quota)
		p.policy = rl
	}
	if !rl.HasRemaining {
		return
	}
	if p.learned != nil {
		// Take out what the server has counted and we have not (other
		// clients of the same account, or requests before this run).
		if extra := p.learned.TokensAt(now) - float64(rl.Remaining); extra >= 1 {
			p.learned.ReserveN(now, min(int(extra), p.learned.Burst()))
		}
		return
	}
	if rl.Remaining == 0 && rl.Reset > 0 {
		// No policy to pace by: the server says the bucket is empty, so
		// nobody sends until it resets.
		if until := now.Add(rl.Reset); until.After(p.pausedUntil) {
			p.pausedUntil = until
		}
	}
}

// sleep waits for d, or until ctx is done (returning its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
