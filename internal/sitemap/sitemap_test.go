package sitemap_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
	"github.com/cfpurge/cloudflare-purge-action/internal/sitemap"
)

// edgeURL is the in-memory fake edge's base: every page is on its host.
const edgeURL = "http://127.0.0.1:9"

const userAgent = "cloudflare-purge-action/test"

// serve makes an in-memory fake edge serving pages and a site client
// reaching it with the given concurrency.
func serve(t *testing.T, concurrency int, pages ...cloudflaretest.Page) (*cloudflaretest.Server, *site.Client) {
	t.Helper()
	fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(pages...))
	t.Cleanup(fake.Close)
	if fake.EdgeURL() != edgeURL {
		t.Fatalf("the edge is at %s, the tests' URLs at %s", fake.EdgeURL(), edgeURL)
	}
	return fake, site.NewClient(fake.Client(), userAgent, concurrency)
}

// urlset is a sitemap of entries (each a <url>…</url>).
func urlset(entries ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n" + strings.Join(entries, "\n") + "\n</urlset>\n"
}

// entry is one <url>; lastmod and priority are left out when empty.
func entry(loc, lastmod, priority string) string {
	s := "  <url>\n    <loc>" + loc + "</loc>\n"
	if lastmod != "" {
		s += "    <lastmod>" + lastmod + "</lastmod>\n"
	}
	if priority != "" {
		s += "    <priority>" + priority + "</priority>\n"
	}
	return s + "  </url>"
}

// index is a sitemap index of these sitemaps' URLs.
func index(locs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	for _, loc := range locs {
		fmt.Fprintf(&b, "  <sitemap><loc>%s</loc><lastmod>2026-11-30</lastmod></sitemap>\n", loc)
	}
	b.WriteString("</sitemapindex>\n")
	return b.String()
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.String()
}

func locs(urls []sitemap.URL) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = u.Loc
	}
	return out
}

// An index with two gzip sitemaps gives every URL of both, in the
// index's order, each once. gzip is told by its bytes, not its name:
// b.xml is gzip, c.xml.gz is plain XML. Every file is requested once,
// with the action's User-Agent.
func TestIndexWithGzipSitemapsGivesEveryURL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 8,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/a.xml.gz", edgeURL+"/b.xml", edgeURL+"/c.xml.gz")},
			cloudflaretest.Page{Path: "/a.xml.gz", Body: gz(urlset(entry(edgeURL+"/", "", "1.0"), entry(edgeURL+"/about", "", "")))},
			cloudflaretest.Page{Path: "/b.xml", Body: gz(urlset(entry(edgeURL+"/blog/1", "2026-11-30", ""), entry(edgeURL+"/about", "", "")))},
			cloudflaretest.Page{Path: "/c.xml.gz", Body: urlset(entry(edgeURL+"/shop", "", ""))},
		)
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{edgeURL + "/", edgeURL + "/about", edgeURL + "/blog/1", edgeURL + "/shop"}
		if got := locs(res.URLs); !slices.Equal(got, want) || res.Duplicates != 1 {
			t.Errorf("URLs %q, %d duplicate(s); want %q, 1", got, res.Duplicates, want)
		}
		wantFiles := []string{edgeURL + "/sitemap.xml", edgeURL + "/a.xml.gz", edgeURL + "/b.xml", edgeURL + "/c.xml.gz"}
		if !slices.Equal(res.Sitemaps, wantFiles) {
			t.Errorf("sitemaps %q, want %q", res.Sitemaps, wantFiles)
		}
		if u := res.URLs[0]; u.Priority != 1 || u.Sitemap != edgeURL+"/a.xml.gz" || !u.LastMod.IsZero() {
			t.Errorf("first URL %+v", u)
		}
		if u := res.URLs[2]; u.Priority != 0.5 || !u.LastMod.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("a URL with a date and no priority: %+v", u)
		}
		reqs := fake.EdgeRequests()
		if len(reqs) != 4 {
			t.Errorf("%d requests, want 4", len(reqs))
		}
		for _, r := range reqs {
			if r.Header.Get("User-Agent") != userAgent || r.Method != http.MethodGet {
				t.Errorf("%s %s with User-Agent %q", r.Method, r.Path, r.Header.Get("User-Agent"))
			}
		}
	})
}

