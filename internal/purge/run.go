package purge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/pace"
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
// A batch refused with a 400 that may be about its targets (not about
// authentication, the rate limit, the path or the body's keys: see
// splittable) is not given up whole:
//
//   - when Cloudflare's message names one of its targets ("Unable to
//     purge <url>, which is an invalid URL."), that target is Rejected and
//     the rest is sent again at once, in one request;
//   - otherwise it is split in halves, each sent on its own (paced like
//     any request), again and again, until the targets Cloudflare refuses
//     stand alone: those are Rejected, every other target is purged. That
//     costs at most about 2·log2(batch size) extra requests per rejected
//     target. When both halves of a piece are refused alike (same status,
//     codes and messages) the error is about no one target: neither is
//     split further and both fail with Cloudflare's answer, so trying
//     costs two requests (unless their size may be the cause: see
//     sizeInDoubt);
//   - after brakeAfter(Concurrency) refusals in a row with no success
//     between, nothing refused is split or sent again any more (braked):
//     the rest of each refused batch fails with Cloudflare's answer, and
//     each batch not yet sent costs one request.
//
// When both halves of a refused batch go through, the batch's size was
// the problem, not a target: every request after that is cut to the
// largest size that worked (Outcome.LearnedBatchSize), so the size is
// found once, not again for every batch.
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
	r := &runner{sender: sender, opts: opts, jobs: jobs, okSizes: map[int]bool{}, brake: brakeAfter(opts.Concurrency)}
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
	index := map[bucketKey]int{}
	longest := 0
	for _, job := range jobs {
		for _, b := range job.Batches {
			longest = max(longest, len(b.Targets))
		}
	}
	whole := sequence(longest)
	for j, job := range jobs {
		key := bucketKey{job.Account, job.Plan}
		i, ok := index[key]
		if !ok {
			i = len(accounts)
			index[key] = i
			accounts = append(accounts, account{lane: &lane{account: job.Account, plan: job.Plan, zoneID: job.Scope.ZoneID}, maxCost: 1})
		}
		a := &accounts[i]
		for _, b := range job.Batches {
			cost := cloudflare.Cost(b.Type, b.Count())
			a.maxCost = max(a.maxCost, cost)
			a.units += cost
			r.slots = append(r.slots, slot{res: BatchResult{Job: j, Batch: b}, pending: 1, lane: a.lane})
			a.lane.queue = append(a.lane.queue, piece{slot: len(r.slots) - 1, offs: whole[:len(b.Targets):len(b.Targets)]})
		}
	}
	limiter := pace.New(opts.Concurrency, opts.Deadline)
	for _, a := range accounts {
		a.lane.debugf = opts.Debugf
		if len(accounts) > 1 {
			a.lane.debugf = withPrefix(accountName(a.lane.account)+": ", opts.Debugf)
		}
		limits := opts.Limits
		if a.lane.plan != cloudflare.PlanUnknown {
			limits = a.lane.plan.Limits()
		}
		a.lane.pacer = limiter.Account(limits.Bucket(typ), typ, a.maxCost, a.lane.debugf)
	}

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	var lookups []<-chan struct{}
	for _, a := range accounts {
		lookups = append(lookups, r.lookupPlan(ctx, a.lane, limiter, typ, a.units))
	}
	var wg sync.WaitGroup
	for _, a := range accounts {
		for range max(opts.Concurrency, 1) {
			wg.Go(func() { r.work(ctx, a.lane) }) // workers report through the slots
		}
	}
	wg.Wait()
	stop(nil) // lookups still out are of no use now
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
func (r *runner) lookupPlan(ctx context.Context, ln *lane, limiter *pace.Limiter, typ cloudflare.PurgeType, units int) <-chan struct{} {
	done := make(chan struct{})
	smallest := 0
	for i, plan := range cloudflare.Plans {
		if b := plan.Limits().Bucket(typ).Burst; i == 0 || b < smallest {
			smallest = b
		}
	}
	if r.opts.LookupPlan == nil || ln.pacer.Known() || units <= smallest {
		close(done)
		return done
	}
	limiter.RecordLookup()
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
			ln.pacer.UsePlan(plan)
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
	maxOK      int
	minRefused int
	size       int

	// refusals counts requests refused about their targets since the last
	// one that went through; at brake, nothing is split any more (braked).
	refusals, brake int

	doneMu sync.Mutex // serialises OnDone
}

