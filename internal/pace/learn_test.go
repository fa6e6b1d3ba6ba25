package pace_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// shape is an account's bucket and a purge against it.
type shape struct {
	typ             cloudflare.PurgeType
	targets, batch  int
	size, perSecond float64
	latency         time.Duration
	concurrency     int
	emptyAtStart    bool // another client has just spent the bucket
}

// urlShape is Cloudflare's URL bucket of the free plan, as issue 11
// measures it: 6,000 URLs at 30 a request, 8 at a time, against 800 URLs
// a second with a bucket of 800 and 100 ms a request.
var urlShape = shape{typ: cloudflare.Files, targets: 6000, batch: 30, size: 800, perSecond: 800, latency: 100 * time.Millisecond, concurrency: 8}

// ideal is the shortest wall time the bucket and the latency allow: the
// larger of (units − bucket) ÷ rate, the latency bound (every request's
// latency shared by the workers) and one latency. It is the load
// benchmark's measure (internal/loadtest), with no burst when the bucket
// is spent at the start.
func (s shape) ideal() time.Duration {
	requests := (s.targets + s.batch - 1) / s.batch
	units := float64(requests)
	if s.typ == cloudflare.Files {
		units = float64(s.targets)
	}
	full := s.size
	if s.emptyAtStart {
		full = 0
	}
	bucketBound := time.Duration(max(units-full, 0) / s.perSecond * float64(time.Second))
	latencyBound := time.Duration(float64(s.latency) * float64(requests) / float64(s.concurrency))
	return max(bucketBound, latencyBound, s.latency)
}

// measured is what one run against a shape gave.
type measured struct {
	ratio            float64 // ideal ÷ wall time
	wall             time.Duration
	requests, limits int
	out              purge.Outcome
}

func (m measured) String() string {
	return fmt.Sprintf("ratio %.3f (wall %v), %d requests, %d × 429", m.ratio, m.wall, m.requests, m.limits)
}

// run purges the shape's targets with o (concurrency and deadline set
// here) in the caller's synctest bubble, and checks every target was
// purged once.
func (s shape) run(t *testing.T, o purge.Options) measured {
	t.Helper()
	t0 := time.Now()
	b := &bucketSender{size: s.size, perSecond: s.perSecond, latency: s.latency, emptyAtStart: s.emptyAtStart}
	o.Concurrency = s.concurrency
	o.MaxRetries = 20
	o.Deadline = t0.Add(time.Hour)
	var targets []cloudflare.Target
	if s.typ == cloudflare.Files {
		targets = prefixed("https://a.example/", s.targets)
	} else {
		targets = prefixed("tag-", s.targets)
	}
	out := purge.Run(context.Background(), b, []purge.Job{purge.NewJob(zone, cloudflare.Purge, s.typ, targets, s.batch)}, o)
	m := measured{wall: time.Since(t0), out: out}
	m.ratio = s.ideal().Seconds() / m.wall.Seconds()
	var purged int
	m.requests, m.limits, purged = b.counts()
	done := 0
	for _, r := range out.Results {
		if r.Err != nil {
			t.Errorf("batch %d: %v", r.Batch.Index, r.Err)
		}
		done += r.Purged
	}
	if purged != s.targets || done != s.targets {
		t.Errorf("%d targets purged (%d counted), want %d", purged, done, s.targets)
	}
	return m
}

// Without a plan, on the free plan's URL bucket: the pacer learns the
// bucket in a few 429s and then stays under it.
func TestRunLearnsTheURLBucketWithoutPlan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var lines debugLines
		m := urlShape.run(t, purge.Options{Debugf: lines.debugf})
		t.Logf("plan unknown: %v", m)
		if m.limits > 5 || m.ratio < 0.9 {
			t.Errorf("plan unknown: %v; want at most 5 × 429 and a ratio of at least 0.9", m)
		}
		if !strings.Contains(lines.String(), "pacing as for that plan") {
			t.Errorf("debug lines %q do not say the plan was found", lines.all())
		}
	})
}

