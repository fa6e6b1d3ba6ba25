package purge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"golang.org/x/sync/errgroup"
)

// Sender sends one request; *cloudflare.Client is one.
type Sender interface {
	Send(ctx context.Context, r cloudflare.Request) (cloudflare.Result, error)
}

// attemptTimeout bounds one request, so that a server that accepts the
// connection and never answers costs one retry, not the whole run.
const attemptTimeout = 60 * time.Second

// Options say how to send the batches.
type Options struct {
	// Concurrency is the most requests in flight at once (at least 1),
	// to every account together.
	Concurrency int
	// MaxRetries is how often one request is sent again after a 429, a
	// 5xx or a network error.
	MaxRetries int
	// Limits are the plan's; their rates pace requests from the first one,
	// each account (Job.Account) by its own bucket of them. Without rates
	// for the run's purge type (the plan is unknown), each account's pacer
	// learns its bucket from the answers (learn.go).
	Limits cloudflare.Limits
	// Deadline is when the run must be over; waits that would end after
	// it fail at once instead.
	Deadline time.Time
	// NewBackOff gives each request its own retry delays; nil means
	// exponential from 1 s (×2, ±50% jitter, at most 60 s).
	NewBackOff func() BackOff
	// OnDone, if set, is called once per batch given to Run, when every
	// request for it has ended, one call at a time.
	OnDone func(BatchResult)
	// LookupPlan, if set, is asked for the plan of the account zoneID
	// belongs to (GET /zones/{zone_id}'s plan.legacy_id, say), once per
	// account (Job.Account) with the ZoneID of its first job, when Limits
	// has no rates for the run's purge type and the account's jobs hold
	// more units than the smallest plan's bucket (more than Free's 800
	// URLs or 25 requests): fewer never need pacing. It runs concurrently
	// with the first requests (see Run). A known plan it returns paces the
	// rest of that account's requests as if Limits had been that plan's;
	// an error, or a plan with no documented limits, only makes a Debugf
	// line, and the account's pacer goes on learning from the answers.
	LookupPlan func(ctx context.Context, zoneID string) (cloudflare.Plan, error)
	// Debugf, if set, receives debug lines, one call at a time: what the
	// pacer learned of the account's limits, the plan lookup's answer or
	// why it failed, a learned batch size. When the jobs span several
	// accounts, an account's lines begin with its name ("account ID: ").
	Debugf func(format string, args ...any)
}

// Rejection is one target that Cloudflare refused on its own: sent alone,
// it got a 400 that is about the request's content (see Run).
type Rejection struct {
	Target cloudflare.Target
	Err    error // the *cloudflare.APIError, with Cloudflare's message
}

// BatchResult is how one of the batches given to Run ended. There is one
// per batch given to Run, whatever became of it: Batch is that batch as
// given (Batch.Index its index in its job's Batches), even when its
// targets went in several requests (halves of a refused batch, or pieces
// of a batch larger than a learned batch size).
//
// Every target of Batch is in exactly one of three parts:
//
//   - purged: Purged targets, in requests Cloudflare confirmed (a 2xx
//     with "success": true and a result.id). Purging everything counts 1.
//   - rejected: len(Rejected) targets, each refused when sent alone, in
//     target order, with Cloudflare's error; they were not purged.
//   - failed: Batch.Count() − Purged − len(Rejected) targets, not purged
//     for another reason (an error that splitting cannot get round, a
//     timeout, retries exhausted, the run stopped). Err says why, and is
//     nil exactly when no target failed. When parts of the batch failed
//     for different reasons, Err is that of the first in target order.
//
// So Purged + len(Rejected) + failed == Batch.Count(), and summing
// Purged over the results gives the targets purged.
type BatchResult struct {
	Job   int // index into the jobs given to Run
	Batch Batch
	// IDs are the purge IDs of the requests that purged the batch's
	// targets, in target order: one when it went whole, more when it was
	// split or cut to a learned batch size.
	IDs      []string
	Purged   int
	Rejected []Rejection
	// Attempts counts every request sent for the batch: retries, halves
	// and pieces included (0: never sent).
	Attempts int
	Err      error
}

// Outcome is what Run did.
type Outcome struct {
	// Results has one entry per batch given to Run, in job and then batch
	// order.
	Results []BatchResult
	// LearnedBatchSize is the batch size the account was found to take,
	// when a batch was refused and both its halves then went through: the
	// largest request size that worked below the smallest refused one.
	// Every batch sent after that was cut to it. 0: nothing was learned.
	LearnedBatchSize int
}

