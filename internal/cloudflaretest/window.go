package cloudflaretest

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// APIWindow is Cloudflare's global API limit, separate from the purge
// buckets and the same on every plan: at most Limit calls of a token in
// any Span (1,200 in 5 minutes), every call counted (purges and lookups
// alike). Cloudflare's docs say that past it every call is refused for
// the next five minutes; so does the fake: the call that goes past Limit,
// and every call in the Span after it, get a 429 (code 971) with
// Retry-After in whole seconds until the block ends. Refused calls do not
// count against the window.
type APIWindow struct {
	Limit int
	Span  time.Duration

	mu       sync.Mutex
	accepted []time.Time // calls let through in the last Span, oldest first
	blocked  time.Time   // calls before it are refused
	limited  int
}

// NewAPIWindow is Cloudflare's global API limit: 1,200 calls in any 5
// minutes.
func NewAPIWindow() *APIWindow { return &APIWindow{Limit: 1200, Span: 5 * time.Minute} }

// WithAPIWindow enforces w on every call the fake receives (purges and
// lookups), before any purge bucket.
func WithAPIWindow(w *APIWindow) Option { return func(f *Server) { f.window = w } }

// Limited is how many calls the window refused.
func (w *APIWindow) Limited() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limited
}

// take counts a call made now, or returns the 429 to send.
func (w *APIWindow) take(now time.Time) (Response, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	drop := 0
	for drop < len(w.accepted) && !now.Before(w.accepted[drop].Add(w.Span)) {
		drop++
	}
	w.accepted = w.accepted[drop:]
	if now.Before(w.blocked) || len(w.accepted) >= w.Limit {
		if !now.Before(w.blocked) {
			w.blocked = now.Add(w.Span)
		}
		w.limited++
		retryAfter := int(math.Max(1, math.Ceil(w.blocked.Sub(now).Seconds())))
		resp := Fail(429, 971, "Please wait and consider throttling your request speed")
		resp.Header = map[string]string{"Retry-After": fmt.Sprint(retryAfter)}
		return resp, false
	}
	w.accepted = append(w.accepted, now)
	return Response{}, true
}