// lane is one account's share of the run: its pacer and its pieces,
// sent by workers of its own. The pieces are the runner's (under its mu).
type lane struct {
	account string
	zoneID  string          // of the account's first job: what LookupPlan is asked about
	plan    cloudflare.Plan // Job.Plan of its jobs
	pacer   *pace.Account
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

// piece is the part of a batch one request sends: the targets at offs of
// the slot's batch, ascending (none when it purges everything).
type piece struct {
	slot int
	offs []int
	half *split // non-nil when it is a half of a refused piece
	// cause is the refusal the piece was born of (as a half, or as the
	// rest of a piece whose named target was set aside); nil for a batch
	// as given and its cuts.
	cause error
}

// at is the offset of the piece's first target, for target order.
func (pc piece) at() int {
	if len(pc.offs) == 0 {
		return 0
	}
	return pc.offs[0]
}

// split is a refused piece whose halves are being sent. The first half
// refused waits (parked) for its sibling's answer: when both are refused
// alike, the error is about neither one target nor the size, and neither
// is split further.
type split struct {
	size     int   // targets of the refused piece
	ok       int   // halves that went through in one request
	answered int   // halves whose answer is in (or that were cut)
	first    error // the refusal of the half answered first; nil if it was not refused
	parked   *parkedHalf
}

// parkedHalf is a refused half waiting for its sibling's answer.
type parkedHalf struct {
	pc piece
	b  Batch
}

// sequence is 0, 1, 2 …: the offsets of a whole batch, shared read-only
// by every piece that sends one.
func sequence(n int) []int {
	seq := make([]int, n)
	for i := range seq {
		seq[i] = i
	}
	return seq
}

// work sends ln's pieces until none is left.
func (r *runner) work(ctx context.Context, ln *lane) {
	for {
		pc, unsent, ok := r.next(ln)
		if !ok {
			return
		}
		b := r.batchOf(pc)
		switch {
		case unsent != nil:
			r.end(pc, b, 0, "", unsent)
			continue
		case ctx.Err() != nil:
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
// may yet be split; false when every piece of ln has ended. A non-nil
// error says not to send the piece but to end it with that error: it was
// born of a refusal while the brake is on (see braked).
func (r *runner) next(ln *lane) (piece, error, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if pc, ok := r.pop(ln); ok {
			ln.busy++
			if pc.cause != nil && r.braked() {
				return pc, pc.cause, true
			}
			return pc, nil, true
		}
		if ln.busy == 0 {
			return piece{}, nil, false
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
	if r.size == 0 || len(pc.offs) <= r.size {
		return false
	}
	var rest []piece
	for lo := r.size; lo < len(pc.offs); lo += r.size {
		rest = append(rest, piece{slot: pc.slot, offs: pc.offs[lo:min(lo+r.size, len(pc.offs))], cause: pc.cause})
	}
	s := &r.slots[pc.slot]
	s.pending += len(rest)
	for i := len(rest) - 1; i >= 0; i-- {
		s.lane.front = append(s.lane.front, rest[i])
	}
	if h := pc.half; h != nil {
		// Its halves no longer go whole: the sibling decides alone.
		r.halfNotRefused(h)
	}
	pc.offs, pc.half = pc.offs[:r.size], nil
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
	lo, hi := pc.offs[0], pc.offs[len(pc.offs)-1]+1
	if hi-lo == len(pc.offs) { // contiguous: no copy
		return Batch{Index: b.Index, Type: b.Type, Targets: b.Targets[lo:hi:hi]}
	}
	targets := make([]cloudflare.Target, len(pc.offs))
	for i, off := range pc.offs {
		targets[i] = b.Targets[off]
	}
	return Batch{Index: b.Index, Type: b.Type, Targets: targets}
}

// end records how piece pc (sending b, in attempts requests) ended,
// decides what becomes of it when Cloudflare refused its targets (see
// refused), and reports its batch once every piece has ended.
func (r *runner) end(pc piece, b Batch, attempts int, id string, err error) {
	r.mu.Lock()
	s := &r.slots[pc.slot]
	s.res.Attempts += attempts
	switch {
	case err == nil:
		r.refusals = 0
		s.ids = append(s.ids, placed[string]{pc.at(), id})
		s.res.Purged += b.Count()
		if n := len(b.Targets); n > 0 {
			r.okSizes[n] = true
			r.maxOK = max(r.maxOK, n)
		}
		if h := pc.half; h != nil {
			if h.ok++; h.ok == 2 {
				r.learnSize(h.size)
			}
			r.halfNotRefused(h)
		}
		s.pending--
	case attempts > 0 && len(pc.offs) > 0 && splittable(err):
		if r.refusals++; r.refusals == r.brake {
			r.opts.Debugf("splitting stopped: %d requests in a row were refused with no success between; the rest of each refused batch fails with Cloudflare's answer", r.refusals)
		}
		r.refused(pc, b, err)
	default:
		r.fail(pc, err)
		if h := pc.half; h != nil {
			r.halfNotRefused(h)
		}
	}
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

// braked reports whether so many requests in a row were refused, with no
// success between, that nothing refused is split any more: when every
// target is refused, splitting would spend the token's API allowance
// (1,200 requests in 5 minutes, shared with every other tool on it) for
// nothing. Callers hold mu.
func (r *runner) braked() bool { return r.refusals >= r.brake }

// brakeAfter is how many refusals in a row engage the brake with
// concurrency requests in flight: a margin, plus the requests in flight
// when the first refusal comes back and their halves, which are all
// refused before any answer can show that a smaller size goes through
// (learning the batch size).
func brakeAfter(concurrency int) int { return 16 + 2*max(concurrency, 1) }

// refused decides what becomes of piece pc (sending b), which Cloudflare
// refused with err, an error that may be about its targets. A half waits
// for its sibling's answer: when both were refused alike, and their size
// cannot be the cause, neither is split further and both fail with err.
// Callers hold mu.
func (r *runner) refused(pc piece, b Batch, err error) {
	if h := pc.half; h != nil {
		h.answered++
		if h.answered == 1 {
			h.first = err
			// Waiting can only spare its halves when the sibling's answer
			// could stop them: not when a target is named, nor when the
			// size may be the cause (they are split whatever the sibling
			// says, and waiting would only slow learning the size).
			if r.namedTarget(b, err) < 0 && !r.sizeInDoubt(len(pc.offs)) {
				h.parked = &parkedHalf{pc: pc, b: b}
				return
			}
		} else {
			other, parked := h.first, h.parked
			h.parked = nil
			if other != nil && sameError(other, err) && !r.sizeInDoubt(len(pc.offs)) {
				r.fail(pc, err)
				if parked != nil {
					r.fail(parked.pc, other)
				}
				return
			}
			if parked != nil {
				r.decide(parked.pc, parked.b, other)
			}
		}
	}
	r.decide(pc, b, err)
}

// halfNotRefused notes that a half of h was answered otherwise than by a
// refusal about its targets (or was cut to a learned size), and lets its
// sibling, if parked, go on alone. Callers hold mu.
func (r *runner) halfNotRefused(h *split) {
	h.answered++
	if p := h.parked; p != nil {
		h.parked = nil
		r.decide(p.pc, p.b, h.first)
	}
}

// decide ends refused piece pc (sending b): a target Cloudflare's message
// names is rejected and the rest sent again at once, in one request; a
// lone target is rejected; any other piece is split in halves, unless the
// brake is on (then it fails with err). Callers hold mu.
func (r *runner) decide(pc piece, b Batch, err error) {
	s := &r.slots[pc.slot]
	s.pending--
	if i := r.namedTarget(b, err); i >= 0 {
		s.rejected = append(s.rejected, placed[Rejection]{pc.offs[i], Rejection{Target: b.Targets[i], Err: err}})
		rest := slices.Delete(slices.Clone(pc.offs), i, i+1)
		switch {
		case len(rest) == 0:
		case r.braked():
			s.errs = append(s.errs, placed[error]{rest[0], err})
		default:
			s.lane.front = append(s.lane.front, piece{slot: pc.slot, offs: rest, cause: err})
			s.pending++
		}
		return
	}
	switch n := len(pc.offs); {
	case n == 1:
		s.rejected = append(s.rejected, placed[Rejection]{pc.offs[0], Rejection{Target: b.Targets[0], Err: err}})
	case r.braked():
		s.errs = append(s.errs, placed[error]{pc.at(), err})
	default:
		mid := (n + 1) / 2
		h := &split{size: n}
		s.lane.front = append(s.lane.front,
			piece{slot: pc.slot, offs: pc.offs[mid:], half: h, cause: err},
			piece{slot: pc.slot, offs: pc.offs[:mid], half: h, cause: err})
		s.pending += 2
	}
}

// fail ends piece pc with err: none of its targets was purged. Callers
// hold mu.
func (r *runner) fail(pc piece, err error) {
	s := &r.slots[pc.slot]
	s.errs = append(s.errs, placed[error]{pc.at(), err})
	s.pending--
}

// namedTarget is the index in b of the target that err's message names as
// refused (cloudflare.APIError.NamedTarget), or -1.
func (r *runner) namedTarget(b Batch, err error) int {
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	if !ok {
		return -1
	}
	name := apiErr.NamedTarget()
	if name == "" {
		return -1
	}
	return slices.IndexFunc(b.Targets, func(t cloudflare.Target) bool { return t.Value == name })
}

// sizeInDoubt reports whether a refusal of requests of n targets may be
// about their size: n is above the size known to work on every plan
// (cloudflare.DefaultFilesPerRequest) and above every size that went
// through in this run. Callers hold mu.
func (r *runner) sizeInDoubt(n int) bool {
	return n > cloudflare.DefaultFilesPerRequest && n > r.maxOK
}

// sameError reports whether two refusals say the same: same status,
// codes and messages.
func sameError(a, b error) bool { return a.Error() == b.Error() }

// sorted lists the values in target order.
func sorted[T any](ps []placed[T]) []T {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b placed[T]) int { return cmp.Compare(a.at, b.at) })
	out := make([]T, len(ps))
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
func (r *runner) send(ctx context.Context, p *pace.Account, job Job, pc *piece, b *Batch) (attempts int, id string, last error) {
	bo := r.opts.NewBackOff()
	for {
		if ctx.Err() != nil {
			return attempts, "", r.waitError(ctx, ctx.Err(), last)
		}
		cost := cloudflare.Cost(b.Type, b.Count())
		t, err := p.Wait(ctx, cost)
		if err != nil {
			return attempts, "", r.waitError(ctx, err, last)
		}
		if r.recut(pc, b) {
			p.Resize(t, cloudflare.Cost(b.Type, b.Count()))
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
		p.Answered(t, pace.Answer{Accepted: err == nil, Limited: isAPI && apiErr.RateLimited(), RateLimit: rl})
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
			return attempts, "", fmt.Errorf("%w; %w", err, &DeadlineError{Reason: reason, Wait: delay, Left: left})
		}
		if isAPI && apiErr.RateLimited() {
			// The bucket is the account's, not this worker's: every request
			// to the account waits.
			p.Pause(delay, cloudflare.Cost(b.Type, b.Count()))
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
	return !errors.Is(err, context.Canceled)
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

// bucketKey names a purge bucket: Cloudflare's buckets are the account's,
// and zones of one plan in one account share one.
type bucketKey struct {
	account string
	plan    cloudflare.Plan
}

// DeadlineError says a wait (Retry-After, backoff or pacing) would end
// after the run's timeout, so the batch failed at once instead.
type DeadlineError = pace.DeadlineError

// TimedOut reports whether err means the run's timeout was, or would
// have been, passed.
func TimedOut(err error) bool { return pace.TimedOut(err) }

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