// ErrStopped marks batches that were not sent, or were cut short, because
// another request failed authentication: the rest would fail the same way.
var ErrStopped = errors.New("not sent: an earlier request failed authentication")

// BackOff gives the delays between retries of one request.
type BackOff = backoff.BackOff

// DefaultBackOff is the retry delay used when Options.NewBackOff is nil.
func DefaultBackOff() BackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     time.Second,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         60 * time.Second,
	}
}

// Run sends every batch of every job and returns one result per batch
// given. It never gives up on the remaining batches because one failed,
// except after an authentication failure.
//
// The jobs of one account (Job.Account) share that account's pacer and
// are sent in order by up to Options.Concurrency workers of their own, so
// that an account held back by its bucket or a 429 holds back no other;
// the requests in flight (Options.Concurrency) and the API window count
// every account's together.
//
// A batch of several targets refused with a 400 about its content (not
// about authentication, routing or the body's shape: see splittable) is
// split in halves, each sent on its own (paced like any request), again
// and again, until the targets Cloudflare refuses stand alone: those are
// Rejected, every other target is purged. That costs at most about
// 2·log2(batch size) extra requests per rejected target. When both halves
// of a refused batch go through, the batch's size was the problem, not a
// target: every request after that is cut to the largest size that
// worked (Outcome.LearnedBatchSize), so the size is found once, not again
// for every batch.
func Run(ctx context.Context, sender Sender, jobs []Job, opts Options) Outcome {
	if opts.NewBackOff == nil {
		opts.NewBackOff = DefaultBackOff
	}
	if opts.Debugf == nil {
		opts.Debugf = func(string, ...any) {}
	} else {
		// Workers, the pacer and the lookup all write debug lines: one at
		// a time.
		var mu sync.Mutex
		debugf := opts.Debugf
		opts.Debugf = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			debugf(format, args...)
		}
	}
	r := &runner{sender: sender, opts: opts, jobs: jobs, okSizes: map[int]bool{}}
	r.cond = sync.NewCond(&r.mu)
	var typ cloudflare.PurgeType
	if len(jobs) > 0 {
		// Every job of a run has the run's one purge type, so they draw
		// from one bucket of each account's plan.
		typ = jobs[0].Type
	}
	type account struct {
		lane           *lane
		maxCost, units int
	}
	var accounts []account
	index := map[string]int{}
	for j, job := range jobs {
		i, ok := index[job.Account]
		if !ok {
			i = len(accounts)
			index[job.Account] = i
			accounts = append(accounts, account{lane: &lane{account: job.Account, zoneID: job.Scope.Zone().String()}, maxCost: 1})
		}
		a := &accounts[i]
		for _, b := range job.Batches {
			cost := cloudflare.Cost(b.Type, b.Count())
			a.maxCost = max(a.maxCost, cost)
			a.units += cost
			r.slots = append(r.slots, slot{res: BatchResult{Job: j, Batch: b}, pending: 1, lane: a.lane})
			a.lane.queue = append(a.lane.queue, piece{slot: len(r.slots) - 1, lo: 0, hi: len(b.Targets)})
		}
	}
	token := newTokenLimits(opts.Concurrency)
	for _, a := range accounts {
		a.lane.debugf = opts.Debugf
		if len(accounts) > 1 {
			a.lane.debugf = withPrefix(accountName(a.lane.account)+": ", opts.Debugf)
		}
		a.lane.pacer = newPacer(opts.Deadline, typ, opts.Limits.Bucket(typ), a.maxCost, token, a.lane.debugf)
	}

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	var lookups []<-chan struct{}
	for _, a := range accounts {
		lookups = append(lookups, r.lookupPlan(ctx, a.lane, token, typ, a.units))
	}
	var g errgroup.Group
	for _, a := range accounts {
		for range max(opts.Concurrency, 1) {
			g.Go(func() error {
				r.work(ctx, a.lane)
				return nil
			})
		}
	}
	_ = g.Wait() // workers report through the slots, never through errors
	stop(nil)    // lookups still out are of no use now
	for _, done := range lookups {
		<-done
	}

	results := make([]BatchResult, len(r.slots))
	for i := range r.slots {
		results[i] = r.slots[i].res
	}
	return Outcome{Results: results, LearnedBatchSize: r.size}
}