// Since keeps URLs changed at or after it, those without a lastmod, and
// those whose lastmod is not a W3C datetime (counted); a date without a
// time is kept when since falls on that day.
func TestSinceKeepsRecentAndUndatedURLs(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(
			entry(edgeURL+"/old", "2026-11-29T23:59:59Z", ""),
			entry(edgeURL+"/new", "2026-11-30T12:00:00+02:00", ""), // 10:00 UTC
			entry(edgeURL+"/newer", "2026-12-01T08:30Z", ""),
			entry(edgeURL+"/just-before", "2026-11-30T09:59:59.999Z", ""),
			entry(edgeURL+"/none", "", ""),
			entry(edgeURL+"/that-day", "2026-11-30", ""),
			entry(edgeURL+"/day-before", "2026-11-29", ""),
			entry(edgeURL+"/that-month", "2026-11", ""),
			entry(edgeURL+"/last-year", "2025", ""),
			entry(edgeURL+"/unreadable", "yesterday", ""),
			entry(edgeURL+"/no-zone", "2026-12-01T08:30:00", ""),
		)})
		since := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{Since: since})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{edgeURL + "/new", edgeURL + "/newer", edgeURL + "/none", edgeURL + "/that-day", edgeURL + "/that-month", edgeURL + "/unreadable", edgeURL + "/no-zone"}
		if got := locs(res.URLs); !slices.Equal(got, want) {
			t.Fatalf("URLs %q, want %q", got, want)
		}
		if res.Older != 4 || res.LastModUnread != 2 {
			t.Errorf("older %d, lastmod unread %d; want 4, 2", res.Older, res.LastModUnread)
		}
		if !res.URLs[0].LastMod.Equal(since) || !res.URLs[5].LastMod.IsZero() {
			t.Errorf("lastmods %v, %v", res.URLs[0].LastMod, res.URLs[5].LastMod)
		}
	})
}

// ByImportance orders by priority, highest first, then lastmod, newest
// first (none last), and keeps the sitemap's order among equals.
func TestByImportance(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(
			entry(edgeURL+"/a", "", "0.3"),
			entry(edgeURL+"/b", "2026-11-01", ""),
			entry(edgeURL+"/c", "", ""),
			entry(edgeURL+"/d", "2026-11-20", "0.5"),
			entry(edgeURL+"/e", "", "1.0"),
			entry(edgeURL+"/f", "", "7"), // out of range: the default
			entry(edgeURL+"/g", "2026-11-20T10:00Z", "0.8"),
			entry(edgeURL+"/h", "2026-11-21", "0.8"),
			entry(edgeURL+"/i", "", "0.3"),
			entry(edgeURL+"/j", "", "NaN"), // the default
		)})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sitemap.ByImportance(res.URLs)
		want := []string{"/e", "/h", "/g", "/d", "/b", "/c", "/f", "/j", "/a", "/i"}
		for i := range want {
			want[i] = edgeURL + want[i]
		}
		if got := locs(res.URLs); !slices.Equal(got, want) {
			t.Errorf("ordered %q, want %q", got, want)
		}
	})
}

// bomb is a gzip file that holds 1 GiB of zeros after the start of a
// sitemap (in a comment, which the XML reader takes as it comes), in
// about 1 MB: one member of 1 MiB of zeros, repeated (gzip allows
// members one after another).
// With size > 0, it inflates to size bytes exactly.
func bomb(size int) string {
	head := `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>` + edgeURL + `/a</loc></url><!--`
	zeros := gz(string(make([]byte, 1<<20)))
	if size == 0 {
		return gz(head) + strings.Repeat(zeros, 1<<10)
	}
	size -= len(head)
	return gz(head) + strings.Repeat(zeros, size>>20) + gz(string(make([]byte, size%(1<<20))))
}

// A gzip bomb stops at MaxFileBytes uncompressed, with an error naming
// the file and the bound: 1 GiB of zeros in 1 MB of gzip, and one that
// inflates to one byte past the bound. The other sitemaps of the index
// are read.
func TestGzipBombStopsAtTheBound(t *testing.T) {
	t.Parallel()
	body, edge := bomb(0), bomb(sitemap.MaxFileBytes+1)
	if len(body) > 2<<20 {
		t.Fatalf("the bomb is %d bytes", len(body))
	}
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 2,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/bomb.xml.gz", edgeURL+"/edge.xml", edgeURL+"/good.xml")},
			cloudflaretest.Page{Path: "/bomb.xml.gz", Body: body},
			cloudflaretest.Page{Path: "/edge.xml", Body: edge},
			cloudflaretest.Page{Path: "/good.xml", Body: urlset(entry(edgeURL+"/b", "", ""))})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok {
			t.Fatalf("err = %v; want one error a file", err)
		}
		var named []string
		for _, e := range joined.Unwrap() {
			if fileErr, ok := errors.AsType[*sitemap.Error](e); ok && errors.Is(e, sitemap.ErrFileTooLarge) && errors.Is(e, sitemap.ErrBound) && strings.Contains(e.Error(), "50 MiB") {
				named = append(named, fileErr.Sitemap)
			}
		}
		if want := []string{edgeURL + "/bomb.xml.gz", edgeURL + "/edge.xml"}; !slices.Equal(named, want) || !strings.Contains(err.Error(), `"`+edgeURL+`/bomb.xml.gz"`) {
			t.Errorf("err = %v; want the 50 MiB bound, naming %q", err, want)
		}
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/b"}) {
			t.Errorf("URLs %q; want the other sitemap's", got)
		}
	})
}

