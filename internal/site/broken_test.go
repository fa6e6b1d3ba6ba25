package site_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// fakeClient is a client of the fake's edge, in memory.
func fakeClient(fake *cloudflaretest.Server, concurrency int) *site.Client {
	return site.NewClient(fake.Client(), "cloudflare-purge-action/test", concurrency)
}

// purge has the fake API purge body's targets, as a confirmed purge
// does, a second ago: a copy stored from now on is younger than the purge.
func purge(t *testing.T, fake *cloudflaretest.Server, body string) {
	t.Helper()
	resp, err := fake.Client().Post(fake.BaseURL()+"/zones/z/purge_cache", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(time.Second)
}

// offsets are the times of the edge's requests for path, from start.
func offsets(fake *cloudflaretest.Server, path string, start time.Time) []time.Duration {
	var out []time.Duration
	for _, r := range fake.EdgeRequests() {
		if r.Path == path {
			out = append(out, r.At.Sub(start))
		}
	}
	return out
}

func TestJudgeSaysAServerErrorIsBroken(t *testing.T) {
	t.Parallel()
	purged := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	at := purged.Add(10 * time.Second)
	tests := []struct {
		status     int
		cache, age string
		want       site.Verdict
		why        string
	}{
		{502, "MISS", "", site.Broken, "HTTP 502 (Bad Gateway)"},
		{502, "DYNAMIC", "", site.Broken, "HTTP 502 (Bad Gateway)"},
		{500, "HIT", "0", site.Broken, "HTTP 500 (Internal Server Error)"},
		{503, "", "", site.Broken, "HTTP 503 (Service Unavailable)"},
		{520, "MISS", "", site.Broken, "HTTP 520 (Cloudflare: the origin returned an unknown error)"},
		{521, "", "", site.Broken, "HTTP 521 (Cloudflare: web server down)"},
		{522, "", "", site.Broken, "HTTP 522 (Cloudflare: connection to the origin timed out)"},
		{523, "", "", site.Broken, "HTTP 523 (Cloudflare: origin unreachable)"},
		{524, "", "", site.Broken, "HTTP 524 (Cloudflare: a timeout occurred waiting for the origin)"},
		{525, "", "", site.Broken, "HTTP 525 (Cloudflare: SSL handshake with the origin failed)"},
		{526, "DYNAMIC", "", site.Broken, "HTTP 526 (Cloudflare: invalid SSL certificate at the origin)"},
		{530, "", "", site.Broken, "HTTP 530 (Cloudflare: origin DNS error or 1xxx error)"},
		{599, "MISS", "", site.Broken, "HTTP 599"},
		// Any other answer, 4xx included, is judged by its cache headers.
		{404, "MISS", "", site.Fresh, ""},
		{404, "HIT", "86400", site.Stale, ""},
		{410, "DYNAMIC", "", site.Fresh, ""},
		{499, "HIT", "3", site.Fresh, ""},
		{600, "MISS", "", site.Fresh, ""},
	}
	for _, tt := range tests {
		got, why := site.Judge(site.Response{Status: tt.status, CacheStatus: tt.cache, Age: tt.age, At: at}, purged)
		if got != tt.want || why != tt.why {
			t.Errorf("HTTP %d, CF-Cache-Status %q, Age %q: %v (%q), want %v (%q)", tt.status, tt.cache, tt.age, got, why, tt.want, tt.why)
		}
	}
	if got, _ := site.Judge(site.Response{Status: 404, At: at}, purged); got != site.Unjudged {
		t.Errorf("a 404 without CF-Cache-Status: %v, want not checked", got)
	}
}

// A 502 or a 526 fetched from the origin (MISS) or never cached (DYNAMIC)
// is broken, not fresh, after the same requests, at the same times, as a
// URL that stays stale; the check keeps the last answer's status.
func TestVerifyJudgesAnOriginErrorBrokenAfterTheRechecksOfAStaleURL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/502-miss", Status: 502},
			cloudflaretest.Page{Path: "/502-dynamic", Status: 502, Dynamic: true},
			cloudflaretest.Page{Path: "/526-miss", Status: 526},
			cloudflaretest.Page{Path: "/526-dynamic", Status: 526, Dynamic: true},
			cloudflaretest.Page{Path: "/stale"})) // not purged: HIT with an hour's Age
		defer fake.Close()
		start := time.Now()
		paths := []string{"/502-miss", "/502-dynamic", "/526-miss", "/526-dynamic", "/stale"}
		targets := make([]site.Target, len(paths))
		for i, p := range paths {
			targets[i] = site.Target{URL: fake.EdgeURL() + p, Purged: start}
		}
		checks := fakeClient(fake, len(paths)).Verify(t.Context(), targets)
		if c := checks[4]; c.Verdict != site.Stale || c.Attempts != 5 {
			t.Fatalf("the stale URL: %+v", c)
		}
		staleTimes := offsets(fake, "/stale", start)
		for i, tt := range []struct {
			status int
			cache  string
			why    string
		}{
			{502, "MISS", "HTTP 502 (Bad Gateway)"},
			{502, "DYNAMIC", "HTTP 502 (Bad Gateway)"},
			{526, "MISS", "HTTP 526 (Cloudflare: invalid SSL certificate at the origin)"},
			{526, "DYNAMIC", "HTTP 526 (Cloudflare: invalid SSL certificate at the origin)"},
		} {
			c := checks[i]
			if c.Verdict != site.Broken || c.Response.Status != tt.status || c.Response.CacheStatus != tt.cache || c.Why != tt.why || c.Err != nil {
				t.Errorf("%s: %v, HTTP %d %s, %q, %v; want broken, HTTP %d %s, %q", paths[i], c.Verdict, c.Response.Status, c.Response.CacheStatus, c.Why, c.Err, tt.status, tt.cache, tt.why)
			}
			if got := offsets(fake, paths[i], start); c.Attempts != 5 || !slices.Equal(got, staleTimes) {
				t.Errorf("%s: %d attempt(s) at %v; want the stale URL's, at %v", paths[i], c.Attempts, got, staleTimes)
			}
		}
	})
}