// accountName names an account in debug lines.
func accountName(account string) string {
	if account == "" {
		return "the zones of an unknown account"
	}
	return "account " + account
}

// withPrefix writes every line of debugf after prefix.
func withPrefix(prefix string, debugf func(string, ...any)) func(string, ...any) {
	return func(format string, args ...any) { debugf(prefix+format, args...) }
}

// lookupPlan asks Options.LookupPlan for the plan of ln's account when
// its pacer does not know it and the account's units (of the run's purge
// type) are more than the smallest plan's bucket. It runs beside the
// first requests rather than before them: until the smallest plan's
// bucket is spent the pacer sends nothing any plan would refuse, and it
// goes past that bucket only one probe at a time, so waiting for the
// answer would cost a round trip and spare nothing. The returned channel
// is closed when the lookup is over.
func (r *runner) lookupPlan(ctx context.Context, ln *lane, token *tokenLimits, typ cloudflare.PurgeType, units int) <-chan struct{} {
	done := make(chan struct{})
	smallest := 0
	for i, plan := range cloudflare.Plans {
		if b := plan.Limits().Bucket(typ).Burst; i == 0 || b < smallest {
			smallest = b
		}
	}
	if r.opts.LookupPlan == nil || ln.pacer.ladder == nil || units <= smallest {
		close(done)
		return done
	}
	token.recordLookup()
	go func() {
		defer close(done)
		lctx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		plan, err := r.opts.LookupPlan(lctx, ln.zoneID)
		switch {
		case err != nil && ctx.Err() != nil:
			ln.debugf("plan lookup: not answered before the purge ended")
		case err != nil:
			ln.debugf("plan lookup failed, learning the purge limits from the answers instead: %v", err)
		default:
			ln.pacer.usePlan(plan)
		}
	}()
	return done
}

type runner struct {
	sender Sender
	opts   Options
	jobs   []Job
	stop   context.CancelCauseFunc

	mu    sync.Mutex
	cond  *sync.Cond // signalled when a piece ends: there may be more to send, or nothing left
	slots []slot     // one per batch given to Run

	// Batch size learning: the sizes of requests that went through, the
	// smallest size refused when both its halves then went through, and
	// the size learned from them (0: none).
	okSizes    map[int]bool
	minRefused int
	size       int

	doneMu sync.Mutex // serialises OnDone
}

// lane is one account's share of the run: its pacer and its pieces,
// sent by workers of its own. The pieces are the runner's (under its mu).
type lane struct {
	account string
	zoneID  string // of the account's first job: what LookupPlan is asked about
	pacer   *pacer
	debugf  func(format string, args ...any)

	queue []piece // the account's batches, in order
	head  int     // queue[head:] are not taken yet
	front []piece // pieces to send before queue[head:], last first
	busy  int     // pieces taken and not ended
}

// slot gathers what became of one batch given to Run.
type slot struct {
	res      BatchResult
	lane     *lane
	pending  int // pieces of it not ended yet
	ids      []placed[string]
	rejected []placed[Rejection]
	errs     []placed[error]
}

// placed is something at a target offset of a batch, for target order.
type placed[T any] struct {
	at int
	v  T
}

// piece is the part of a batch one request sends: targets[lo:hi] of the
// slot's batch (the whole batch when it purges everything).
type piece struct {
	slot   int
	lo, hi int
	half   *split // non-nil when it is a half of a refused piece
}

// split is a refused piece whose halves are being sent.
type split struct {
	size int // targets of the refused piece
	ok   int // halves that went through in one request
}

// work sends ln's pieces until none is left.
func (r *runner) work(ctx context.Context, ln *lane) {
	for {
		pc, ok := r.next(ln)
		if !ok {
			return
		}
		b := r.batchOf(pc)
		if ctx.Err() != nil {
			r.end(pc, b, 0, "", stopReason(ctx))
			continue
		}
		attempts, id, err := r.send(ctx, ln.pacer, r.jobs[r.slots[pc.slot].res.Job], &pc, &b)
		r.end(pc, b, attempts, id, err)
		if err != nil && isAuthFailure(err) {
			r.stop(ErrStopped)
		}
	}
}

