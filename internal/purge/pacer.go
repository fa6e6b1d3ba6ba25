package purge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"golang.org/x/time/rate"
)

// pacer decides when the next request of one account may go. It is
// shared by every worker sending to that account's zones, so that what
// one answer teaches slows (or speeds) all of them. Units are those of the
// plan's bucket for the run's purge type: URLs for files purges, requests
// otherwise (cloudflare.Limits.Bucket, Cost).
//
// Per account (Cloudflare's purge buckets are the account's, shared by
// its zones; Job.Account, "" being one assumed account), each pacer has:
//
//   - planned: the documented bucket of the account's plan, given
//     (Options.Limits) or looked up (Options.LookupPlan), paced at
//     plannedMargin of its rate, so a known plan sees no 429 at all;
//   - ladder: while the plan is unknown, the smallest plan not yet ruled
//     out, paced like a known plan, with one probe at a time past it to
//     find out whether the account has more (learn.go);
//   - estimated: the refill rate measured between two 429 episodes that
//     no probe caused, when it is below every other limit: the account's
//     bucket is smaller than its plan's (shared with other clients) or
//     than any plan's;
//   - learned: the bucket the server describes in Ratelimit-Policy, in
//     requests (the IETF draft's default unit), kept in step with the
//     Ratelimit header's remaining count so requests slow before it is empty;
//   - pausedUntil: a gate every request to the account waits behind
//     after a 429 or an empty bucket, until Retry-After has passed.
//
// Per token (one for the whole run, shared by every account's pacer:
// tokenLimits):
//
//   - window: Cloudflare's global API limit (1,200 requests in any 5
//     minutes, every plan, counted per user or token across every zone
//     and account), which only purges of over a thousand requests reach;
//   - in flight: Options.Concurrency, the most requests out at once.
//
// Every 429 says the server's bucket was empty when it answered: the
// token buckets are then emptied too (resync), so that after the pause
// they hold what the server refilled, not what they believed before.
//
// The token buckets are golang.org/x/time/rate limiters, driven through
// their *N methods under the pacer's lock, so that one reading of the
// clock decides for all of them. Waiters hold no reservation while they
// sleep: they sleep until the earliest time every limit lets them go, or
// until the pacer changes (a probe answered, a higher plan found, the
// plan looked up, a request of the run answered while all were in
// flight), and look again. The global limit is a count in a sliding
// window, which no token bucket expresses without halving the rate (a
// bucket lets burst + rate × window through in one window), hence the
// small window type below.
type pacer struct {
	deadline time.Time
	maxCost  int
	typ      cloudflare.PurgeType
	debugf   func(format string, args ...any)

	mu sync.Mutex
	// changed is closed (and replaced) when a waiter may go sooner than it
	// computed: a probe slot freed, a faster bucket installed.
	changed chan struct{}

	planned   *rate.Limiter // nil: plan unknown
	ladder    *ladder       // non-nil while the plan is unknown
	estimated *rate.Limiter // nil until two 429 episodes measure a slower rate
	learned   *rate.Limiter // nil: no Ratelimit-Policy seen yet
	policy    cloudflare.RateLimit

	pausedUntil time.Time
	token       *tokenLimits // shared by every account's pacer

	inflight    int       // units sent to the account and not answered yet
	lastLimited time.Time // when the last 429 came
	episodeAt   time.Time // when the latest 429 episode began; zero: none yet
	accepted    float64   // units accepted since episodeAt
}

// tokenLimits is what every account's pacer of a run shares: the API
// window, which counts every request of the token, and the run's
// concurrency. Its lock is taken inside a pacer's, never the other way
// round, so that a request is counted in both at the moment it may go.
type tokenLimits struct {
	mu       sync.Mutex
	window   window
	inflight int           // requests let go and not answered yet
	limit    int           // the most requests in flight at once
	freed    chan struct{} // closed (and replaced) when a request ends while limit were in flight
}