// A <loc> of 300 KB is listed as skipped, shown cut short, and the
// sitemap's other URLs are read.
func TestHugeLocIsSkipped(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		huge := edgeURL + "/" + strings.Repeat("a", 300<<10)
		// Its credentials end past what is kept of it: all after the
		// scheme is hidden.
		hugeUser := "https://user:" + strings.Repeat("p", 300<<10) + "@www.example.com/"
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(
			entry(edgeURL+"/before", "", ""), entry(huge, "", ""), entry(hugeUser, "", ""), entry(edgeURL+"/after", "", ""))})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/before", edgeURL + "/after"}) {
			t.Errorf("URLs %q", got)
		}
		if res.SkippedCount != 2 || len(res.Skipped) != 2 {
			t.Fatalf("skipped %d: %+v", res.SkippedCount, res.Skipped)
		}
		if sk := res.Skipped[1]; sk.Loc != `"https://…"` || !strings.Contains(sk.Why, "longer than") {
			t.Errorf("skip %+v", sk)
		}
		sk := res.Skipped[0]
		if !strings.Contains(sk.Why, "longer than 2048 bytes") || len(sk.Loc) > 200 || !strings.HasPrefix(sk.Loc, `"`+edgeURL+"/aaa") || sk.Sitemap != `"`+edgeURL+`/sitemap.xml"` {
			t.Errorf("skip %+v", sk)
		}
	})
}

// Every <loc> is untrusted: trimmed; one with a control character,
// credentials, a wildcard, white space inside, or that is no absolute URL
// is skipped with why, shown escaped and without credentials. Only the
// sitemap's own <loc> counts (not an image's), the first of a <url>.
func TestUntrustedLocsAreSkippedWithWhy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		body := `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1" xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <url><loc>
      ` + edgeURL + `/trimmed
  </loc><loc>` + edgeURL + `/second-loc</loc>
    <image:image><image:loc>` + edgeURL + `/photo.jpg</image:loc></image:image>
    <xhtml:link rel="alternate" hreflang="de" href="` + edgeURL + `/de/"/>
  </url>
  <url><loc>` + edgeURL + `/a&#x9;b</loc></url>
  <url><loc>` + edgeURL + `/a
` + edgeURL + `/b</loc></url>
  <url><loc>` + edgeURL + "/\u009b[31m" + `</loc></url>
  <url><loc>https://user:hunter2@www.example.com/private</loc></url>
  <url><loc>` + edgeURL + `/*.css</loc></url>
  <url><loc>` + edgeURL + `/a b</loc></url>
  <url><loc>/relative/path</loc></url>
  <url><loc>{"url":"https://www.example.com/x"}</loc></url>
  <url><loc>   </loc></url>
  <url><lastmod>2026-11-30</lastmod></url>
  <image:image><image:loc>` + edgeURL + `/outside.jpg</image:loc></image:image>
  <url><loc><![CDATA[` + edgeURL + `/cdata?a=1&b=2]]></loc></url>
</urlset>`
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: body})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := locs(res.URLs), []string{edgeURL + "/trimmed", edgeURL + "/cdata?a=1&b=2"}; !slices.Equal(got, want) {
			t.Errorf("URLs %q, want %q", got, want)
		}
		want := []struct{ loc, why string }{
			{`"` + edgeURL + `/a\tb"`, "control character (U+0009)"},
			{`"` + edgeURL + `/a\n` + edgeURL + `/b"`, "control character (U+000A)"},
			{`"` + edgeURL + `/\u009b[31m"`, "control character (U+009B)"},
			{`"https://***@www.example.com/private"`, "credentials"},
			{`"` + edgeURL + `/*.css"`, "wildcard"},
			{`"` + edgeURL + `/a b"`, "white space"},
			{`"/relative/path"`, "not an http(s) URL"},
			{`"{\"url\":\"https://www.example.com/x\"}"`, "not an http(s) URL"},
			{`""`, "an empty <loc>"},
			{`""`, "without a <loc>"},
		}
		if res.SkippedCount != len(want) || len(res.Skipped) != len(want) {
			t.Fatalf("%d skipped: %+v", res.SkippedCount, res.Skipped)
		}
		for i, w := range want {
			sk := res.Skipped[i]
			if sk.Loc != w.loc || !strings.Contains(sk.Why, w.why) || strings.Contains(sk.Why, "hunter2") {
				t.Errorf("skip %d: %s: %s; want %s: …%s…", i, sk.Loc, sk.Why, w.loc, w.why)
			}
		}
	})
}

