package sitemap_test

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
	"github.com/cfpurge/cloudflare-purge-action/internal/sitemap"
)

// BenchmarkRead50000 reads a gzip sitemap of MaxFileURLs URLs, each with
// a lastmod and a priority, from the in-memory edge (no network: the
// action's own cost), and reports the seconds a read takes and the most
// heap it held above what it held before (sampled every millisecond,
// with what the GC had not yet freed: the memory the process needed).
// The bar: under 2 s and 64 MiB on a CI runner.
func BenchmarkRead50000(b *testing.B) {
	var body strings.Builder
	body.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range sitemap.MaxFileURLs {
		fmt.Fprintf(&body, "  <url>\n    <loc>%s/blog/2026/%05d/a-post-with-a-title-of-some-length</loc>\n    <lastmod>%s</lastmod>\n    <changefreq>weekly</changefreq>\n    <priority>0.%d</priority>\n  </url>\n",
			edgeURL, i, day.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i%10)
	}
	body.WriteString("</urlset>\n")
	zipped := gz(body.String())
	fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/sitemap.xml.gz", Body: zipped}))
	defer fake.Close()
	c := site.NewClient(fake.Client(), userAgent, 8)

	var peak uint64
	var took time.Duration // the reads alone, without the GC before each
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		stop := sample(&peak, heapBytes())
		start := time.Now()
		res, err := sitemap.Read(b.Context(), c, edgeURL+"/sitemap.xml.gz", sitemap.Options{})
		took += time.Since(start)
		stop()
		if err != nil || len(res.URLs) != sitemap.MaxFileURLs {
			b.Fatalf("%d URLs, %v", len(res.URLs), err)
		}
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s/read")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(float64(len(zipped))/(1<<20), "gzip-MiB")
	b.ReportMetric(float64(body.Len())/(1<<20), "xml-MiB")
}

// heapBytes is the heap's objects, live or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sample keeps in peak the most heap seen above base until stop.
func sample(peak *uint64, base uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > base && h-base > *peak {
				*peak = h - base
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
