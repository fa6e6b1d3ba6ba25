package changed_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/githubtest"
)

const (
	repo     = "octo-org/site"
	ghToken  = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
	retries  = 3
	userAgnt = "cloudflare-purge-action/test"
)

func client(fake *githubtest.Server, hc *http.Client) *changed.GitHub {
	return &changed.GitHub{
		BaseURL: fake.BaseURL(), Repository: repo, Token: ghToken, HTTP: hc, UserAgent: userAgnt,
		MaxRetries: retries, NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Second) },
	}
}

// compare runs one comparison in memory, in a synctest bubble.
func compare(t *testing.T, base, head string, opts ...githubtest.Option) (changed.Comparison, []githubtest.Request, error) {
	t.Helper()
	var c changed.Comparison
	var err error
	var reqs []githubtest.Request
	synctest.Test(t, func(t *testing.T) {
		fake := githubtest.NewInMemory(repo, append([]githubtest.Option{githubtest.WithToken(ghToken)}, opts...)...)
		c, err = client(fake, fake.Client()).Compare(t.Context(), base, head)
		reqs = fake.Requests()
	})
	return c, reqs, err
}

// history is a base commit then the commits given.
func history(commits ...[]githubtest.File) []githubtest.Commit {
	out := []githubtest.Commit{{SHA: githubtest.SHA(0)}}
	for i, files := range commits {
		out = append(out, githubtest.Commit{SHA: githubtest.SHA(i + 1), Files: files})
	}
	return out
}

func files(n int, format string) []githubtest.File {
	out := make([]githubtest.File, n)
	for i := range out {
		out[i] = githubtest.File{Name: fmt.Sprintf(format, i), Status: "modified"}
	}
	return out
}

func TestCompareListsEveryKindOfChange(t *testing.T) {
	t.Parallel()
	h := history(
		[]githubtest.File{{Name: "public/a.html", Status: "modified"}, {Name: "public/old.html", Status: "removed"}},
		[]githubtest.File{{Name: "public/new.html", Status: "renamed", Previous: "public/before.html"}, {Name: "public/b.css", Status: "added"}},
		[]githubtest.File{{Name: "public/copy.html", Status: "copied", Previous: "public/source.html"}},
	)
	c, reqs, err := compare(t, githubtest.SHA(0), githubtest.SHA(3), githubtest.WithCommits(h...))
	// A rename gives its old path too; a copy only the copy.
	want := []string{"public/a.html", "public/old.html", "public/before.html", "public/new.html", "public/b.css", "public/copy.html"}
	if err != nil || c.Everything != "" || c.Status != "ahead" || !slices.Equal(c.Paths, want) {
		t.Fatalf("Compare = %+v, %v; want paths %q", c, err, want)
	}
	if len(reqs) != 1 || c.Requests != 1 || c.FromTrees {
		t.Errorf("%d requests (%d counted), from trees %v; want one compare", len(reqs), c.Requests, c.FromTrees)
	}
	r := reqs[0]
	if r.Path != "/api/v3/repos/octo-org/site/compare/"+githubtest.SHA(0)+"..."+githubtest.SHA(3)+"?per_page=100&page=1" ||
		r.Header.Get("Authorization") != "Bearer "+ghToken || r.Header.Get("Accept") != "application/vnd.github+json" ||
		r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" || r.Header.Get("User-Agent") != userAgnt {
		t.Errorf("request %s %+v", r.Path, r.Header)
	}
}

func TestCompareOverLoopback(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(repo, githubtest.WithToken(ghToken), githubtest.WithCommits(history([]githubtest.File{{Name: "a.html", Status: "added"}})...))
	defer fake.Close()
	c, err := client(fake, &http.Client{}).Compare(context.Background(), githubtest.SHA(0), githubtest.SHA(1))
	if err != nil || !slices.Equal(c.Paths, []string{"a.html"}) {
		t.Errorf("Compare = %+v, %v", c, err)
	}
}

func TestIdenticalComparisonChangesNothing(t *testing.T) {
	t.Parallel()
	c, _, err := compare(t, githubtest.SHA(1), githubtest.SHA(1), githubtest.WithCommits(history(files(2, "f%d"))...))
	if err != nil || c.Status != "identical" || len(c.Paths) != 0 || c.Everything != "" {
		t.Errorf("Compare = %+v, %v", c, err)
	}
}

func TestFallsBackToEverythingWhenItCannotBeExact(t *testing.T) {
	t.Parallel()
	h := history(files(1, "a%d.html"), files(1, "b%d.html"))
	unknown := githubtest.SHA(99)
	for _, tc := range []struct {
		name, base, head, want string
		opts                   []githubtest.Option
	}{
		{"unknown commit", unknown, githubtest.SHA(2), `changed-since "` + unknown + `" is not a commit of octo-org/site`, nil},
		{"behind", githubtest.SHA(2), githubtest.SHA(1), "is not an ancestor of GITHUB_SHA (GitHub says the head is behind)", nil},
		{"diverged", githubtest.SHA(1), githubtest.SHA(2), "GitHub says the head is diverged", []githubtest.Option{githubtest.WithDiverged(githubtest.SHA(1))}},
	} {
		c, _, err := compare(t, tc.base, tc.head, append([]githubtest.Option{githubtest.WithCommits(h...)}, tc.opts...)...)
		if err != nil || !strings.Contains(c.Everything, tc.want) || c.Paths != nil {
			t.Errorf("%s: Compare = %+v, %v; want everything because %q", tc.name, c, err, tc.want)
		}
	}
}

