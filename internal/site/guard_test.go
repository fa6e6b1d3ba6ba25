package site_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// A client made by NewClient requests no URL, and sends no header, that
// holds one of the secrets it was given: verify and warm say so for that
// URL, without the secret, and the site gets nothing of it; the other
// URLs are requested.
func TestClientRequestsNoSecret(t *testing.T) {
	t.Parallel()
	const (
		tok     = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
		key     = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d"
		ghToken = "ghs_Q7yV3kLm9PzR2xW8sT5nB1cD4fG6hJ0aE3iK"
	)
	for _, secret := range []string{tok, key, ghToken} {
		t.Run(secret[:4], func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				e := &edge{handle: answer(200, "MISS", "")}
				c := site.NewClient(&http.Client{Transport: e}, "cloudflare-purge-action/test", 2, tok, key, ghToken)
				targets := []site.Target{
					{URL: "https://www.example.com/public/" + secret + ".html"},
					{URL: "https://www.example.com/public/" + strings.ReplaceAll(secret, "_", "%5F") + "/"},
					{URL: "https://www.example.com/?v=" + secret},
					{URL: "https://www.example.com/a", Headers: map[string]string{"Accept-Language": secret}},
					{URL: "https://www.example.com/clean"},
				}
				where := []string{"URL", "URL", "URL", "header Accept-Language"}
				checks := c.Verify(t.Context(), targets)
				warmed := c.Warm(t.Context(), targets)
				for i, w := range where {
					refused, ok := errors.AsType[*outbound.RefusedError](checks[i].Err)
					if !ok || refused.Where != w || checks[i].Verdict != site.Unjudged || strings.Contains(checks[i].Why, secret) {
						t.Errorf("verify %d: %+v; want it not checked, refused in its %s", i, checks[i], w)
					}
					if refused, ok := errors.AsType[*outbound.RefusedError](warmed[i].Err); !ok || refused.Where != w {
						t.Errorf("warm %d: %+v; want it refused in its %s", i, warmed[i], w)
					}
				}
				if checks[4].Verdict != site.Fresh || !warmed[4].OK() || e.count() != 2 {
					t.Errorf("the clean URL: %+v, %+v; the site got %d request(s), want 2 (verify, warm)", checks[4], warmed[4], e.count())
				}
			})
		})
	}
}
