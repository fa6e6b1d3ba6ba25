package site_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// BenchmarkVerify measures the action's own cost of checking URLs (the
// edge answers in memory at once): what a thousand URLs cost beside the
// network's time.
func BenchmarkVerify(b *testing.B) {
	e := &edge{handle: answer(http.StatusOK, "HIT", "2")}
	c := client(e, 8)
	targets := make([]site.Target, 1000)
	for i := range targets {
		targets[i] = site.Target{URL: fmt.Sprintf("https://www.example.com/%d", i), Purged: time.Now()}
	}
	b.ReportAllocs()
	for b.Loop() {
		e.mu.Lock()
		e.requests, e.times = e.requests[:0], e.times[:0]
		e.mu.Unlock()
		for _, ch := range c.Verify(b.Context(), targets) {
			if ch.Verdict != site.Fresh {
				b.Fatalf("%+v", ch)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(targets)), "µs/URL")
}
