package loadtest

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// virtualScenarios are the cases whose real time would be minutes
// (Cloudflare's API window is five of them, and no fake can scale it
// down: the pacer's window is Cloudflare's). TestVirtualPurge runs them in
// virtual time, through the in-memory fake in a synctest bubble: the same
// action, client, pacer and production backoff, in a second or two, and
// with figures that a loaded CI machine does not move.
var virtualScenarios = []scenario{
	{
		// 60,000 URLs, plan and batch-size not given, against Free's URL
		// bucket and the global API limit: at the documented 100 URLs a
		// request they are 600 requests, within one API window, and the
		// URL bucket binds (74 s); at 30 a request they were 2,000, past
		// the window, which held the last 860 for five minutes.
		name: "urls-60k-unknown-plan-api-window", purgeType: "files", targets: 60_000, batch: 100, autoBatch: true,
		latency: 100 * time.Millisecond, bucket: freeURLs, apiWindow: true, timeout: "15m",
		minRatio: 0.9, max429: 5, maxRequests: 600,
	},
}

// TestVirtualPurge runs virtualScenarios in virtual time and holds each to
// its bounds; go test -v prints the figures (.ci/bench.sh runs it).
func TestVirtualPurge(t *testing.T) {
	t.Parallel()
	for _, s := range virtualScenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			var m measured
			synctest.Test(t, func(t *testing.T) {
				m = s.measure(t, actiontest.InProcess{NewBackOff: purge.DefaultBackOff}, cloudflaretest.NewInMemory)
			})
			t.Logf("%s: ratio %.3f (wall %.1f s, ideal %.1f s), %d requests, %d × 429 (%d of them the API window's), %d × 400, %d lost",
				s.name, m.ratio(), m.wall.Seconds(), m.ideal.Seconds(), m.requests, m.limited, m.windowLimited, m.refused, m.lost)
			s.check(t, m)
		})
	}
}
