package cloudflaretest

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket like Cloudflare's purge limits: Size units at
// most, refilled at Rate units a second. A files request costs one unit a
// URL when PerItem is set; every other request costs one unit.
type Bucket struct {
	Size    float64
	Rate    float64
	PerItem bool
	// Headers adds Ratelimit and Ratelimit-Policy (IETF draft form, in
	// requests, the draft's unit) to every answer; it needs !PerItem.
	// Without it only a 429 carries `Ratelimit: r=0;t=<Retry-After>`.
	Headers bool

	mu        sync.Mutex
	tokens    float64
	last      time.Time
	started   bool
	limited   int
	remaining float64
}

// Limited is how many requests got a 429.
func (b *Bucket) Limited() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limited
}

func (b *Bucket) cost(r Request) float64 {
	if !b.PerItem {
		return 1
	}
	return float64(max(r.Items(), 1))
}

func (b *Bucket) refill(now time.Time) {
	if !b.started {
		b.tokens, b.last, b.started = b.Size, now, true
	}
	b.tokens = math.Min(b.Size, b.tokens+now.Sub(b.last).Seconds()*b.Rate)
	b.last = now
}

// take pays for r, or returns the 429 to send.
func (b *Bucket) take(r Request) (Response, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(time.Now())
	c := b.cost(r)
	if b.tokens >= c {
		b.tokens -= c
		b.remaining = b.tokens
		return Response{}, true
	}
	b.limited++
	b.remaining = b.tokens
	wait := math.Ceil((c - b.tokens) / b.Rate) // Retry-After is whole seconds
	retryAfter := int(math.Max(wait, 1))
	resp := Fail(429, 971, "Please wait and consider throttling your request speed")
	resp.Header = map[string]string{
		"Retry-After": fmt.Sprint(retryAfter),
		"Ratelimit":   fmt.Sprintf(`"purge";r=0;t=%d`, retryAfter),
	}
	return resp, false
}

func (b *Bucket) addHeaders(resp *Response) {
	if !b.Headers || b.PerItem {
		return
	}
	b.mu.Lock()
	remaining, reset := int(b.remaining), int(math.Ceil((b.Size-b.remaining)/b.Rate))
	b.mu.Unlock()
	if resp.Header == nil {
		resp.Header = map[string]string{}
	}
	resp.Header["Ratelimit"] = fmt.Sprintf(`"purge";r=%d;t=%d`, remaining, reset)
	resp.Header["Ratelimit-Policy"] = fmt.Sprintf(`"purge";q=%d;w=%d`, int(b.Size), int(math.Max(1, math.Round(b.Size/b.Rate))))
}