// A deploy still settling: a 500 at first, then the new page.
func TestVerifyRechecksAnOriginErrorUntilItRecovers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		settling := cloudflaretest.Response{Status: 500, Header: map[string]string{"CF-Cache-Status": "MISS"}}
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/", Dynamic: true, Before: []cloudflaretest.Response{settling}}))
		defer fake.Close()
		checks := fakeClient(fake, 1).Verify(t.Context(), []site.Target{{URL: fake.EdgeURL() + "/", Purged: time.Now()}})
		if c := checks[0]; c.Verdict != site.Fresh || c.Attempts != 2 || c.Response.Status != 200 || c.Why != "" {
			t.Errorf("check = %+v; want fresh at the second request", c)
		}
	})
}

// A URL that refuses the connection is broken, with the reason, after the
// rechecks of a stale URL.
func TestVerifyJudgesAnUnreachableURLBroken(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/", Refuse: true}))
		defer fake.Close()
		checks := fakeClient(fake, 1).Verify(t.Context(), []site.Target{{URL: fake.EdgeURL() + "/", Purged: time.Now()}})
		c := checks[0]
		if c.Verdict != site.Broken || !errors.Is(c.Err, syscall.ECONNREFUSED) || c.Response.Status != 0 {
			t.Errorf("check = %+v; want broken, connection refused", c)
		}
		if !strings.HasPrefix(c.Why, "no answer: ") || !strings.HasSuffix(c.Why, "connection refused") {
			t.Errorf("why = %q; want the dial error", c.Why)
		}
		if c.Attempts != 5 || len(fake.EdgeRequests()) != 5 {
			t.Errorf("%d attempt(s), %d request(s); want 5 of each", c.Attempts, len(fake.EdgeRequests()))
		}
	})
}

