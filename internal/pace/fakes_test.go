package pace_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// Tests that drive purge.Run (package purge sends the requests; package
// pace paces them) run inside synctest.Test: time there is virtual and
// moves on only when every goroutine of the bubble is blocked, so nothing
// sleeps for real and every recorded time is exact.

// zone is the zone of every job: the buckets are the account's.
var zone = cloudflare.ZoneScope(cloudflare.MustParseID("z"))

// prefixed is n targets: prefix0, prefix1, ...
func prefixed(prefix string, n int) []cloudflare.Target {
	out := make([]cloudflare.Target, n)
	for i := range out {
		out[i] = cloudflare.Target{Value: fmt.Sprintf("%s%d", prefix, i)}
	}
	return out
}

// bucketSender is an account behind a token bucket, like Cloudflare's
// purge limits: every request takes latency, then costs its URLs (files)
// or 1 (any other type) from a bucket of size units refilled at perSecond;
// one the bucket cannot pay for gets a 429 (code 971) with Retry-After in
// whole seconds and no Ratelimit headers. It answers in a synctest
// bubble's virtual time.
type bucketSender struct {
	size, perSecond float64
	latency         time.Duration
	// emptyAtStart: another client has just spent the bucket.
	emptyAtStart bool

	mu       sync.Mutex
	tokens   float64
	last     time.Time
	started  bool
	requests int
	limited  int
	purged   map[string]int // target → times purged
}

func (b *bucketSender) Send(ctx context.Context, r cloudflare.Request) (cloudflare.Result, error) {
	select {
	case <-time.After(b.latency):
	case <-ctx.Done():
		return cloudflare.Result{}, ctx.Err()
	}
	cost, items := 1.0, bodyItems(r.Body)
	if len(r.Body.Files) > 0 {
		cost = float64(len(r.Body.Files))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !b.started {
		b.tokens, b.last, b.started = b.size, now.Add(-b.latency), true
		if b.emptyAtStart {
			b.tokens = 0
		}
	}
	b.tokens = math.Min(b.size, b.tokens+now.Sub(b.last).Seconds()*b.perSecond)
	b.last = now
	b.requests++
	if b.tokens < cost {
		b.limited++
		wait := math.Max(1, math.Ceil((cost-b.tokens)/b.perSecond))
		return cloudflare.Result{}, &cloudflare.APIError{
			Status: 429, Errors: []cloudflare.ErrorItem{{Code: 971, Message: "Please wait and consider throttling your request speed"}},
			RetryAfter: time.Duration(wait) * time.Second, HasRetryAfter: true,
		}
	}
	b.tokens -= cost
	if b.purged == nil {
		b.purged = map[string]int{}
	}
	for _, it := range items {
		b.purged[it]++
	}
	return cloudflare.Result{ID: fmt.Sprintf("id%03d", b.requests)}, nil
}

// counts returns requests, 429s and distinct targets purged.
func (b *bucketSender) counts() (requests, limited, purged int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests, b.limited, len(b.purged)
}

// bodyItems lists a body's targets.
func bodyItems(body cloudflare.Body) []string {
	var out []string
	for _, f := range body.Files {
		out = append(out, f.Value)
	}
	out = append(out, body.Tags...)
	out = append(out, body.Hosts...)
	out = append(out, body.Prefixes...)
	return out
}

// debugLines collects Run's debug lines. Options.Debugf is called from
// several goroutines at once (the workers, the pacer, the plan lookup), as
// action.Reporter.Debugf is: it takes a lock of its own.
type debugLines struct {
	mu    sync.Mutex
	lines []string
}

func (d *debugLines) debugf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lines = append(d.lines, fmt.Sprintf(format, args...))
}

// all lists the lines so far.
func (d *debugLines) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.lines)
}

// String is the lines so far, one a line.
func (d *debugLines) String() string { return strings.Join(d.all(), "\n") }