// next takes ln's next piece to send, waiting while its pieces in flight
// may yet be split; false when every piece of ln has ended.
func (r *runner) next(ln *lane) (piece, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if pc, ok := r.pop(ln); ok {
			ln.busy++
			return pc, true
		}
		if ln.busy == 0 {
			return piece{}, false
		}
		r.cond.Wait()
	}
}

// pop takes ln's next piece, cut to the learned batch size: halves of a
// refused piece first, then the batches in order. Callers hold mu.
func (r *runner) pop(ln *lane) (piece, bool) {
	var pc piece
	switch {
	case len(ln.front) > 0:
		pc = ln.front[len(ln.front)-1]
		ln.front = ln.front[:len(ln.front)-1]
	case ln.head < len(ln.queue):
		pc = ln.queue[ln.head]
		ln.head++
	default:
		return piece{}, false
	}
	r.cut(&pc)
	return pc, true
}

// cut shortens pc to the learned batch size, if it is larger, and queues
// the rest of it in pieces of that size, to go next. Callers hold mu.
func (r *runner) cut(pc *piece) bool {
	if r.size == 0 || pc.hi-pc.lo <= r.size {
		return false
	}
	var rest []piece
	for lo := pc.lo + r.size; lo < pc.hi; lo += r.size {
		rest = append(rest, piece{slot: pc.slot, lo: lo, hi: min(lo+r.size, pc.hi)})
	}
	s := &r.slots[pc.slot]
	s.pending += len(rest)
	for i := len(rest) - 1; i >= 0; i-- {
		s.lane.front = append(s.lane.front, rest[i])
	}
	pc.hi, pc.half = pc.lo+r.size, nil
	return true
}

// recut cuts a piece that was waiting for the pacer when a batch size was
// learned (see cut), and returns what it sends now.
func (r *runner) recut(pc *piece, b *Batch) bool {
	r.mu.Lock()
	cut := r.cut(pc)
	if cut {
		r.cond.Broadcast()
	}
	r.mu.Unlock()
	if cut {
		*b = r.batchOf(*pc)
	}
	return cut
}

// batchOf is what piece pc sends, as a batch of the original's index.
func (r *runner) batchOf(pc piece) Batch {
	b := r.slots[pc.slot].res.Batch
	if b.Type == cloudflare.Everything {
		return b
	}
	return Batch{Index: b.Index, Type: b.Type, Targets: b.Targets[pc.lo:pc.hi:pc.hi]}
}

// end records how piece pc (sending b) ended, splits it when Cloudflare
// refused its content, and reports its batch once every piece has ended.
func (r *runner) end(pc piece, b Batch, attempts int, id string, err error) {
	n := len(b.Targets)
	r.mu.Lock()
	s := &r.slots[pc.slot]
	s.res.Attempts += attempts
	switch {
	case err == nil:
		s.ids = append(s.ids, placed[string]{pc.lo, id})
		s.res.Purged += b.Count()
		if n > 0 {
			r.okSizes[n] = true
		}
		if h := pc.half; h != nil {
			if h.ok++; h.ok == 2 {
				r.learnSize(h.size)
			}
		}
	case n > 1 && splittable(err):
		mid := pc.lo + (n+1)/2
		h := &split{size: n}
		s.lane.front = append(s.lane.front, piece{slot: pc.slot, lo: mid, hi: pc.hi, half: h}, piece{slot: pc.slot, lo: pc.lo, hi: mid, half: h})
		s.pending += 2
	case n == 1 && splittable(err):
		s.rejected = append(s.rejected, placed[Rejection]{pc.lo, Rejection{Target: b.Targets[0], Err: err}})
	default:
		s.errs = append(s.errs, placed[error]{pc.lo, err})
	}
	s.pending--
	s.lane.busy--
	r.cond.Broadcast()
	var res BatchResult
	finished := s.pending == 0
	if finished {
		s.res.IDs = sorted(s.ids)
		s.res.Rejected = sorted(s.rejected)
		if errs := sorted(s.errs); len(errs) > 0 {
			s.res.Err = errs[0]
		}
		res = s.res
	}
	r.mu.Unlock()
	if finished && r.opts.OnDone != nil {
		r.doneMu.Lock()
		r.opts.OnDone(res)
		r.doneMu.Unlock()
	}
}

// sorted lists the values in target order.
func sorted[T any](ps []placed[T]) []T {
	if len(ps) == 0 {
		return nil
	}
	out := make([]T, len(ps))
	// Few entries, mostly in order already: insertion sort.
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].at < ps[j-1].at; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	for i, p := range ps {
		out[i] = p.v
	}
	return out
}

