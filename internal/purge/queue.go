// The queue of each account's pieces (parts of batches, one request
// each), the workers that send them, and what became of each batch.

package purge

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/pace"
)

type runner struct {
	sender Sender
	opts   Options
	jobs   []Job
	// stop ends every wait of the run (pacing, backoff, the queue) with
	// ErrStopped, after an authentication failure. A request already sent
	// is not cut off by it: it goes on under sendCtx, which only the
	// run's own timeout or cancellation ends, so that its answer is
	// accounted as what it was (the server may have purged).
	stop    context.CancelCauseFunc
	sendCtx context.Context

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
	// trials counts size trials under way: a piece whose size is in doubt
	// (sizeInDoubt), from when a worker takes it until it is answered, or,
	// when it is refused and cut into pieces of the safe size, until every
	// piece is. While one is under way no other piece in doubt is taken
	// (next), so that an account that takes fewer targets a request than
	// the batches hold refuses one request, not one per worker.
	trials int

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
	bucket  cloudflare.Rate // the plan's bucket its jobs draw from; zero: unknown
	pacer   *pace.Account
	debugf  func(format string, args ...any)

	queue []piece // the account's batches, in order
	head  int     // queue[head:] are not taken yet
	front []piece // pieces to send before queue[head:], last first
	busy  int     // pieces taken and not ended
	// queued is what the pieces not taken yet cost, in the pacer's units:
	// changed under the runner's mu, read by workers without it, to tell
	// the pacer the work left (pace.Account.Queued).
	queued atomic.Int64
}

// enqueue adds pcs to ln's front (they go next, the last first), or to its
// queue when back is set. Callers hold mu.
func (r *runner) enqueue(ln *lane, back bool, pcs ...piece) {
	for _, pc := range pcs {
		ln.queued.Add(int64(r.units(pc)))
	}
	if back {
		ln.queue = append(ln.queue, pcs...)
		return
	}
	ln.front = append(ln.front, pcs...)
}

// units is what sending pc costs in its bucket's units.
func (r *runner) units(pc piece) int {
	b := r.slots[pc.slot].res.Batch
	return cloudflare.Cost(b.Type, len(pc.offs))
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
	half *split // non-nil when it is a part of a refused piece
	// trial: taken while its size was in doubt, it is the run's size
	// trial (runner.trials).
	trial bool
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

// sequence is 0, 1, 2 …: the offsets of a whole batch, shared read-only
// by every piece that sends one.
func sequence(n int) []int {
	seq := make([]int, n)
	for i := range seq {
		seq[i] = i
	}
	return seq
}

// confirmed records that the targets at offs were confirmed at t.
func (s *slot) confirmed(offs []int, t time.Time) {
	if s.res.First.IsZero() {
		s.res.First = t
	}
	if len(offs) > 0 && s.res.Confirmed == nil {
		s.res.Confirmed = make([]time.Time, len(s.res.Batch.Targets))
	}
	for _, o := range offs {
		s.res.Confirmed[o] = t
	}
}

// work sends ln's pieces until none is left.
func (r *runner) work(ctx context.Context, ln *lane) {
	for {
		pc, unsent, ok := r.next(ln)
		if !ok {
			return
		}
		ln.pacer.Queued(int(ln.queued.Load()))
		b := r.batchOf(pc)
		switch {
		case unsent != nil:
			r.end(pc, b, 0, "", unsent)
			continue
		case ctx.Err() != nil:
			r.end(pc, b, 0, "", r.stopReason(ctx))
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
// may yet be split, and while a size trial is under way when the next
// piece's size is in doubt too; false when every piece of ln has ended.
// A non-nil error says not to send the piece but to end it with that
// error: it was born of a refusal while the brake is on (see braked).
func (r *runner) next(ln *lane) (piece, error, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if n, ok := r.peek(ln); ok && r.trials > 0 && r.sizeInDoubt(n) {
			r.cond.Wait()
			continue
		}
		if pc, ok := r.pop(ln); ok {
			ln.busy++
			if pc.cause != nil && r.braked() {
				return pc, pc.cause, true
			}
			if r.sizeInDoubt(len(pc.offs)) {
				pc.trial = true
				r.trials++
			}
			return pc, nil, true
		}
		if ln.busy == 0 {
			return piece{}, nil, false
		}
		r.cond.Wait()
	}
}

// peek is how many targets ln's next piece would send (cut to the learned
// batch size), without taking it. Callers hold mu.
func (r *runner) peek(ln *lane) (int, bool) {
	var pc piece
	switch {
	case len(ln.front) > 0:
		pc = ln.front[len(ln.front)-1]
	case ln.head < len(ln.queue):
		pc = ln.queue[ln.head]
	default:
		return 0, false
	}
	if r.size > 0 {
		return min(len(pc.offs), r.size), true
	}
	return len(pc.offs), true
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
	ln.queued.Add(-int64(r.units(pc)))
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
	slices.Reverse(rest)
	r.enqueue(s.lane, false, rest...)
	if h := pc.half; h != nil {
		// Its parts no longer go whole: the siblings decide alone.
		r.partNotRefused(h)
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
		s.confirmed(pc.offs, time.Now())
		if n := len(b.Targets); n > 0 {
			r.okSizes[n] = true
			r.maxOK = max(r.maxOK, n)
		}
		if h := pc.half; h != nil {
			if h.ok++; h.ok == h.parts {
				r.learnSize(h.size)
			}
			r.partNotRefused(h)
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
			r.partNotRefused(h)
		}
	}
	if pc.trial {
		r.trials-- // or on in its parts (decide)
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

// learnSize learns from a refused piece of size targets whose parts (its
// halves, or its pieces of the safe size) all went through: the size was
// the problem. Callers hold mu.
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
		r.opts.Debugf("batch size: a request of %d targets was refused and every part of it went through; sending at most %d a request from now on", size, best)
	}
}
