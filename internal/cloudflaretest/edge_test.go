package cloudflaretest_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// The edge shares its state with the fake API: a purged page answers MISS
// once, then HIT with a growing Age; one not purged, HIT with an old Age.
func TestEdgeAnswersByWhatTheAPIPurged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/a"}, cloudflaretest.Page{Path: "/b"},
			cloudflaretest.Page{Path: "/m", KeyHeaders: []string{"CF-Device-Type"}}))
		defer fake.Close()
		c := fake.Client()
		get := func(path, device string) (string, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, fake.EdgeURL()+path, nil)
			if device != "" {
				req.Header.Set("CF-Device-Type", device)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.Header.Get("CF-Cache-Status"), resp.Header.Get("Age")
		}
		body := `{"files":["` + fake.EdgeURL() + `/a",{"url":"` + fake.EdgeURL() + `/m","headers":{"CF-Device-Type":"mobile"}}]}`
		resp, err := c.Post(fake.BaseURL()+"/zones/z/purge_cache", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		time.Sleep(5 * time.Second)
		for _, tt := range []struct {
			path, device, status, age string
		}{
			{"/a", "", "MISS", ""},
			{"/b", "", "HIT", "3605"},
			{"/m", "mobile", "MISS", ""},
			{"/m", "desktop", "HIT", "3605"},
		} {
			if status, age := get(tt.path, tt.device); status != tt.status || age != tt.age {
				t.Errorf("%s (%s): %s, Age %q; want %s, Age %q", tt.path, tt.device, status, age, tt.status, tt.age)
			}
		}
		time.Sleep(7 * time.Second)
		if status, age := get("/a", ""); status != "HIT" || age != "7" {
			t.Errorf("/a after its refill: %s, Age %q; want HIT, Age 7", status, age)
		}
		if n := len(fake.EdgeRequests()); n != 5 {
			t.Errorf("%d edge requests recorded, want 5", n)
		}
	})
}

func TestEdgeHostsAndPrefixesPurgeOnlyTheirOwn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/blog/a"}, cloudflaretest.Page{Path: "/shop/b"}))
		defer fake.Close()
		c := fake.Client()
		for _, body := range []string{`{"hosts":["www.example.com"]}`, `{"prefixes":["www.example.com/blog"]}`, `{"prefixes":["127.0.0.1/blog"]}`} {
			resp, err := c.Post(fake.BaseURL()+"/zones/z/purge_cache", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		for path, want := range map[string]string{"/blog/a": "MISS", "/shop/b": "HIT"} {
			resp, err := c.Get(fake.EdgeURL() + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("CF-Cache-Status"); got != want {
				t.Errorf("%s: %s, want %s", path, got, want)
			}
		}
	})
}

// In memory, the edge's answers stream as from a socket: a dripping page's
// headers come at once and its body a byte each Drip (a client that closes
// it early ends the drip); a page that resets after its body gives the
// body, then an error.
func TestEdgeStreamsDripsAndResets(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/drip", Body: "abc", Drip: time.Second},
			cloudflaretest.Page{Path: "/reset", Body: "text", ResetAfterBody: true}))
		defer fake.Close()
		c := fake.Client()
		start := time.Now()
		resp, err := c.Get(fake.EdgeURL() + "/drip")
		if err != nil || resp.StatusCode != http.StatusOK || time.Since(start) != 0 {
			t.Fatalf("headers after %s: %v, %v", time.Since(start), resp, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "abc" || err != nil || time.Since(start) != 3*time.Second {
			t.Errorf("body %q, %v after %s; want abc after 3s", body, err, time.Since(start))
		}

		resp, err = c.Get(fake.EdgeURL() + "/drip")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() // the drip ends, or the bubble would never empty

		resp, err = c.Get(fake.EdgeURL() + "/reset")
		if err != nil {
			t.Fatal(err)
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "text" || err == nil {
			t.Errorf("body %q, %v; want the text, then an error", body, err)
		}
	})
}