func newTokenLimits(concurrency int) *tokenLimits {
	return &tokenLimits{
		window: window{limit: windowLimit, span: cloudflare.APIRequestWindow},
		limit:  max(concurrency, 1),
		freed:  make(chan struct{}),
	}
}

// ended frees the in-flight slot of a request that was answered.
func (tl *tokenLimits) ended() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.inflight == tl.limit {
		close(tl.freed)
		tl.freed = make(chan struct{})
	}
	tl.inflight--
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

// record notes a request sent at now. Callers hold the token's lock and
// read one clock, so times come in order (but for the instant between an
// account's pacer reading the clock and taking the token's lock: a
// request noted a little before one noted earlier only leaves the window
// later, which errs on the safe side).
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
// little early and get a 429, which pauses the account's requests for a
// whole second of Retry-After; 5% less costs less than that. Measured
// rates get the same margin.
const plannedMargin = 0.95

// windowLimit is the most requests the pacer sends in any
// APIRequestWindow: the same margin under Cloudflare's global limit.
const windowLimit = int(cloudflare.APIRequestLimit * plannedMargin)

// newPacer paces an account's requests of typ (each costing at most
// maxCost units) by the bucket planned, and by token, the limits the
// account shares with every other; a zero planned means the plan is
// unknown.
func newPacer(deadline time.Time, typ cloudflare.PurgeType, planned cloudflare.Rate, maxCost int, token *tokenLimits, debugf func(string, ...any)) *pacer {
	now := time.Now()
	p := &pacer{
		deadline: deadline, maxCost: max(maxCost, 1), typ: typ, debugf: debugf,
		changed: make(chan struct{}),
		token:   token,
	}
	if planned.PerSecond > 0 {
		p.planned = p.bucketLimiter(planned.PerSecond*plannedMargin, planned.Burst)
	} else {
		p.ladder = newLadder(typ, now)
		p.ladder.install(p, now)
	}
	return p
}

// bucketLimiter is a full token bucket of burst at perSecond, big enough
// for the costliest request.
func (p *pacer) bucketLimiter(perSecond float64, burst int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(perSecond), max(burst, p.maxCost))
}