// With SameHost on (the protocol's rule), a URL of another host than the
// sitemap's is skipped; off, it is kept. Host names compare without case.
func TestSameHostSkipsOtherHosts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(
			entry(edgeURL+"/a", "", ""), entry("https://cdn.example.com/b", "", ""), entry("http://127.0.0.1:8080/c", "", ""))})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{SameHost: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := locs(res.URLs), []string{edgeURL + "/a", "http://127.0.0.1:8080/c"}; !slices.Equal(got, want) {
			t.Errorf("same host: URLs %q, want %q", got, want)
		}
		if len(res.Skipped) != 1 || res.Skipped[0].Loc != `"https://cdn.example.com/b"` || !strings.Contains(res.Skipped[0].Why, "another host") {
			t.Errorf("skipped %+v", res.Skipped)
		}
		res, err = sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil || len(res.URLs) != 3 || res.SkippedCount != 0 {
			t.Errorf("without the rule: %q, %+v, %v", locs(res.URLs), res.Skipped, err)
		}
	})
}

// An index's sitemap on another host than the index's, or plain http to
// a host that is not loopback, is skipped with why and never requested;
// one listed twice is read once.
func TestIndexSkipsSitemapsElsewhere(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 4,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index("https://evil.example/s.xml", edgeURL+"/a.xml", "http://www.example.com/s.xml", edgeURL+"/a.xml")},
			cloudflaretest.Page{Path: "/a.xml", Body: urlset(entry(edgeURL+"/a", "", ""))},
			cloudflaretest.Page{Path: "/s.xml", Body: urlset(entry(edgeURL+"/elsewhere", "", ""))})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/a"}) || len(fake.EdgeRequests()) != 2 {
			t.Errorf("URLs %q after %d request(s); want /a after 2", got, len(fake.EdgeRequests()))
		}
		if len(res.Skipped) != 2 || !strings.Contains(res.Skipped[0].Why, "another host than its index") || res.Skipped[0].Loc != `"https://evil.example/s.xml"` ||
			!strings.Contains(res.Skipped[1].Why, "another host") {
			t.Errorf("skipped %+v", res.Skipped)
		}
	})
}

// A redirecting sitemap is an error naming where it points (resolved,
// credentials hidden), and the redirect is not followed.
func TestRedirectIsAnErrorNamingLocation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 1,
			cloudflaretest.Page{Path: "/sitemap.xml", Status: http.StatusMovedPermanently, Also: http.Header{"Location": {"https://admin:s3cret@www.example.com/sitemap_index.xml"}}},
			cloudflaretest.Page{Path: "/old.xml", Status: http.StatusFound, Also: http.Header{"Location": {"/new.xml"}}},
			cloudflaretest.Page{Path: "/new.xml", Body: urlset(entry(edgeURL+"/a", "", ""))})
		for path, want := range map[string]string{
			"/sitemap.xml": `HTTP 301, a redirect to "https://***@www.example.com/sitemap_index.xml", not followed`,
			"/old.xml":     `HTTP 302, a redirect to "` + edgeURL + `/new.xml", not followed`,
		} {
			res, err := sitemap.Read(t.Context(), c, edgeURL+path, sitemap.Options{})
			redirect, ok := errors.AsType[*sitemap.RedirectError](err)
			if !ok || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), edgeURL+path) || strings.Contains(err.Error(), "s3cret") || strings.Contains(redirect.Location, "s3cret") {
				t.Errorf("%s: %v; want …%s…", path, err, want)
			}
			if len(res.URLs) != 0 {
				t.Errorf("%s: URLs %q", path, locs(res.URLs))
			}
		}
		if n := len(fake.EdgeRequests()); n != 2 {
			t.Errorf("%d requests; want 2 (no redirect followed)", n)
		}
	})
}

// A sitemap that never answers costs the context's deadline, not more;
// the index's other sitemaps are read meanwhile.
func TestHangingSitemapEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 4,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/hang.xml", edgeURL+"/a.xml")},
			cloudflaretest.Page{Path: "/hang.xml", Hang: true},
			cloudflaretest.Page{Path: "/a.xml", Body: urlset(entry(edgeURL+"/a", "", ""))})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		res, err := sitemap.Read(ctx, c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `sitemap "`+edgeURL+`/hang.xml": timeout reached`) || time.Since(start) != 10*time.Second {
			t.Errorf("err = %v after %s; want the timeout, naming the file, after 10 s", err, time.Since(start))
		}
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/a"}) {
			t.Errorf("URLs %q", got)
		}
	})
}

