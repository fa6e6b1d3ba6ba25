package cloudflaretest_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// The global API window counts every call, lookups too; the call past the
// limit blocks the token for a whole window, whatever the purge bucket.
func TestAPIWindowBlocksForAWholeSpan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := &cloudflaretest.APIWindow{Limit: 3, Span: time.Minute}
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithAPIWindow(w))
		defer fake.Close()
		c := fake.Client()
		call := func(get bool) (int, string) {
			t.Helper()
			var resp *http.Response
			var err error
			if get {
				resp, err = c.Get(fake.BaseURL() + "/zones?name=example.com")
			} else {
				resp, err = c.Post(fake.BaseURL()+"/zones/z/purge_cache", "application/json", strings.NewReader(`{"tags":["a"]}`))
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Retry-After")
		}
		for i, get := range []bool{false, true, false} {
			if status, _ := call(get); status != 200 {
				t.Fatalf("call %d: %d, want 200 within the limit", i+1, status)
			}
		}
		time.Sleep(10 * time.Second)
		if status, retryAfter := call(false); status != 429 || retryAfter != "60" {
			t.Errorf("the call past the limit: %d, Retry-After %q; want 429, 60", status, retryAfter)
		}
		// The first calls have left the window, but the block holds.
		time.Sleep(55 * time.Second)
		if status, retryAfter := call(true); status != 429 || retryAfter != "5" {
			t.Errorf("a call while blocked: %d, Retry-After %q; want 429, 5", status, retryAfter)
		}
		time.Sleep(5 * time.Second)
		if status, _ := call(false); status != 200 {
			t.Errorf("a call after the block: %d, want 200", status)
		}
		if w.Limited() != 2 {
			t.Errorf("Limited() = %d, want 2", w.Limited())
		}
	})
}
