package cloudflaretest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// The common case of a refused purge: the purge is refused with 403,
// code 10000, while the same token verifies active. An account-owned
// token is known only under its account's verify path. Verifies are
// counted apart from lookups.
func TestFakeVerifiesTheTokenAndRefusesThePurge(t *testing.T) {
	t.Parallel()
	expires := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	fake := cloudflaretest.NewInMemory(cloudflaretest.WithoutCachePurge(),
		cloudflaretest.WithToken(cloudflaretest.Token{Account: "acme", ExpiresOn: expires}))
	defer fake.Close()
	c := fake.Client()
	do := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, fake.BaseURL()+path, strings.NewReader(`{"purge_everything":true}`))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := do(http.MethodPost, "/zones/z/purge_cache"); status != 403 || !strings.Contains(body, `"code":10000`) {
		t.Errorf("purge: %d %s; want 403, code 10000", status, body)
	}
	if status, body := do(http.MethodGet, "/user/tokens/verify"); status != 401 || !strings.Contains(body, `"code":1000`) {
		t.Errorf("user verify of an account-owned token: %d %s; want 401, code 1000", status, body)
	}
	if status, _ := do(http.MethodGet, "/accounts/"+cloudflaretest.AccountID("other")+"/tokens/verify"); status != 401 {
		t.Errorf("verify under another account: %d; want 401", status)
	}
	status, body := do(http.MethodGet, "/accounts/"+cloudflaretest.AccountID("acme")+"/tokens/verify")
	var env struct {
		Success bool `json:"success"`
		Result  struct {
			ID, Status string
			NotBefore  *string `json:"not_before"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || status != 200 || !env.Success ||
		env.Result.Status != "active" || env.Result.ID != cloudflaretest.TokenID || env.Result.NotBefore != nil {
		t.Errorf("verify under its account: %d %s; want 200, active, no not_before", status, body)
	}
	if !strings.Contains(body, `"expires_on":"2026-12-07T00:00:00Z"`) {
		t.Errorf("verify answer %s lacks expires_on in RFC 3339", body)
	}
	if n, l := len(fake.Verifies()), len(fake.Lookups()); n != 3 || l != 0 {
		t.Errorf("%d verifies and %d lookups recorded; want 3 and 0", n, l)
	}
	if p := fake.Requests(); len(p) != 1 || p[0].Status != 403 || p[0].Confirmed {
		t.Errorf("purges recorded: %+v; want one refused", p)
	}
}