// A sitemap that drips its body a byte a second costs at most the
// context's deadline too.
func TestDrippingSitemapEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(entry(edgeURL+"/a", "", "")), Drip: time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		start := time.Now()
		_, err := sitemap.Read(ctx, c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 20*time.Second {
			t.Errorf("err = %v after %s; want the timeout after 20 s", err, time.Since(start))
		}
	})
}

// A 429 with Retry-After is asked again after it, within the deadline.
func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(entry(edgeURL+"/a", "", "")),
			Before: []cloudflaretest.Response{{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "7"}}}})
		start := time.Now()
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil || len(res.URLs) != 1 || time.Since(start) != 7*time.Second || len(fake.EdgeRequests()) != 2 {
			t.Errorf("URLs %q, %v after %s and %d request(s); want /a after 7 s and 2", locs(res.URLs), err, time.Since(start), len(fake.EdgeRequests()))
		}
	})
}

// An index inside an index is an error naming it, and it is not read
// further; the index's other sitemaps are.
func TestNestedIndexIsAnError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 1,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/inner.xml", edgeURL+"/a.xml")},
			cloudflaretest.Page{Path: "/inner.xml", Body: gz(index(edgeURL + "/deep.xml"))},
			cloudflaretest.Page{Path: "/deep.xml", Body: urlset(entry(edgeURL+"/deep", "", ""))},
			cloudflaretest.Page{Path: "/a.xml", Body: urlset(entry(edgeURL+"/a", "", ""))})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		fileErr, ok := errors.AsType[*sitemap.Error](err)
		if !errors.Is(err, sitemap.ErrNestedIndex) || !ok || fileErr.Sitemap != edgeURL+"/inner.xml" || !strings.Contains(err.Error(), "inner.xml") {
			t.Errorf("err = %v; want a nested index, naming it", err)
		}
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/a"}) || len(fake.EdgeRequests()) != 3 {
			t.Errorf("URLs %q after %d request(s); want /a after 3", got, len(fake.EdgeRequests()))
		}
	})
}

// What is not a sitemap is an error naming the file: a page that answers
// 404, an HTML page, gzip that does not decompress, XML that is not
// well-formed or not UTF-8 (US-ASCII is). The index's other sitemaps are
// read.
func TestFilesThatAreNoSitemapsAreErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		good := gz("\uFEFF" + urlset(entry(edgeURL+"/a", "", ""))) // a byte order mark is fine
		crc := []byte(good)
		crc[len(crc)-8] ^= 1 // gzip's trailer: the CRC-32, then the size
		_, c := serve(t, 2,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/gone.xml", edgeURL+"/page.xml", edgeURL+"/broken.gz", edgeURL+"/bad.xml",
				edgeURL+"/a.xml", edgeURL+"/empty.xml", edgeURL+"/crc.gz", edgeURL+"/latin1.xml", edgeURL+"/ascii.xml")},
			cloudflaretest.Page{Path: "/ascii.xml", Body: `<?xml version="1.0" encoding="US-ASCII"?><urlset><url><loc>` + edgeURL + "/c</loc></url></urlset>"},
			cloudflaretest.Page{Path: "/crc.gz", Body: string(crc)},
			cloudflaretest.Page{Path: "/latin1.xml", Body: `<?xml version="1.0" encoding="ISO-8859-1"?><urlset><url><loc>` + edgeURL + "/caf\xe9</loc></url></urlset>"},
			cloudflaretest.Page{Path: "/gone.xml", Status: http.StatusNotFound},
			cloudflaretest.Page{Path: "/page.xml", Body: "<!DOCTYPE html>\n<html><body>Not here</body></html>"},
			cloudflaretest.Page{Path: "/broken.gz", Body: good[:len(good)/2]},
			cloudflaretest.Page{Path: "/bad.xml", Body: urlset(entry(edgeURL+"/b", "", ""), "<url><loc>"+edgeURL+"/c</loc></lru>")},
			cloudflaretest.Page{Path: "/empty.xml", Body: ""},
			cloudflaretest.Page{Path: "/a.xml", Body: good})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		for _, want := range []string{
			`sitemap "` + edgeURL + `/gone.xml": HTTP 404`,
			`sitemap "` + edgeURL + `/page.xml": not a sitemap: its root element is <html>`,
			`sitemap "` + edgeURL + `/broken.gz": cut short: the file ends in the middle`,
			`sitemap "` + edgeURL + `/crc.gz": gzip data that does not decompress (gzip: invalid checksum)`,
			`sitemap "` + edgeURL + `/latin1.xml": declares the encoding "ISO-8859-1"; a sitemap is UTF-8`,
			`sitemap "` + edgeURL + `/empty.xml": not a sitemap: no XML element in it`,
			`sitemap "` + edgeURL + `/bad.xml": not well-formed XML (line 6: element <url> closed by </lru>)`,
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v; want …%s…", err, want)
			}
		}
		if errors.Is(err, sitemap.ErrBound) {
			t.Errorf("err = %v; none is a bound", err)
		}
		// bad.xml's URL before the break comes back, with the error: a
		// files purge stops on it, a check may use what was read.
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/b", edgeURL + "/a", edgeURL + "/c"}) {
			t.Errorf("URLs %q", got)
		}
	})
}