// With the plan given, no request is refused at all.
func TestRunPlanGivenSeesNo429(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		plan  cloudflare.Plan
		shape shape
	}{
		{cloudflare.PlanFree, urlShape},
		{cloudflare.PlanPro, shape{typ: cloudflare.Files, targets: 9000, batch: 30, size: 1500, perSecond: 1500, latency: 100 * time.Millisecond, concurrency: 8}},
		{cloudflare.PlanPro, shape{typ: cloudflare.Tags, targets: 200, batch: 1, size: 25, perSecond: 5, latency: 100 * time.Millisecond, concurrency: 8}},
	} {
		t.Run(fmt.Sprintf("%s-%s", tt.plan, tt.shape.typ), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				m := tt.shape.run(t, purge.Options{Limits: tt.plan.Limits()})
				t.Logf("plan %s: %v", tt.plan, m)
				if m.limits != 0 || m.ratio < 0.9 {
					t.Errorf("plan %s: %v; want no 429 and a ratio of at least 0.9", tt.plan, m)
				}
			})
		})
	}
}

// Other buckets, plan unknown: a larger plan's (the pacer climbs past the
// free plan's), a request bucket without Ratelimit headers, and a bucket
// smaller than any plan's (shared with other clients), which the pacer
// measures between 429s.
func TestRunLearnsOtherBucketsWithoutPlan(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		shape     shape
		maxLimits int
		minRatio  float64
	}{
		// Climbing from the smallest plan costs one to two seconds: its
		// burst goes over two seconds, and at twice that pace only after a
		// second without a 429 (two jobs starting together meet by then, in
		// fewer 429s than at the faster pace: package pace). Set plan, or
		// let it be looked up: 0.85 and 0.60 here, against 0.9 and 0.75
		// when the climb went at twice the burst from the start.
		{"pro URL bucket", shape{typ: cloudflare.Files, targets: 9000, batch: 30, size: 1500, perSecond: 1500, latency: 100 * time.Millisecond, concurrency: 8}, 5, 0.8},
		{"enterprise URL bucket", shape{typ: cloudflare.Files, targets: 12_000, batch: 30, size: 3000, perSecond: 3000, latency: 100 * time.Millisecond, concurrency: 16}, 5, 0.55},
		{"pro tag bucket", shape{typ: cloudflare.Tags, targets: 200, batch: 1, size: 25, perSecond: 5, latency: 100 * time.Millisecond, concurrency: 8}, 5, 0.9},
		{"business tag bucket", shape{typ: cloudflare.Tags, targets: 400, batch: 1, size: 50, perSecond: 10, latency: 100 * time.Millisecond, concurrency: 8}, 5, 0.9},
		// Below every plan only 429s teach, and which of the workers woken at
		// one virtual instant goes first varies from run to run: the ratio
		// ranges over 0.83-0.91 (0.91 typical), hence the lower bound.
		{"bucket below every plan", shape{typ: cloudflare.Files, targets: 3000, batch: 30, size: 300, perSecond: 300, latency: 20 * time.Millisecond, concurrency: 8}, 20, 0.8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				m := tt.shape.run(t, purge.Options{})
				t.Logf("%s, plan unknown: %v", tt.name, m)
				if m.limits > tt.maxLimits || m.ratio < tt.minRatio {
					t.Errorf("%s: %v; want at most %d × 429 and a ratio of at least %.2f", tt.name, m, tt.maxLimits, tt.minRatio)
				}
			})
		})
	}
}

// LookupPlan's answer paces the run: asked once, beside the first
// requests, and its plan then paces as if given (no 429 at all).
func TestRunUsesLookupPlan(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		plan  cloudflare.Plan
		shape shape
	}{
		{cloudflare.PlanFree, urlShape},
		{cloudflare.PlanPro, shape{typ: cloudflare.Files, targets: 9000, batch: 30, size: 1500, perSecond: 1500, latency: 100 * time.Millisecond, concurrency: 8}},
	} {
		t.Run(string(tt.plan), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var asked int
				var lines debugLines
				m := tt.shape.run(t, purge.Options{
					LookupPlan: func(ctx context.Context, zoneID string) (cloudflare.Plan, error) {
						mu.Lock()
						asked++
						mu.Unlock()
						time.Sleep(100 * time.Millisecond) // one round trip
						return tt.plan, nil
					},
					Debugf: lines.debugf,
				})
				t.Logf("plan %s looked up: %v", tt.plan, m)
				if asked != 1 {
					t.Errorf("LookupPlan called %d times, want once", asked)
				}
				if m.limits != 0 || m.ratio < 0.9 {
					t.Errorf("plan %s looked up: %v; want no 429 and a ratio of at least 0.9", tt.plan, m)
				}
				if want := fmt.Sprintf("plan lookup: plan %q; pacing at", tt.plan); !strings.Contains(lines.String(), want) {
					t.Errorf("debug lines %q, want %q", lines.all(), want)
				}
			})
		})
	}
}