// wake lets every waiter look again. Callers hold mu.
func (p *pacer) wake() {
	close(p.changed)
	p.changed = make(chan struct{})
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

// ticket is one request the pacer let go; answered closes it.
type ticket struct {
	cost  int
	sent  time.Time
	probe bool // sent past the ladder's bucket, to test the next plan
}

// availableAt is when lim holds n units (now if it does).
func availableAt(lim *rate.Limiter, now time.Time, n int) time.Time {
	n = min(n, lim.Burst())
	missing := float64(n) - lim.TokensAt(now)
	if missing <= 1e-9 || lim.Limit() <= 0 {
		return now
	}
	d := time.Duration(math.Ceil(missing / float64(lim.Limit()) * float64(time.Second)))
	return now.Add(max(d, 1))
}

// take removes n units from lim (at most its burst at once).
func take(lim *rate.Limiter, now time.Time, n int) {
	for n > 0 {
		step := min(n, lim.Burst())
		lim.ReserveN(now, step)
		n -= step
	}
}

// empty removes whatever units lim holds: the server said its bucket is
// empty.
func empty(lim *rate.Limiter, now time.Time) {
	if lim == nil {
		return
	}
	if tokens := lim.TokensAt(now); tokens > 0 {
		take(lim, now, int(math.Ceil(tokens)))
	}
}

// setTokens makes a full lim hold tokens units (possibly fewer than
// zero: a debt to wait out).
func setTokens(lim *rate.Limiter, now time.Time, tokens float64) {
	if drop := lim.TokensAt(now) - tokens; drop > 0 {
		take(lim, now, int(math.Ceil(drop)))
	}
}

// wait blocks until a request that costs cost units may go, and returns
// its ticket; the caller must pass it to answered.
func (p *pacer) wait(ctx context.Context, cost int) (*ticket, error) {
	for {
		p.mu.Lock()
		now := time.Now()
		// until is when every limit but the ladder's lets the request go.
		until, reason := now, "the rate limit"
		for _, lim := range []*rate.Limiter{p.planned, p.estimated} {
			if lim != nil {
				until = later(until, availableAt(lim, now, cost))
			}
		}
		if p.learned != nil {
			until = later(until, availableAt(p.learned, now, 1))
		}
		if p.pausedUntil.After(until) {
			until, reason = p.pausedUntil, "the API's pause (Retry-After or an empty Ratelimit)"
		}
		tl := p.token
		tl.mu.Lock()
		if free := tl.window.free(now); free.After(until) {
			until, reason = free, cloudflare.APILimitText
		}
		// Requests to other accounts may hold every slot: no time says
		// when one frees, an answer does.
		var freed chan struct{}
		if tl.inflight >= tl.limit {
			freed = tl.freed
		}
		probe, probing := false, false
		if l := p.ladder; l != nil && l.gate != nil && !now.Before(until) {
			if at := availableAt(l.gate, now, cost); at.After(now) {
				// Only the ladder's bucket holds it back: it may go as the
				// probe of the next plan, if none is out.
				probing = l.probing
				if probing && l.probesOut < l.maxProbes() {
					probe = true
				} else {
					until = at
				}
			}
		}
		if freed == nil && !now.Before(until) {
			for _, lim := range []*rate.Limiter{p.planned, p.estimated} {
				if lim != nil {
					take(lim, now, cost)
				}
			}
			if p.learned != nil {
				take(p.learned, now, 1)
			}
			if l := p.ladder; l != nil {
				if probe {
					l.probesOut++
				} else if l.gate != nil {
					take(l.gate, now, cost)
				}
			}
			// Counted in the window and in flight the moment it may go,
			// under the token's lock, so that workers woken together, of
			// any account, cannot overfill them.
			tl.window.record(now)
			tl.inflight++
			tl.mu.Unlock()
			p.inflight += cost
			p.mu.Unlock()
			return &ticket{cost: cost, sent: now, probe: probe}, nil
		}
		tl.mu.Unlock()
		changed := p.changed
		p.mu.Unlock()

		// A wait on the ladder's bucket may end early (a probe finds a
		// bigger plan): wait for the timeout itself before giving up.
		if until.After(p.deadline) {
			if !probing || !now.Before(p.deadline) {
				return nil, &DeadlineError{reason: reason, wait: until.Sub(now), left: p.deadline.Sub(now)}
			}
			until = p.deadline
		}
		// No timer when only freed holds the request back.
		var timeUp <-chan time.Time
		var t *time.Timer
		if until.After(now) {
			t = time.NewTimer(until.Sub(now))
			timeUp = t.C
		}
		var err error
		select {
		case <-timeUp:
		case <-changed:
		case <-freed:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return nil, err
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// resize makes t a request of cost units, fewer than it was let go for
// (the units it took from the buckets stay taken: a little slower, never
// faster).
func (p *pacer) resize(t *ticket, cost int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight += cost - t.cost
	t.cost = cost
}

// answered learns from the answer to a request the pacer let go: its
// rate-limit headers, whether it was accepted or refused with a 429.
func (p *pacer) answered(t *ticket, err error, rl cloudflare.RateLimit) {
	p.token.ended()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.inflight -= t.cost
	p.observe(now, rl)
	apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
	switch {
	case err == nil:
		p.accepted += float64(t.cost)
		if p.ladder != nil {
			p.ladder.accepted(p, t, now)
		}
	case isAPI && apiErr.RateLimited():
		p.limited(t, now)
	}
	if t.probe && p.ladder != nil {
		p.ladder.probesOut--
		p.wake()
	}
}

// limited learns from a 429: the server's bucket was empty.
func (p *pacer) limited(t *ticket, now time.Time) {
	// A request sent before the last 429 came back was already on its way
	// when the pacer learned the bucket was empty: its 429 is part of the
	// same episode and teaches nothing new.
	if t.sent.Before(p.lastLimited) {
		return
	}
	p.lastLimited = now
	causedByProbe := p.ladder != nil && p.ladder.probeCaused(t)
	if !p.episodeAt.IsZero() && !causedByProbe {
		// The bucket was empty at both ends of the episode gap, so what
		// it accepted in between is what it refilled: its rate, or less
		// (when it was full a while and overflowed).
		if span := now.Sub(p.episodeAt).Seconds(); span > 0 && p.accepted > 0 {
			p.estimate(p.accepted / span)
		}
	}
	p.episodeAt, p.accepted = now, 0
	empty(p.planned, now)
	empty(p.estimated, now)
	if p.ladder != nil {
		p.ladder.limited(p, t, now, causedByProbe)
	}
}

// estimate paces by measured, a rate measured between two 429 episodes,
// when it is clearly below the rate the pacer paces by now: the server
// kept up with less than it was sent. (A measure near the pace says the
// server kept up, and the 429 came from jitter or the burst after a
// pause: no reason to slow down.)
func (p *pacer) estimate(measured float64) {
	current := math.Inf(1)
	for _, lim := range []*rate.Limiter{p.planned, p.estimated, p.ladderGate()} {
		if lim != nil {
			current = min(current, float64(lim.Limit()))
		}
	}
	if measured >= current*plannedMargin {
		return
	}
	perSecond := measured * plannedMargin
	// A bucket of one second's refill: the size of every URL bucket, and
	// what a pause of one second's Retry-After refills.
	p.estimated = p.bucketLimiter(perSecond, int(math.Ceil(perSecond)))
	if p.ladder != nil {
		p.ladder.probing = false
	}
	p.debugf("rate limit: the account's bucket refilled about %.4g %s a second between two 429s; pacing at %.4g a second",
		measured, unitName(p.typ), perSecond)
}

func (p *pacer) ladderGate() *rate.Limiter {
	if p.ladder == nil {
		return nil
	}
	return p.ladder.gate
}

// usePlan paces as for plan from now on, when the pacer did not know it:
// the answer of Options.LookupPlan.
func (p *pacer) usePlan(plan cloudflare.Plan) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	l := p.ladder
	if p.planned != nil || l == nil {
		return
	}
	b := plan.Limits().Bucket(p.typ)
	i := l.find(b)
	if b.PerSecond <= 0 || i < 0 {
		p.debugf("plan lookup: plan %q has no documented purge limits; learning them from the answers", plan)
		return
	}
	if i < l.h {
		// Documented limits are not always the account's: trust what the
		// server accepted over what the plan's name implies.
		p.debugf("plan lookup: plan %q, but the account accepted more than its bucket allows; learning the limits from the answers", plan)
		return
	}
	lim := p.bucketLimiter(b.PerSecond*plannedMargin, b.Burst)
	setTokens(lim, now, l.levels[i].model.at(now)-float64(p.inflight))
	p.planned, p.ladder = lim, nil
	p.debugf("plan lookup: plan %q; pacing at %s", plan, describeRate(b, p.typ))
	p.wake()
}

// recordLookup counts a lookup in the API window: the global limit counts
// every call of the token.
func (tl *tokenLimits) recordLookup() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.window.record(time.Now())
}

// pause holds back every request to the account for d from now (a 429,
// or a bucket the server says is empty). A later end never moves the
// gate earlier.
func (p *pacer) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := time.Now().Add(d); until.After(p.pausedUntil) {
		p.pausedUntil = until
	}
}

// observe learns from an answer's rate-limit headers. Callers hold mu.
func (p *pacer) observe(now time.Time, rl cloudflare.RateLimit) {
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