// many is a sitemap of n URLs, edgeURL/<prefix><i>.
func many(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for i := range n {
		fmt.Fprintf(&b, "<url><loc>%s/%s%d</loc></url>\n", edgeURL, prefix, i)
	}
	b.WriteString("</urlset>")
	return b.String()
}

// A file of more than MaxFileURLs gives its first MaxFileURLs, and an
// error naming it and the bound.
func TestFileBoundOfURLs(t *testing.T) {
	t.Parallel()
	body := many("p", sitemap.MaxFileURLs+1)
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml.gz", Body: body})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml.gz", sitemap.Options{})
		if !errors.Is(err, sitemap.ErrFileTooManyURLs) || !errors.Is(err, sitemap.ErrBound) || !strings.Contains(err.Error(), `"`+edgeURL+`/sitemap.xml.gz": more than 50000 URLs`) {
			t.Errorf("err = %v", err)
		}
		if len(res.URLs) != sitemap.MaxFileURLs || res.URLs[len(res.URLs)-1].Loc != fmt.Sprintf("%s/p%d", edgeURL, sitemap.MaxFileURLs-1) {
			t.Errorf("%d URLs, the last %+v", len(res.URLs), res.URLs[len(res.URLs)-1])
		}
	})
}

// More than MaxURLs in all: the first MaxURLs, in the index's order
// whichever sitemap answered first, and an error naming the sitemap that
// passed the bound. Duplicates do not count.
func TestBoundOfURLsInAll(t *testing.T) {
	t.Parallel()
	sizes := []int{sitemap.MaxFileURLs, sitemap.MaxURLs - sitemap.MaxFileURLs - 10, 20, 20}
	pages := []cloudflaretest.Page{{Path: "/sitemap.xml", Body: index(edgeURL+"/0.xml", edgeURL+"/dup.xml", edgeURL+"/1.xml", edgeURL+"/2.xml", edgeURL+"/3.xml")}}
	for i, n := range sizes {
		pages = append(pages, cloudflaretest.Page{Path: fmt.Sprintf("/%d.xml", i), Body: many(fmt.Sprintf("%d/", i), n)})
	}
	pages = append(pages, cloudflaretest.Page{Path: "/dup.xml", Body: gz(many("0/", 1000))})
	synctest.Test(t, func(t *testing.T) {
		fake, _ := serve(t, 8, pages...)
		// The first sitemaps answer last: the order kept is still the index's.
		var order []string
		var mu sync.Mutex
		c := site.NewClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")); err == nil {
				time.Sleep(time.Duration(4-n) * time.Second)
			}
			mu.Lock()
			order = append(order, r.URL.Path)
			mu.Unlock()
			return fake.Client().Transport.RoundTrip(r)
		})}, userAgent, 8)
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		fileErr, ok := errors.AsType[*sitemap.Error](err)
		if !errors.Is(err, sitemap.ErrTooManyURLs) || !ok || fileErr.Sitemap != edgeURL+"/2.xml" || !strings.Contains(err.Error(), "more than 100000 URLs in all") {
			t.Errorf("err = %v; want the bound of URLs in all, at 2.xml", err)
		}
		if len(res.URLs) != sitemap.MaxURLs || res.URLs[len(res.URLs)-1].Loc != edgeURL+"/2/9" || res.Duplicates != 1000 {
			t.Errorf("%d URLs, the last %+v, %d duplicates", len(res.URLs), res.URLs[len(res.URLs)-1], res.Duplicates)
		}
		if want := []string{edgeURL + "/sitemap.xml", edgeURL + "/0.xml", edgeURL + "/dup.xml", edgeURL + "/1.xml", edgeURL + "/2.xml"}; !slices.Equal(res.Sitemaps, want) {
			t.Errorf("sitemaps %q, want %q", res.Sitemaps, want)
		}
		// 3.xml starts once 0.xml is merged, and is cancelled with the bound.
		if want := []string{"/sitemap.xml", "/dup.xml", "/2.xml", "/1.xml", "/0.xml", "/3.xml"}; !slices.Equal(order, want) {
			t.Errorf("answered in the order %q; the test wants %q", order, want)
		}
	})
}

