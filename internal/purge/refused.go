// What becomes of a piece Cloudflare refused with an error that may be
// about its targets: a named target set aside, halves, the brake.

package purge

import (
	"errors"
	"slices"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

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
	default:
		mid := (n + 1) / 2
		h := &split{size: n}
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
// about their size: n is above the size known to work on every plan
// (cloudflare.DefaultFilesPerRequest) and above every size that went
// through in this run. Callers hold mu.
func (r *runner) sizeInDoubt(n int) bool {
	return n > cloudflare.DefaultFilesPerRequest && n > r.maxOK
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