func TestHiddenRepositoryIsAFailureNotAFallback(t *testing.T) {
	t.Parallel()
	c, reqs, err := compare(t, githubtest.SHA(0), githubtest.SHA(1), githubtest.WithHiddenRepository())
	apiErr, ok := errors.AsType[*changed.APIError](err)
	if !ok || !apiErr.RepositoryHidden || !apiErr.AuthFailure() || c.Everything != "" {
		t.Fatalf("Compare = %+v, %v; want the repository hidden", c, err)
	}
	if len(reqs) != 2 || reqs[1].Path != "/api/v3/repos/octo-org/site" {
		t.Errorf("requests %+v; want the compare, then the repository", reqs)
	}
}

func TestRefusalsAreAuthFailures(t *testing.T) {
	t.Parallel()
	for _, opt := range []githubtest.Option{githubtest.WithForbidden(), githubtest.WithToken("another")} {
		_, reqs, err := compare(t, githubtest.SHA(0), githubtest.SHA(1), opt)
		apiErr, ok := errors.AsType[*changed.APIError](err)
		if !ok || !apiErr.AuthFailure() || apiErr.RepositoryHidden || len(reqs) != 1 {
			t.Errorf("Compare: %v after %d request(s); want one refusal, not retried", err, len(reqs))
		}
	}
}

func TestRetriesLikeCloudflareRequests(t *testing.T) {
	t.Parallel()
	h := history([]githubtest.File{{Name: "a.html", Status: "added"}})
	for _, tc := range []struct {
		name     string
		answers  []githubtest.Response
		wantWait time.Duration
	}{
		{"5xx", []githubtest.Response{{Status: 502, Body: "bad gateway"}, {Status: 503}}, 2 * time.Second},
		{"429 Retry-After", []githubtest.Response{{Status: 429, Header: map[string]string{"Retry-After": "30"}}}, 30 * time.Second},
		{"403 Retry-After", []githubtest.Response{{Status: 403, Header: map[string]string{"Retry-After": "7"}, Body: `{"message":"You have exceeded a secondary rate limit"}`}}, 7 * time.Second},
	} {
		synctest.Test(t, func(t *testing.T) {
			fake := githubtest.NewInMemory(repo, githubtest.WithCommits(h...), githubtest.WithScript(tc.answers...))
			start := time.Now()
			c, err := client(fake, fake.Client()).Compare(t.Context(), githubtest.SHA(0), githubtest.SHA(1))
			if err != nil || !slices.Equal(c.Paths, []string{"a.html"}) {
				t.Errorf("%s: Compare = %+v, %v", tc.name, c, err)
			}
			if took := time.Since(start); took != tc.wantWait {
				t.Errorf("%s: waited %s; want %s", tc.name, took, tc.wantWait)
			}
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	answers := make([]githubtest.Response, 10)
	for i := range answers {
		answers[i] = githubtest.Response{Status: 500, Body: `{"message":"Server Error"}`}
	}
	_, reqs, err := compare(t, githubtest.SHA(0), githubtest.SHA(1), githubtest.WithScript(answers...))
	if err == nil || !strings.Contains(err.Error(), `GitHub answered HTTP 500: "Server Error"`) || len(reqs) != retries+1 {
		t.Errorf("Compare: %v after %d requests; want HTTP 500 after %d", err, len(reqs), retries+1)
	}
}

func TestRateLimitTooFarOffFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		reset := time.Now().Add(40 * time.Minute).Unix()
		fake := githubtest.NewInMemory(repo, githubtest.WithScript(githubtest.Response{Status: 403,
			Header: map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": fmt.Sprint(reset)},
			Body:   `{"message":"API rate limit exceeded"}`}))
		_, err := client(fake, fake.Client()).Compare(t.Context(), githubtest.SHA(0), githubtest.SHA(1))
		apiErr, ok := errors.AsType[*changed.APIError](err)
		if !ok || apiErr.AuthFailure() || apiErr.RateLimitReset.Unix() != reset || len(fake.Requests()) != 1 {
			t.Errorf("Compare: %v; want a rate limit, not retried, not a permission", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		reset := time.Now().Add(20 * time.Second).Unix()
		fake := githubtest.NewInMemory(repo, githubtest.WithCommits(history(files(1, "f%d"))...), githubtest.WithScript(githubtest.Response{Status: 429,
			Header: map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": fmt.Sprint(reset)}}))
		_, err := client(fake, fake.Client()).Compare(t.Context(), githubtest.SHA(0), githubtest.SHA(1))
		if err != nil || time.Now().Unix() < reset {
			t.Errorf("Compare: %v at %v; want success after the reset at %v", err, time.Now().Unix(), reset)
		}
	})
}

func TestUntrustedAnswersAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not JSON", "<html>", "not the JSON the API documents"},
		{"odd status", `{"status":"sideways","files":[]}`, `status "sideways"`},
		{"bad merge base", `{"status":"ahead","merge_base_commit":{"sha":"../../x"},"files":` + fileList(300) + `}`, `its merge base "../../x", which is not a commit SHA`},
		{"no merge base", `{"status":"ahead","files":` + fileList(300) + `}`, `its merge base "", which is not a commit SHA`},
		{"too large", `{"status":"ahead","files":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, "an answer larger than 1048576 bytes"},
	} {
		var err error
		var sent int
		synctest.Test(t, func(t *testing.T) {
			fake := githubtest.NewInMemory(repo, githubtest.WithScript(githubtest.Response{Status: 200, Body: tc.body}))
			gh := client(fake, fake.Client())
			gh.MaxAnswerBytes = 1 << 20
			_, err = gh.Compare(t.Context(), githubtest.SHA(0), githubtest.SHA(1))
			sent = len(fake.Requests())
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) || sent != 1 {
			t.Errorf("%s: err = %v after %d requests; want %q after the compare alone", tc.name, err, sent, tc.want)
		}
	}
}

func fileList(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"filename":"f%d","status":"added"}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