// An origin error is never stored: a 502 answers MISS each time, as
// Cloudflare fetches it again, not HIT with an Age; a Dynamic page's 526
// answers DYNAMIC.
func TestEdgeServesOriginErrorsFromTheOriginEachTime(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/502", Status: http.StatusBadGateway},
			cloudflaretest.Page{Path: "/526", Status: 526, Dynamic: true}))
		defer fake.Close()
		c := fake.Client()
		for _, tt := range []struct {
			path   string
			status int
			cache  string
		}{{"/502", 502, "MISS"}, {"/502", 502, "MISS"}, {"/526", 526, "DYNAMIC"}} {
			resp, err := c.Get(fake.EdgeURL() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("CF-Cache-Status") != tt.cache || resp.Header.Get("Age") != "" {
				t.Errorf("%s: %d %s, Age %q; want %d %s, no Age", tt.path, resp.StatusCode, resp.Header.Get("CF-Cache-Status"), resp.Header.Get("Age"), tt.status, tt.cache)
			}
		}
	})
}

// In memory, a page that refuses connections gives the client a dial
// error, as a closed port does, and is recorded without a status.
func TestEdgeRefusesConnections(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/down", Refuse: true}))
		defer fake.Close()
		resp, err := fake.Client().Get(fake.EdgeURL() + "/down")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("HTTP %d; want the connection refused", resp.StatusCode)
		}
		if op, ok := errors.AsType[*net.OpError](err); !ok || op.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("err = %v; want a dial error, connection refused", err)
		}
		if reqs := fake.EdgeRequests(); len(reqs) != 1 || reqs[0].Status != 0 {
			t.Errorf("recorded %+v; want the request, without a status", reqs)
		}
	})
}

// On loopback, where a refusal cannot be per path, the edge closes the
// connection before any answer.
func TestEdgeOnLoopbackClosesARefusedPagesConnection(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New(cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/down", Refuse: true}))
	defer fake.Close()
	resp, err := http.Get(fake.EdgeURL() + "/down")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP %d; want the connection closed", resp.StatusCode)
	}
	if reqs := fake.EdgeRequests(); len(reqs) == 0 || reqs[0].Status != 0 {
		t.Errorf("recorded %+v; want the request, without a status", reqs)
	}
}

// A page with image variants serves each Accept the first variant it
// names, each a copy of its own; one purge of the URL removes them all.
func TestEdgeKeepsACopyPerImageVariant(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithEdge(
			cloudflaretest.Page{Path: "/logo.png", Variants: []string{"image/avif", "image/webp"}}))
		defer fake.Close()
		c := fake.Client()
		purge := func() {
			t.Helper()
			resp, err := c.Post(fake.BaseURL()+"/zones/z/purge_cache", "application/json", strings.NewReader(`{"files":["`+fake.EdgeURL()+`/logo.png"]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			time.Sleep(time.Second)
		}
		get := func(accept, wantType, wantCache string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, fake.EdgeURL()+"/logo.png", nil)
			req.Header.Set("Accept", accept)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if typ, cache := resp.Header.Get("Content-Type"), resp.Header.Get("CF-Cache-Status"); typ != wantType || cache != wantCache || resp.Header.Get("Vary") != "Accept" {
				t.Errorf("Accept %s: %s, %s, Vary %q; want %s, %s, Vary Accept", accept, typ, cache, resp.Header.Get("Vary"), wantType, wantCache)
			}
		}
		purge()
		get("image/avif,image/webp,*/*", "image/avif", "MISS")
		get("image/avif,image/webp,*/*", "image/avif", "HIT")
		get("image/webp,*/*", "image/webp", "MISS") // a copy of its own
		get("*/*", "text/html", "MISS")
		purge()
		get("image/webp;q=0.9", "image/webp", "MISS")
		get("image/avif", "image/avif", "MISS")
	})
}
