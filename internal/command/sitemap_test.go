package command_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// urlset is a sitemap of entries: loc, lastmod ("" for none), priority
// ("" for none).
func urlset(entries ...[3]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for _, e := range entries {
		fmt.Fprintf(&b, "<url><loc>%s</loc>", e[0])
		if e[1] != "" {
			fmt.Fprintf(&b, "<lastmod>%s</lastmod>", e[1])
		}
		if e[2] != "" {
			fmt.Fprintf(&b, "<priority>%s</priority>", e[2])
		}
		b.WriteString("</url>")
	}
	return b.String() + "</urlset>"
}

// siteWithSitemap is a site whose /sitemap.xml is an index of two gzip
// sitemaps: /a and /b (recent, one without lastmod), /old (lastmod a
// year before the run), /c and a URL of another host.
func siteWithSitemap(t *testing.T) cloudflaretest.Option {
	recent := bubbleStart.Add(-time.Hour).Format(time.RFC3339)
	old := bubbleStart.AddDate(-1, 0, 0).Format(time.RFC3339)
	index := `<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` +
		`<sitemap><loc>` + edgeURL + `/s1.xml.gz</loc></sitemap><sitemap><loc>` + edgeURL + `/s2.xml.gz</loc></sitemap></sitemapindex>`
	return cloudflaretest.WithEdge(
		cloudflaretest.Page{Path: "/sitemap.xml", Body: index, Dynamic: true},
		cloudflaretest.Page{Path: "/s1.xml.gz", Body: gzipped(t, urlset([3]string{edgeURL + "/a", recent, "0.2"}, [3]string{edgeURL + "/b", "", "0.9"})), Dynamic: true},
		cloudflaretest.Page{Path: "/s2.xml.gz", Body: gzipped(t, urlset([3]string{edgeURL + "/old", old, "1.0"}, [3]string{edgeURL + "/c", recent, "0.5"},
			[3]string{"https://elsewhere.example/x", recent, "1.0"})), Dynamic: true},
		cloudflaretest.Page{Path: "/a"}, cloudflaretest.Page{Path: "/b"}, cloudflaretest.Page{Path: "/c"}, cloudflaretest.Page{Path: "/old"},
	)
}

// A sitemap index with two gzip children: every URL of the sitemap's
// host is purged in files requests, the other host's is skipped and
// said, never sent.
func TestSitemapURLsArePurged(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "sitemap", edgeURL+"/sitemap.xml")}, siteWithSitemap(t))
	urls := purged(t, r.requests)[zone]
	slices.Sort(urls)
	want := []string{edgeURL + "/a", edgeURL + "/b", edgeURL + "/c", edgeURL + "/old"}
	if r.Code != 0 || !slices.Equal(urls, want) {
		t.Fatalf("exit %d, purged %q; want %q\n%s", r.Code, urls, want, r.Stdout)
	}
	if !r.HasAnnotation("warning", "Sitemap: URLs skipped", "elsewhere.example") {
		t.Errorf("warnings %+v; want the other host's URL listed as skipped", r.Annotations("warning"))
	}
	for _, req := range r.requests {
		if strings.Contains(string(req.Body), "elsewhere") {
			t.Errorf("a URL of another host was sent: %s", req.Body)
		}
	}
}

// sitemap-since keeps the URLs changed since (and those without lastmod).
func TestSitemapSinceKeepsRecentURLs(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "sitemap", edgeURL+"/sitemap.xml", "sitemap-since", "24h")}, siteWithSitemap(t))
	urls := purged(t, r.requests)[zone]
	slices.Sort(urls)
	if want := []string{edgeURL + "/a", edgeURL + "/b", edgeURL + "/c"}; r.Code != 0 || !slices.Equal(urls, want) {
		t.Errorf("exit %d, purged %q; want %q (not /old)\n%s", r.Code, urls, want, r.Stdout)
	}
}

// Purge everything, then warm from the sitemap, most important first.
func TestWarmFromTheSitemapInPriorityOrder(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "everything", "sitemap", edgeURL+"/sitemap.xml", "warm", "true", "concurrency", "1")},
		siteWithSitemap(t))
	var warmed []string
	for _, req := range r.edge {
		if !strings.Contains(req.Path, "sitemap") && !strings.Contains(req.Path, ".gz") {
			warmed = append(warmed, req.Path)
		}
	}
	// priority 1.0 (/old), 0.9 (/b), 0.5 (/c), 0.2 (/a)
	if want := []string{"/old", "/b", "/c", "/a"}; r.Code != 0 || !slices.Equal(warmed, want) || r.Outputs["warmed"] != "4" {
		t.Errorf("exit %d, warmed %q (outputs %v); want %q", r.Code, warmed, r.Outputs, want)
	}
}

// A sitemap that cannot be read whole stops a files purge before
// anything is sent, naming the sitemap and why: a redirect (its Location
// named), a gzip bomb (past 50 MiB uncompressed), a sitemap that hangs
// (within timeout). Nothing is purged that nobody asked for.
func TestASitemapThatCannotBeReadStopsTheRun(t *testing.T) {
	t.Parallel()
	bomb := gzipped(t, urlset()+strings.Repeat(" ", 51<<20))
	for _, tt := range []struct {
		name string
		page cloudflaretest.Page
		want string
	}{
		{"redirect", cloudflaretest.Page{Path: "/sitemap.xml", Status: 301, Also: http.Header{"Location": {"https://evil.example/sitemap.xml"}}}, "evil.example"},
		{"bomb", cloudflaretest.Page{Path: "/sitemap.xml", Body: bomb, Dynamic: true}, "MiB"},
		{"hang", cloudflaretest.Page{Path: "/sitemap.xml", Hang: true}, "sitemap"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "sitemap", edgeURL+"/sitemap.xml", "timeout", "2m")},
				cloudflaretest.WithEdge(tt.page))
			if r.Code != 1 || len(r.requests) != 0 || r.took >= 2*time.Minute {
				t.Fatalf("exit %d, %d purge(s), after %s; want 1, nothing purged, within the timeout\n%s", r.Code, len(r.requests), r.took, r.Stdout)
			}
			if !r.HasAnnotation("error", "sitemap", tt.want) {
				t.Errorf("errors %+v; want one titled sitemap saying %q", r.Annotations("error"), tt.want)
			}
		})
	}
}

// Past a bound, a purge of everything goes on: only the checks are cut,
// said once.
func TestASitemapPastABoundCutsOnlyTheChecksOfEverything(t *testing.T) {
	t.Parallel()
	bomb := gzipped(t, urlset()+strings.Repeat(" ", 51<<20))
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "everything", "sitemap", edgeURL+"/sitemap.xml", "warm", "true")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/sitemap.xml", Body: bomb, Dynamic: true}))
	if r.Code != 0 || !everything(r.requests, zone) {
		t.Fatalf("exit %d, requests %q; want everything purged\n%s", r.Code, paths(r.requests), r.Stdout)
	}
	if cut := r.Annotations("warning"); len(cut) != 1 || cut[0].Title != "Sitemap: cut" || !strings.Contains(cut[0].Message, "MiB") {
		t.Errorf("warnings %+v; want one saying the sitemap was cut", cut)
	}
}