// An index of more than MaxChildren sitemaps: the first MaxChildren are
// read, the rest not requested, and an error names the index.
func TestBoundOfSitemapsInAnIndex(t *testing.T) {
	t.Parallel()
	var children []string
	pages := []cloudflaretest.Page{{}}
	for i := range sitemap.MaxChildren + 1 {
		children = append(children, fmt.Sprintf("%s/s%d.xml", edgeURL, i))
		pages = append(pages, cloudflaretest.Page{Path: fmt.Sprintf("/s%d.xml", i), Body: urlset(entry(fmt.Sprintf("%s/%d", edgeURL, i), "", ""))})
	}
	pages[0] = cloudflaretest.Page{Path: "/sitemap.xml", Body: index(children...)}
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 8, pages...)
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if !errors.Is(err, sitemap.ErrTooManyChildren) || !strings.Contains(err.Error(), `sitemap "`+edgeURL+`/sitemap.xml": lists more than 100 sitemaps`) {
			t.Errorf("err = %v", err)
		}
		if len(res.URLs) != sitemap.MaxChildren || len(fake.EdgeRequests()) != sitemap.MaxChildren+1 {
			t.Errorf("%d URLs after %d requests; want %d after %d", len(res.URLs), len(fake.EdgeRequests()), sitemap.MaxChildren, sitemap.MaxChildren+1)
		}
	})
}

// When the deadline comes before an index's sitemaps are all read, the
// error names those not read, and what was read comes back.
func TestDeadlineLeavesSitemapsUnread(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 1,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/a.xml", edgeURL+"/hang.xml", edgeURL+"/b.xml", edgeURL+"/c.xml")},
			cloudflaretest.Page{Path: "/a.xml", Body: urlset(entry(edgeURL+"/a", "", ""))},
			cloudflaretest.Page{Path: "/hang.xml", Hang: true},
			cloudflaretest.Page{Path: "/b.xml", Body: urlset(entry(edgeURL+"/b", "", ""))},
			cloudflaretest.Page{Path: "/c.xml", Body: urlset(entry(edgeURL+"/c", "", ""))})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		res, err := sitemap.Read(ctx, c, edgeURL+"/sitemap.xml", sitemap.Options{})
		for _, want := range []string{`sitemap "` + edgeURL + `/hang.xml": timeout reached`, `sitemap "` + edgeURL + `/sitemap.xml": 2 of its 4 sitemaps not read: timeout reached`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v; want …%s…", err, want)
			}
		}
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/a"}) || len(fake.EdgeRequests()) != 3 {
			t.Errorf("URLs %q after %d request(s)", got, len(fake.EdgeRequests()))
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A sitemap URL that no request to the site may have is an error naming
// it (credentials hidden), and nothing is requested.
func TestUnrequestableSitemapIsNotRequested(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(entry(edgeURL+"/a", "", ""))})
		for _, u := range []string{"http://admin:s3cret@127.0.0.1:9/sitemap.xml", "http://www.example.com/sitemap.xml", "ftp://127.0.0.1:9/sitemap.xml", "/sitemap.xml"} {
			res, err := sitemap.Read(t.Context(), c, u, sitemap.Options{})
			if _, ok := errors.AsType[*sitemap.Error](err); !ok || strings.Contains(err.Error(), "s3cret") || len(res.Sitemaps) != 0 {
				t.Errorf("%s: %+v, %v", u, res, err)
			}
		}
		if n := len(fake.EdgeRequests()); n != 0 {
			t.Errorf("%d request(s)", n)
		}
	})
}

// A body that comes a byte at a time is bounded by one request's bound
// when the context has no deadline.
func TestDrippingSitemapEndsAtTheAttemptBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 1, cloudflaretest.Page{Path: "/sitemap.xml", Body: urlset(entry(edgeURL+"/a", "", "")), Drip: time.Second})
		start := time.Now()
		_, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err == nil || !strings.Contains(err.Error(), "not read whole within 30s") || time.Since(start) != site.AttemptTimeout {
			t.Errorf("err = %v after %s; want the attempt's bound after %s", err, time.Since(start), site.AttemptTimeout)
		}
	})
}