// learnSize learns from a refused piece of size targets whose halves both
// went through: the size was the problem. Callers hold mu.
func (r *runner) learnSize(size int) {
	if r.minRefused == 0 || size < r.minRefused {
		r.minRefused = size
	}
	best := 0
	for s := range r.okSizes {
		if s < r.minRefused && s > best {
			best = s
		}
	}
	if best > 0 && best != r.size {
		r.size = best
		r.opts.Debugf("batch size: a request of %d targets was refused and both its halves went through; sending at most %d a request from now on", size, best)
	}
}

// send delivers piece pc (sending b) paced by its account's pacer p,
// retrying what may succeed on a second try, and says how many requests
// it took. A batch size learned while it waited for the pacer cuts pc and
// b.
func (r *runner) send(ctx context.Context, p *pacer, job Job, pc *piece, b *Batch) (attempts int, id string, last error) {
	bo := r.opts.NewBackOff()
	for {
		if ctx.Err() != nil {
			return attempts, "", r.waitError(ctx, ctx.Err(), last)
		}
		cost := cloudflare.Cost(b.Type, b.Count())
		t, err := p.wait(ctx, cost)
		if err != nil {
			return attempts, "", r.waitError(ctx, err, last)
		}
		if r.recut(pc, b) {
			p.resize(t, cloudflare.Cost(b.Type, b.Count()))
		}
		attempts++
		attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
		result, err := r.sender.Send(attemptCtx, job.Request(*b))
		cancel()

		apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
		rl := result.RateLimit
		if isAPI {
			rl = apiErr.RateLimit
		}
		p.answered(t, err, rl)
		if err == nil {
			return attempts, result.ID, nil
		}
		last = err
		if ctx.Err() != nil {
			return attempts, "", r.waitError(ctx, ctx.Err(), err)
		}
		if !retryable(err) {
			return attempts, "", err
		}
		if attempts > r.opts.MaxRetries {
			return attempts, "", fmt.Errorf("gave up after %d attempts: %w", attempts, err)
		}

		delay := bo.NextBackOff()
		if isAPI && apiErr.HasRetryAfter {
			delay = apiErr.RetryAfter
		}
		if left := time.Until(r.opts.Deadline); delay > left {
			reason := "backing off"
			if isAPI && apiErr.HasRetryAfter {
				reason = "the API's Retry-After"
			}
			return attempts, "", fmt.Errorf("%w; %w", err, &DeadlineError{reason: reason, wait: delay, left: left})
		}
		if isAPI && apiErr.Status == http.StatusTooManyRequests {
			// The bucket is the account's, not this worker's: every request
			// to the account waits.
			p.pause(delay)
			continue
		}
		if err := sleep(ctx, delay); err != nil {
			return attempts, "", r.waitError(ctx, err, last)
		}
	}
}

// waitError explains why a batch stopped while waiting: the run was
// stopped after an auth failure, the timeout passed, or a wait would have.
func (r *runner) waitError(ctx context.Context, err, last error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
		return ErrStopped
	}
	err = interrupted(err)
	if last != nil {
		return fmt.Errorf("%w (last attempt: %w)", err, last)
	}
	return err
}

func stopReason(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
		return ErrStopped
	}
	return fmt.Errorf("not sent: %w", interrupted(ctx.Err()))
}

// interrupted words a context error for the log: the timeout input ran
// out, or the run was cancelled (the job was cancelled, or SIGTERM).
func interrupted(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout reached before the purge finished: %w", err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("run cancelled: %w", err)
	}
	return err
}

// retryable: rate limiting, server-side failures and failed round trips
// (connection reset, no answer) may succeed when sent again. A purge is
// idempotent, so sending one twice is harmless.
func retryable(err error) bool {
	if apiErr, ok := errors.AsType[*cloudflare.APIError](err); ok {
		return apiErr.Retryable()
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, cloudflare.ErrIncompleteScope)
}

func isAuthFailure(err error) bool {
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	return ok && apiErr.AuthFailure()
}

// splittable reports whether err may be about some targets of the
// request (an invalid URL, too many targets), so that splitting the
// batch gets the others through (cloudflare.APIError.AboutTargets).
func splittable(err error) bool {
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	return ok && apiErr.AboutTargets()
}
