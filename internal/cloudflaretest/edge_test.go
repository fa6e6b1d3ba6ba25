package cloudflaretest_test

import (
	"io"
	"net/http"
	"strings"
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
