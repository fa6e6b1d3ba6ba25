// What becomes of a piece Cloudflare refused with an error that may be
// about its targets: a named target set aside, pieces of the safe size
// when the size may be the cause, halves, the brake.

package purge

import (
	"errors"
	"slices"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// split is a refused piece whose parts are being sent: its halves, or,
// when its size may have been the cause (sizeInDoubt), pieces of
// cloudflare.SafeBatchSize. A part refused without a named target waits
// (parked) for its siblings' answers: when every part is refused alike,
// the error is about neither one target nor the size, and none is split
// further.
type split struct {
	size     int  // targets of the refused piece
	parts    int  // pieces it was cut into
	ok       int  // parts that went through in one request
	answered int  // parts whose answer is in (or that were cut)
	alike    bool // every part answered so far was refused alike, none naming a target
	first    error
	parked   []parkedPart
	// trial: the refused piece was the size trial (runner.trials), which
	// goes on until every part is answered.
	trial bool
}

// parkedPart is a refused part waiting for its siblings' answers.
type parkedPart struct {
	pc  piece
	b   Batch
	err error
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
// refused with err, an error that may be about its targets. A part of a
// split waits for its siblings' answers: when all were refused alike,
// none is split further and every one fails with its refusal. Waiting
// can only spare the parts when a sibling's answer could stop them: not
// when this refusal names a target. (No part's size is in doubt: pieces
// in doubt are cut to cloudflare.SafeBatchSize, not halved.) Callers hold
// mu.
func (r *runner) refused(pc piece, b Batch, err error) {
	h := pc.half
	if h == nil {
		r.decide(pc, b, err)
		return
	}
	switch {
	case r.namedTarget(b, err) >= 0:
		h.alike = false
	case h.first == nil:
		h.first = err
	case !sameError(h.first, err):
		h.alike = false
	}
	if h.alike {
		h.parked = append(h.parked, parkedPart{pc: pc, b: b, err: err})
		r.partAnswered(h)
		return
	}
	r.partAnswered(h)
	r.decide(pc, b, err)
}

// partNotRefused notes that a part of h was answered otherwise than by a
// refusal about its targets (or was cut to a learned size): its parked
// siblings, if any, go on alone. Callers hold mu.
func (r *runner) partNotRefused(h *split) {
	h.alike = false
	r.partAnswered(h)
}

// partAnswered counts another part of h answered, and decides the parked
// ones once waiting can no longer spare them: at once when not every part
// was refused alike, else, when the last is in, by failing every one.
// The size trial h carries ends with its last answer. Callers hold mu.
func (r *runner) partAnswered(h *split) {
	h.answered++
	last := h.answered == h.parts
	if !h.alike || last {
		parked := h.parked
		h.parked = nil
		for _, p := range parked {
			if h.alike {
				r.fail(p.pc, p.err)
			} else {
				r.decide(p.pc, p.b, p.err)
			}
		}
	}
	if last && h.trial {
		r.trials--
	}
}

// decide ends refused piece pc (sending b): a target Cloudflare's message
// names is rejected and the rest sent again at once, in one request; a
// lone target is rejected; a piece whose size may have been the cause
// (sizeInDoubt) is cut into pieces of cloudflare.SafeBatchSize; any other
// piece is split in halves. With the brake on, nothing is split: the
// piece fails with err. Callers hold mu.
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
			r.enqueue(s.lane, false, piece{slot: pc.slot, offs: rest, cause: err})
			s.pending++
		}
		return
	}
	switch n := len(pc.offs); {
	case n == 1:
		s.rejected = append(s.rejected, placed[Rejection]{pc.offs[0], Rejection{Target: b.Targets[0], Err: err}})
	case r.braked():
		s.errs = append(s.errs, placed[error]{pc.at(), err})
	case r.sizeInDoubt(n):
		// Not a halving: the size every plan has taken for years, so that
		// an account that takes no more costs one refusal, not one a
		// halving, and is then sent requests of the most it takes.
		h := &split{size: n, alike: true, trial: pc.trial}
		var parts []piece
		for lo := 0; lo < n; lo += cloudflare.SafeBatchSize {
			parts = append(parts, piece{slot: pc.slot, offs: pc.offs[lo:min(lo+cloudflare.SafeBatchSize, n)], half: h, cause: err})
		}
		h.parts = len(parts)
		if h.trial {
			r.trials++ // the trial goes on in the parts (end ends pc's)
		}
		slices.Reverse(parts) // the front is sent last first
		r.enqueue(s.lane, false, parts...)
		s.pending += len(parts)
	default:
		mid := (n + 1) / 2
		h := &split{size: n, parts: 2, alike: true}
		r.enqueue(s.lane, false,
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
// about their size: n is above the size every plan has taken for years
// (cloudflare.SafeBatchSize) and above every size that went through in
// this run. Callers hold mu.
func (r *runner) sizeInDoubt(n int) bool {
	return n > cloudflare.SafeBatchSize && n > r.maxOK
}

// sameError reports whether two refusals say the same: same status,
// codes and messages.
func sameError(a, b error) bool { return a.Error() == b.Error() }

// splittable reports whether err may be about some targets of the
// request (an invalid URL, too many targets), so that splitting the
// batch gets the others through (cloudflare.APIError.AboutTargets).
func splittable(err error) bool {
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	return ok && apiErr.AboutTargets()
}