// At most MaxSkipsShown skipped <loc>s are listed, across files; all are
// counted.
func TestSkipsShownAreBounded(t *testing.T) {
	t.Parallel()
	bad := func(n int) string {
		entries := make([]string, n)
		for i := range entries {
			entries[i] = entry(fmt.Sprintf("/relative/%d", i), "", "")
		}
		return urlset(entries...)
	}
	synctest.Test(t, func(t *testing.T) {
		_, c := serve(t, 2,
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/a.xml", edgeURL+"/b.xml")},
			cloudflaretest.Page{Path: "/a.xml", Body: bad(60)},
			cloudflaretest.Page{Path: "/b.xml", Body: bad(150)})
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
		if err != nil || res.SkippedCount != 210 || len(res.Skipped) != sitemap.MaxSkipsShown {
			t.Fatalf("%d skipped, %d shown, %v", res.SkippedCount, len(res.Skipped), err)
		}
		if first, last := res.Skipped[0], res.Skipped[sitemap.MaxSkipsShown-1]; first.Loc != `"/relative/0"` || last.Loc != `"/relative/39"` || last.Sitemap != `"`+edgeURL+`/b.xml"` {
			t.Errorf("shown from %+v to %+v", first, last)
		}
	})
}

// An index's sitemaps are read a few at once: never more than the
// client's Concurrency, nor more than 4.
func TestSitemapsReadAFewAtOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ concurrency, want int }{{1, 1}, {2, 2}, {8, 4}} {
		t.Run(fmt.Sprint(tt.concurrency), func(t *testing.T) {
			t.Parallel()
			var children []string
			pages := []cloudflaretest.Page{{}}
			for i := range 10 {
				children = append(children, fmt.Sprintf("%s/s%d.xml", edgeURL, i))
				pages = append(pages, cloudflaretest.Page{Path: fmt.Sprintf("/s%d.xml", i), Body: urlset(entry(fmt.Sprintf("%s/%d", edgeURL, i), "", ""))})
			}
			pages[0] = cloudflaretest.Page{Path: "/sitemap.xml", Body: index(children...)}
			synctest.Test(t, func(t *testing.T) {
				fake, _ := serve(t, 1, pages...)
				var mu sync.Mutex
				inFlight, most := 0, 0
				c := site.NewClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					mu.Lock()
					inFlight++
					most = max(most, inFlight)
					mu.Unlock()
					defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
					time.Sleep(time.Second) // the answers overlap
					return fake.Client().Transport.RoundTrip(r)
				})}, userAgent, tt.concurrency)
				res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{})
				if err != nil || len(res.URLs) != 10 || most != tt.want {
					t.Errorf("%d URLs, %v, %d at most in flight; want 10, %d", len(res.URLs), err, most, tt.want)
				}
			})
		})
	}
}

// A sitemap of an index whose URL holds a secret of the action's is not
// requested: the guard's error says so, and the caller can tell it
// (*outbound.RefusedError) and take the raw URL to redact. A <loc> that
// holds one is shown as the caller's Quote shows it, which redacts.
func TestSitemapHoldingASecretIsNotRequested(t *testing.T) {
	t.Parallel()
	const secret = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/sitemap.xml", Body: index(edgeURL+"/"+secret+".xml", edgeURL+"/a.xml")},
			cloudflaretest.Page{Path: "/" + secret + ".xml", Body: urlset(entry(edgeURL+"/leak", "", ""))},
			cloudflaretest.Page{Path: "/a.xml", Body: urlset(entry(edgeURL+"/a", "", ""), entry(edgeURL+"/*"+secret, "", ""))}))
		defer fake.Close()
		c := site.NewClient(fake.Client(), userAgent, 1, secret)
		var redactor safetext.Redactor
		redactor.Add(secret)
		quote := func(s string) string { return safetext.Quote(redactor.Redact(s)) }
		res, err := sitemap.Read(t.Context(), c, edgeURL+"/sitemap.xml", sitemap.Options{Quote: quote})
		refused, ok := errors.AsType[*outbound.RefusedError](err)
		fileErr, _ := errors.AsType[*sitemap.Error](err)
		if !ok || refused.Where != "URL" || fileErr == nil || fileErr.Sitemap != edgeURL+"/"+secret+".xml" {
			t.Errorf("err = %v; want the guard's refusal of the raw URL", err)
		}
		if len(res.Skipped) != 1 || res.Skipped[0].Loc != `"`+edgeURL+`/****"` {
			t.Errorf("skipped %+v; want the caller's quoting", res.Skipped)
		}
		if got := locs(res.URLs); !slices.Equal(got, []string{edgeURL + "/a"}) || len(fake.EdgeRequests()) != 2 {
			t.Errorf("URLs %q after %d request(s)", got, len(fake.EdgeRequests()))
		}
	})
}
