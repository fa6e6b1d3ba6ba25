package pace_test

import (
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// Two jobs purging at once through one bucket of Free's URL shape, each
// with its own pacer (two steps of one push), share it: after the 429s of
// their first meeting each paces at the share it got, and the bucket
// stays busy until both are done. (With the AIMD pacer before package
// pace's measured shares: 0.84-0.95 with 9-14 × 429 over start offsets;
// now, in this virtual-time run over 20 runs: 0.93-0.96 with 7-8 × 429
// with plan free, 0.92-0.94 with 8-10 × 429 without a plan. The bounds
// keep a margin for the order in which simultaneous wakes run.)
func TestRunJobsSharingABucketGiveWay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		plan     cloudflare.Plan
		max429   int
		minRatio float64
	}{
		{cloudflare.PlanFree, 10, 0.88},
		{cloudflare.PlanUnknown, 12, 0.88},
	} {
		t.Run(string(tt.plan)+"-plan", func(t *testing.T) {
			t.Parallel()
			c := offsetCase{urls: []int{3000, 3000}, plan: tt.plan, size: 800, perSec: 800, latency: 100 * time.Millisecond}
			ratio, limited := c.run(t, 0)
			t.Logf("two jobs, plan %q: ratio %.3f, %d × 429", tt.plan, ratio, limited)
			if limited > tt.max429 || ratio < tt.minRatio {
				t.Errorf("two jobs, plan %q: ratio %.3f, %d × 429; want at least %.2f and at most %d", tt.plan, ratio, limited, tt.minRatio, tt.max429)
			}
		})
	}
}
