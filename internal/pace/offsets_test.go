package pace_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// offsetCase is jobs purging URLs at once through one bucket, each its
// own run of purge.Run (its own pacer, as steps of one push are); run
// starts the second job later by the offset it is given.
type offsetCase struct {
	name    string
	urls    []int // each job's
	plan    cloudflare.Plan
	size    float64 // the bucket's, in URLs
	perSec  float64
	latency time.Duration
}

// startOffsets are the second job's delays: the order in which two jobs'
// requests reach the bucket decides which one a 429 reaches, so one start
// says little; these thirteen say how the pacing model fares over them.
var startOffsets = []time.Duration{0, 3, 7, 13, 23, 37, 51, 80, 130, 210, 370, 600, 900}

// TestPacingOverStartOffsets runs the shared-bucket cases of
// internal/loadtest (and a job of 5,400 URLs beside one of 600, whose
// partner leaves early) in virtual time from every start offset, and
// holds the mean and least ratio of the ideal wall time to the real one,
// and the most 429s, to bounds a little below what package pace's model
// reaches (go test -v shows the figures). It is how the model's constants
// were chosen: a second or so for all of it, where the real benchmark
// takes minutes for one start. The bounds: two jobs, the goals
// (0.9 of the ideal, 10 × 429) with a margin for the order in which
// simultaneous wakes run; four, what the model reached.
func TestPacingOverStartOffsets(t *testing.T) {
	t.Parallel()
	free := func(name string, plan cloudflare.Plan, urls ...int) offsetCase {
		return offsetCase{name: name, urls: urls, plan: plan, size: 800, perSec: 800, latency: 100 * time.Millisecond}
	}
	for _, tt := range []struct {
		c                 offsetCase
		minMean, minLeast float64
		max429            int
	}{
		{free("2-jobs-unknown-plan", cloudflare.PlanUnknown, 3000, 3000), 0.88, 0.8, 12},
		{free("2-jobs-plan-free", cloudflare.PlanFree, 3000, 3000), 0.88, 0.8, 10},
		{free("4-jobs-unknown-plan", cloudflare.PlanUnknown, 3000, 3000, 3000, 3000), 0.85, 0.65, 48},
		{free("4-jobs-plan-free", cloudflare.PlanFree, 3000, 3000, 3000, 3000), 0.85, 0.65, 48},
		{free("5400-beside-600-unknown-plan", cloudflare.PlanUnknown, 5400, 600), 0.83, 0.8, 10},
		{free("5400-beside-600-plan-free", cloudflare.PlanFree, 5400, 600), 0.94, 0.94, 2},
	} {
		t.Run(tt.c.name, func(t *testing.T) {
			t.Parallel()
			var sum, least, limited, most float64 = 0, 1e9, 0, 0
			for _, off := range startOffsets {
				ratio, n := tt.c.run(t, off*time.Millisecond)
				sum, limited = sum+ratio, limited+float64(n)
				least, most = min(least, ratio), max(most, float64(n))
			}
			n := float64(len(startOffsets))
			t.Logf("%s over %d start offsets: ratio %.3f mean, %.3f least; %.1f × 429 mean, %.0f most", tt.c.name, len(startOffsets), sum/n, least, limited/n, most)
			if sum/n < tt.minMean || least < tt.minLeast || most > float64(tt.max429) {
				t.Errorf("%s: ratio %.3f mean, %.3f least, %.0f × 429 at most; want at least %.2f and %.2f, at most %d", tt.c.name, sum/n, least, most, tt.minMean, tt.minLeast, tt.max429)
			}
		})
	}
}

// run runs the case once, the second job offset later, and returns the
// ratio of the ideal to the wall time and the 429s of all jobs.
func (c offsetCase) run(t *testing.T, offset time.Duration) (ratio float64, limited int) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		bucket := &bucketSender{size: c.size, perSecond: c.perSec, latency: c.latency}
		var wg sync.WaitGroup
		total := 0
		for j, n := range c.urls {
			total += n
			wg.Go(func() {
				if j == 1 {
					time.Sleep(offset)
				}
				o := purge.Options{Concurrency: 8, MaxRetries: 20, Deadline: t0.Add(time.Hour), Limits: c.plan.Limits(), NewBackOff: purge.DefaultBackOff}
				job := purge.NewJob(zone, cloudflare.Purge, cloudflare.Files, prefixed(fmt.Sprintf("https://job%d.example/", j), n), 30)
				for _, r := range purge.Run(context.Background(), bucket, []purge.Job{job}, o).Results {
					if r.Err != nil {
						t.Errorf("job %d batch %d: %v", j, r.Batch.Index, r.Err)
					}
				}
			})
		}
		wg.Wait()
		var purged int
		_, limited, purged = bucket.counts()
		if purged != total {
			t.Errorf("%d URLs purged, want %d", purged, total)
		}
		ratio = max(float64(total)-c.size, 0) / c.perSec / time.Since(t0).Seconds()
	})
	return ratio, limited
}
