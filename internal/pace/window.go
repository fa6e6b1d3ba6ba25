package pace

import (
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// WindowLimit is the most requests the pacer sends in any
// cloudflare.APIRequestWindow: Margin under Cloudflare's global limit.
const WindowLimit = int(cloudflare.APIRequestLimit * Margin)

// window remembers when the last limit requests went, so that no span of
// time holds more than limit of them: the global API limit is a count in
// a sliding window, which no token bucket expresses without halving the
// rate (a bucket lets size + rate × window through in one window).
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

// record notes a request sent at now. One lock and one clock reading
// decide every request, so times come in order.
func (w *window) record(now time.Time) {
	if len(w.sent) < w.limit {
		w.sent = append(w.sent, now)
		return
	}
	w.sent[w.next] = now
	w.next = (w.next + 1) % w.limit
}
