package changed_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/cfpurge/cloudflare-purge-action/internal/githubtest"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
)

// No request to GitHub holds a secret but the GitHub token in its
// Authorization header: a comparison whose URL would hold one (its own
// token, or the Cloudflare token or key it is given) is refused before
// anything is sent, once, not retried, and the error names the URL
// without the secret.
func TestGitHubSendsNoSecret(t *testing.T) {
	t.Parallel()
	const (
		cfToken = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
		cfKey   = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d"
	)
	for _, secret := range []string{cfToken, cfKey, ghToken} {
		t.Run(secret[:4], func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				fake := githubtest.NewInMemory(repo, githubtest.WithToken(ghToken), githubtest.WithCommits(history([]githubtest.File{{Name: "a", Status: "added"}})...))
				gh := client(fake, fake.Client())
				gh.OtherSecrets = []string{cfToken, cfKey}
				cmp, err := gh.Compare(t.Context(), "release/"+secret, githubtest.SHA(1))
				refused, ok := errors.AsType[*outbound.RefusedError](err)
				if !ok || refused.Where != "URL" || err.Error() != refused.Error() || strings.Contains(err.Error(), secret) {
					t.Errorf("error %v; want the guard's refusal of the URL", err)
				}
				if n := len(fake.Requests()); n != 0 || cmp.Requests != 1 {
					t.Errorf("GitHub got %d request(s), %d attempted; want none sent, one attempt", n, cmp.Requests)
				}
				// The same client compares what holds no secret, its token
				// in Authorization.
				if cmp, err := gh.Compare(t.Context(), githubtest.SHA(0), githubtest.SHA(1)); err != nil || len(cmp.Paths) != 1 {
					t.Errorf("a clean comparison: %+v, %v", cmp, err)
				}
			})
		})
	}
}