// A lookup that fails (a token without Zone Read) is a debug line, not an
// error: the pacer goes on learning.
func TestRunLookupPlanFailureKeepsLearning(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var lines debugLines
		m := urlShape.run(t, purge.Options{
			LookupPlan: func(ctx context.Context, zoneID string) (cloudflare.Plan, error) {
				time.Sleep(100 * time.Millisecond)
				return "", errors.New("HTTP 403: 10000 Authentication error")
			},
			Debugf: lines.debugf,
		})
		t.Logf("plan lookup refused: %v", m)
		if m.limits > 5 || m.ratio < 0.9 {
			t.Errorf("plan lookup refused: %v; want at most 5 × 429 and a ratio of at least 0.9", m)
		}
		want := "plan lookup failed, learning the purge limits from the answers instead: HTTP 403: 10000 Authentication error"
		if !strings.Contains(lines.String(), want) {
			t.Errorf("debug lines %q, want %q", lines.all(), want)
		}
	})
}

// A 429 says the server's bucket is empty: the pacer's buckets are
// emptied too, so that a bucket another client has just spent costs one
// episode of 429s, not one every time the pacer believes it has units.
func TestRun429EmptiesThePacersBuckets(t *testing.T) {
	t.Parallel()
	// The pro plan's tag bucket: a pause of one second refills 5 of its 25.
	proTags := shape{typ: cloudflare.Tags, targets: 200, batch: 1, size: 25, perSecond: 5, latency: 100 * time.Millisecond, concurrency: 8, emptyAtStart: true}
	// The first lot in flight (8 requests) is refused together; then the
	// pacer's buckets start empty too. Without a plan, finding the pro
	// level costs up to 4 more: the probes past it (two at a time above
	// the free level) and the paced requests they crowd out, which of the
	// workers woken at one virtual instant goes first deciding how many
	// (10-14 in all over stress runs), and a probe past the measured share
	// may cost one more.
	for _, tt := range []struct {
		name      string
		limits    cloudflare.Limits
		maxLimits int
	}{
		{"plan pro", cloudflare.PlanPro.Limits(), 8},
		{"plan unknown", cloudflare.Limits{}, 14},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := proTags
				m := s.run(t, purge.Options{Limits: tt.limits})
				t.Logf("%s, bucket spent at the start: %v", tt.name, m)
				if m.limits > tt.maxLimits || m.ratio < 0.9 {
					t.Errorf("%s, bucket spent at the start: %v; want at most %d × 429 and a ratio of at least 0.9", tt.name, m, tt.maxLimits)
				}
			})
		})
	}
}

// A plan the lookup names but Cloudflare documents no limits for is a
// debug line: the pacer goes on learning.
func TestRunLookupPlanWithoutLimitsKeepsLearning(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var lines debugLines
		m := urlShape.run(t, purge.Options{
			LookupPlan: func(ctx context.Context, zoneID string) (cloudflare.Plan, error) { return "partners", nil },
			Debugf:     lines.debugf,
		})
		if m.limits > 5 || m.ratio < 0.9 {
			t.Errorf("%v; want at most 5 × 429 and a ratio of at least 0.9", m)
		}
		if want := `plan lookup: plan "partners" has no documented purge limits; learning them from the answers`; !slices.Contains(lines.all(), want) {
			t.Errorf("debug lines %q, want %q", lines.all(), want)
		}
	})
}