// The run's end is not the site's failure: a URL the run was cancelled
// before is not checked, not broken.
func TestVerifyCancelledIsNotBroken(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: answer(200, "MISS", "")}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		checks := client(e, 1).Verify(ctx, []site.Target{{URL: "https://www.example.com/"}})
		if c := checks[0]; c.Verdict != site.Unjudged || !errors.Is(c.Err, context.Canceled) {
			t.Errorf("check = %+v; want not checked, cancelled", c)
		}
	})
}

// A recheck that cannot be made (the site asked to wait past the
// deadline) leaves the last answer's judgement: broken, HTTP 503.
func TestVerifyKeepsTheLastJudgementWhenARecheckCannotBeMade(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusServiceUnavailable)
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		checks := client(e, 1).Verify(ctx, []site.Target{{URL: "https://www.example.com/"}})
		if c := checks[0]; c.Verdict != site.Broken || c.Why != "HTTP 503 (Service Unavailable)" || c.Attempts != 1 || e.count() != 1 {
			t.Errorf("check = %+v after %d request(s); want broken by the one 503", c, e.count())
		}
	})
}

// A 404 is judged by its cache headers: fetched since the purge it is
// fresh (the deploy removed the page); an older cached one is stale.
func TestVerifyJudgesA404ByItsCacheHeaders(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/removed", Status: 404},
			cloudflaretest.Page{Path: "/cached-404", Status: 404}))
		defer fake.Close()
		purge(t, fake, `{"files":["`+fake.EdgeURL()+`/removed"]}`)
		now := time.Now()
		checks := fakeClient(fake, 2).Verify(t.Context(), []site.Target{{URL: fake.EdgeURL() + "/removed", Purged: now}, {URL: fake.EdgeURL() + "/cached-404", Purged: now}})
		if c := checks[0]; c.Verdict != site.Fresh || c.Response.Status != 404 || c.Response.CacheStatus != "MISS" || c.Attempts != 1 {
			t.Errorf("removed page: %+v; want fresh, 404 MISS", c)
		}
		if c := checks[1]; c.Verdict != site.Stale || c.Response.Status != 404 || c.Response.CacheStatus != "HIT" || c.Attempts != 5 {
			t.Errorf("cached 404: %+v; want stale, 404 HIT, after 5 requests", c)
		}
	})
}

// Warm's broken answers (5xx, unreachable) are failures, counted apart;
// a 404 or a URL not requested fails without being broken.
func TestWarmCountsBrokenAnswers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/ok"},
			cloudflaretest.Page{Path: "/502", Status: 502},
			cloudflaretest.Page{Path: "/526", Status: 526, Dynamic: true},
			cloudflaretest.Page{Path: "/down", Refuse: true},
			cloudflaretest.Page{Path: "/gone", Status: 404}))
		defer fake.Close()
		var targets []site.Target
		for _, p := range []string{"/ok", "/502", "/526", "/down", "/gone"} {
			targets = append(targets, site.Target{URL: fake.EdgeURL() + p})
		}
		targets = append(targets, site.Target{URL: "http://www.example.com/plain"})
		warmed := fakeClient(fake, 2).Warm(t.Context(), targets)
		for i, tt := range []struct {
			ok, broken bool
			why        string
		}{
			{true, false, ""},
			{false, true, "HTTP 502 (Bad Gateway)"},
			{false, true, "HTTP 526 (Cloudflare: invalid SSL certificate at the origin)"},
			{false, true, "dial tcp 127.0.0.1:9: connect: connection refused"},
			{false, false, "HTTP 404 (Not Found)"},
			{false, false, site.ErrNotHTTPS.Error()},
		} {
			if w := warmed[i]; w.OK() != tt.ok || w.Broken() != tt.broken || w.Why() != tt.why {
				t.Errorf("%s: OK %t, broken %t, %q; want %t, %t, %q", w.Target.URL, w.OK(), w.Broken(), w.Why(), tt.ok, tt.broken, tt.why)
			}
		}
		if n := site.CountBroken(warmed); n != 3 {
			t.Errorf("%d broken; want 3", n)
		}
	})
}
