//go:build unix

package main_test

import (
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/githubtest"
)

// The built binary reads what a push changed from a compare API on
// loopback, named by GITHUB_API_URL in the step's environment, and purges
// those URLs at api-url, each token sent only to its own API.
func TestBinaryPurgesWhatThePushChanged(t *testing.T) {
	t.Parallel()
	const ghToken = "ghs_Q7yV3kLm9PzR2xW8sT5nB1cD4fG6hJ0aE3iK"
	before, head := githubtest.SHA(0), githubtest.SHA(1)
	gh := githubtest.New("octo-org/site", githubtest.WithToken(ghToken), githubtest.WithCommits(
		githubtest.Commit{SHA: before},
		githubtest.Commit{SHA: head, Files: []githubtest.File{{Name: "public/index.html", Status: "modified"}, {Name: "public/old.css", Status: "removed"}}}))
	defer gh.Close()
	cf := cloudflaretest.New()
	defer cf.Close()
	r := actiontest.Run(t, binary, actiontest.Step{
		Inputs: inputs(cf, "purge-type", "changed", "changed-since", before, "github-token", ghToken, "url-map", "public/ => https://www.example.com/"),
		Env:    map[string]string{"GITHUB_API_URL": gh.BaseURL(), "GITHUB_REPOSITORY": "octo-org/site", "GITHUB_SHA": head},
	})
	reqs := cf.Requests()
	want := `{"files":["https://www.example.com/","https://www.example.com/index.html","https://www.example.com/old.css"]}`
	if r.Code != 0 || len(reqs) != 1 || string(reqs[0].Body) != want || r.Outputs["count"] != "3" {
		t.Fatalf("exit %d, %d requests, outputs %v\n%s", r.Code, len(reqs), r.Outputs, r.Stdout)
	}
	if got := gh.Requests(); len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+ghToken {
		t.Errorf("GitHub requests %+v; want one comparison with the GitHub token", got)
	}
	if reqs[0].Header.Get("Authorization") != "Bearer "+token {
		t.Errorf("Cloudflare request with Authorization %q", reqs[0].Header.Get("Authorization"))
	}
	actiontest.AssertSecretsOnlyMasked(t, r, false, token, ghToken)
}
