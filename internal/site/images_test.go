package site_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// acceptsSent are the Accept headers the edge got for path, in order.
func acceptsSent(fake *cloudflaretest.Server, path string) []string {
	var out []string
	for _, r := range fake.EdgeRequests() {
		if r.Path == path {
			out = append(out, r.Header.Get("Accept"))
		}
	}
	return out
}

// Verify asks for an image (an extension Vary for Images applies to, in
// the path) as a browser that takes AVIF and WebP, and says so; a target
// whose own headers name an Accept is asked as they say; other URLs get
// no Accept.
func TestVerifyAsksForAnImageAsABrowserDoes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		variants := []string{"image/avif", "image/webp"}
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/logo.png", Variants: variants},
			cloudflaretest.Page{Path: "/photo.JPG", Variants: variants},
			cloudflaretest.Page{Path: "/chart.webp", Variants: variants},
			cloudflaretest.Page{Path: "/icon.svg"},
			cloudflaretest.Page{Path: "/index.php?file=a.jpg"},
			cloudflaretest.Page{Path: "/"}))
		defer fake.Close()
		purge(t, fake, `{"purge_everything":true}`)
		now := time.Now()
		tests := []struct {
			path    string
			headers map[string]string
			sent    string // the Accept the edge got
			added   string // Check.Accept
		}{
			{"/logo.png", map[string]string{"Accept-Language": "de"}, "image/avif,image/webp,*/*", "image/avif,image/webp,*/*"},
			{"/photo.JPG", nil, "image/avif,image/webp,*/*", "image/avif,image/webp,*/*"},
			{"/chart.webp", map[string]string{"accept": "image/webp"}, "image/webp", ""},
			{"/icon.svg", nil, "", ""},
			{"/index.php?file=a.jpg", nil, "", ""}, // Vary for Images reads the path only
			{"/", nil, "", ""},
		}
		targets := make([]site.Target, len(tests))
		for i, tt := range tests {
			targets[i] = site.Target{URL: fake.EdgeURL() + tt.path, Headers: tt.headers, Purged: now}
		}
		checks := fakeClient(fake, 2).Verify(t.Context(), targets)
		for i, tt := range tests {
			c := checks[i]
			if sent := acceptsSent(fake, tt.path); len(sent) != 1 || sent[0] != tt.sent || c.Accept != tt.added || c.Verdict != site.Fresh {
				t.Errorf("%s: the edge got Accept %q; check %v, Accept %q; want %q, fresh, %q", tt.path, sent, c.Verdict, c.Accept, tt.sent, tt.added)
			}
		}
		if len(targets[0].Headers) != 1 || checks[0].Target.Headers["Accept"] != "" {
			t.Errorf("the target's headers became %v", targets[0].Headers)
		}
	})
}

// Warm refills each copy Vary for Images keeps of an image: the AVIF, the
// WebP and the file's own, one request each, in that order; afterwards
// every copy is served from the cache.
func TestWarmRequestsEachImageCopy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/logo.png", Variants: []string{"image/avif", "image/webp"}},
			cloudflaretest.Page{Path: "/"}))
		defer fake.Close()
		purge(t, fake, `{"purge_everything":true}`)
		c := fakeClient(fake, 1)
		warmed := c.Warm(t.Context(), []site.Target{{URL: fake.EdgeURL() + "/logo.png"}, {URL: fake.EdgeURL() + "/"}})
		want := []string{"image/avif,image/webp,*/*", "image/webp,*/*", "*/*", ""}
		if len(warmed) != len(want) {
			t.Fatalf("%d results; want %d: %+v", len(warmed), len(want), warmed)
		}
		for i, w := range warmed {
			if w.Accept != want[i] || !w.OK() {
				t.Errorf("result %d: %s, Accept %q, OK %t; want Accept %q", i, w.Target.URL, w.Accept, w.OK(), want[i])
			}
		}
		if sent := acceptsSent(fake, "/logo.png"); len(sent) != 3 || sent[0] != want[0] || sent[1] != want[1] || sent[2] != want[2] {
			t.Errorf("the edge got Accept %q for the image; want %q", sent, want[:3])
		}
		for _, r := range fake.EdgeRequests() {
			if r.Path == "/logo.png" && r.Status != 200 {
				t.Errorf("warm's request with Accept %q: HTTP %d", r.Header.Get("Accept"), r.Status)
			}
		}
		// Each copy was refilled: asked again, each is a HIT (fresh, as
		// stored since the purge), none fetched again.
		before := len(fake.EdgeRequests())
		for _, accept := range want[:3] {
			checks := c.Verify(t.Context(), []site.Target{{URL: fake.EdgeURL() + "/logo.png", Headers: map[string]string{"Accept": accept}, Purged: time.Now().Add(-time.Second)}})
			if ch := checks[0]; ch.Response.CacheStatus != "HIT" || ch.Verdict != site.Fresh {
				t.Errorf("the copy for Accept %q after warm: %s, %v; want a fresh HIT", accept, ch.Response.CacheStatus, ch.Verdict)
			}
		}
		if n := len(fake.EdgeRequests()) - before; n != 3 {
			t.Errorf("%d requests to check the copies; want 3", n)
		}
	})
}
