package command_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/githubtest"
)

const (
	repository = "octo-org/site"
	ghToken    = "ghs_Q7yV3kLm9PzR2xW8sT5nB1cD4fG6hJ0aE3iK"
)

// The deploy's commits: before is the push's github.event.before, head
// its GITHUB_SHA.
var (
	before = githubtest.SHA(0)
	head   = githubtest.SHA(1)
)

// changedInputs are the inputs of a purge-type changed step: the site
// under public/ on www.example.com, its docs on docs.example.org.
func changedInputs(kv ...string) map[string]string {
	return inputs(append([]string{
		"purge-type", "changed", "changed-since", before, "github-token", ghToken,
		"url-map", "public/ => https://www.example.com/\ndocs/ => https://docs.example.org/",
	}, kv...)...)
}

// deploy is a history of one push to compare, with files.
func deploy(files ...githubtest.File) githubtest.Option {
	return githubtest.WithCommits(githubtest.Commit{SHA: before}, githubtest.Commit{SHA: head, Files: files})
}

// changedRun is what a step left, what Cloudflare's fake saw, and what
// GitHub's fake saw.
type changedRun struct {
	run
	github []githubtest.Request
	// elsewhere are requests to any other host: there must be none.
	elsewhere []string
}

// hostRouter sends each request to the fake of its host, in memory.
type hostRouter struct {
	github, cloudflare http.RoundTripper
	mu                 sync.Mutex
	elsewhere          []string
}

func (h *hostRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Host {
	case "127.0.0.2:9":
		return h.github.RoundTrip(req)
	case "127.0.0.1:9":
		return h.cloudflare.RoundTrip(req)
	}
	h.mu.Lock()
	h.elsewhere = append(h.elsewhere, req.URL.String())
	h.mu.Unlock()
	return nil, fmt.Errorf("no fake for host %s", req.URL.Host)
}

// runChanged runs the action in this process as the runner would, in a
// synctest bubble, with GitHub's compare API faked at GITHUB_API_URL and
// Cloudflare's at api-url, both in memory.
func runChanged(t *testing.T, s actiontest.Step, gh []githubtest.Option, cf ...cloudflaretest.Option) changedRun {
	t.Helper()
	in := map[string]string{"api-url": cloudflaretest.InMemoryBaseURL}
	for k, v := range s.Inputs {
		in[k] = v
	}
	s.Inputs = in
	env := map[string]string{"GITHUB_API_URL": githubtest.InMemoryBaseURL, "GITHUB_REPOSITORY": repository, "GITHUB_SHA": head}
	for k, v := range s.Env {
		env[k] = v
	}
	s.Env = env
	var r changedRun
	synctest.Test(t, func(t *testing.T) {
		cfFake := cloudflaretest.NewInMemory(cf...)
		defer cfFake.Close()
		ghFake := githubtest.NewInMemory(repository, append([]githubtest.Option{githubtest.WithToken(ghToken)}, gh...)...)
		router := &hostRouter{github: githubtest.Transport{S: ghFake}, cloudflare: cfFake.Client().Transport}
		r.Result = actiontest.Run(t, actiontest.InProcess{HTTPClient: &http.Client{Transport: router}}, s)
		r.requests, r.lookups = cfFake.Requests(), cfFake.Lookups()
		r.github, r.elsewhere = ghFake.Requests(), router.elsewhere
	})
	if len(r.elsewhere) > 0 {
		t.Errorf("requests to other hosts: %q", r.elsewhere)
	}
	return r
}

// purged lists the URLs of each files purge, by zone ID.
func purged(t *testing.T, reqs []cloudflaretest.Request) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range reqs {
		var body struct {
			Files []string `json:"files"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Files == nil {
			t.Fatalf("request %s has body %s; want a files purge", r.Path, r.Body)
		}
		zoneID := strings.Split(strings.TrimPrefix(r.Path, "/client/v4/zones/"), "/")[0]
		out[zoneID] = append(out[zoneID], body.Files...)
	}
	return out
}

// everything reports whether every request purges everything, one a zone.
func everything(reqs []cloudflaretest.Request, zones ...string) bool {
	if len(reqs) != len(zones) {
		return false
	}
	for i, r := range reqs {
		if string(r.Body) != `{"purge_everything":true}` || r.Path != "/client/v4/zones/"+zones[i]+"/purge_cache" {
			return false
		}
	}
	return true
}

func TestChangedPurgesExactlyTheURLsOfTheChangedFilesInTheirZones(t *testing.T) {
	t.Parallel()
	r := runChanged(t, actiontest.Step{Inputs: changedInputs("zone", "example.com\nexample.org", "zone-id", ""), Debug: true},
		[]githubtest.Option{deploy(
			githubtest.File{Name: "public/blog/index.html", Status: "modified"},
			githubtest.File{Name: "public/about.html", Status: "modified"},
			githubtest.File{Name: "public/css/site.css", Status: "modified"},
			githubtest.File{Name: "public/old.html", Status: "removed"},
			githubtest.File{Name: "docs/guide.html", Status: "renamed", Previous: "docs/intro.html"},
		)}, knownZones)
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
	}
	got := purged(t, r.requests)
	want := map[string][]string{
		zone: {"https://www.example.com/blog/", "https://www.example.com/blog/index.html", "https://www.example.com/about.html",
			"https://www.example.com/about", "https://www.example.com/css/site.css", "https://www.example.com/old.html", "https://www.example.com/old"},
		orgID: {"https://docs.example.org/intro.html", "https://docs.example.org/intro", "https://docs.example.org/guide.html", "https://docs.example.org/guide"},
	}
	for id, urls := range want {
		if !slices.Equal(got[id], urls) {
			t.Errorf("zone %s purged %q\nwant %q", id, got[id], urls)
		}
	}
	if len(got) != 2 || r.Outputs["count"] != "11" {
		t.Errorf("purged %v, count %s; want 11 URLs in two zones", got, r.Outputs["count"])
	}
	if len(r.github) != 1 || !strings.HasPrefix(r.github[0].Path, "/api/v3/repos/octo-org/site/compare/"+before+"..."+head) {
		t.Errorf("GitHub requests %+v; want one comparison", r.github)
	}
	if !strings.Contains(r.Stdout, `"public/blog/index.html" -> https://www.example.com/blog/ https://www.example.com/blog/index.html`) {
		t.Errorf("the log has no table of path -> URLs:\n%s", r.Stdout)
	}
	// Each token goes to its own API only, and is in no sink.
	for _, req := range r.github {
		if req.Header.Get("Authorization") != "Bearer "+ghToken {
			t.Errorf("GitHub request with Authorization %q", req.Header.Get("Authorization"))
		}
	}
	for _, req := range append(r.requests, r.lookups...) {
		if req.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("Cloudflare request with Authorization %q", req.Header.Get("Authorization"))
		}
	}
	assertSecretsOnlyMasked(t, r.run, token, ghToken)
}

func TestChangedFilesListMapsIndexAndHTMLAndListsUnmatchedPaths(t *testing.T) {
	t.Parallel()
	in := changedInputs("changed-since", "", "url-map", "site/ => https://www.example.com/",
		"changed-files", "site/index.html\nsite/pricing.html\nsite/a b/index.html\nREADME.md\n")
	r := runChanged(t, actiontest.Step{Inputs: in}, nil)
	want := []string{"https://www.example.com/", "https://www.example.com/index.html", "https://www.example.com/pricing.html",
		"https://www.example.com/pricing", "https://www.example.com/a%20b/", "https://www.example.com/a%20b/index.html"}
	if got := purged(t, r.requests)[zone]; r.Code != 0 || !slices.Equal(got, want) {
		t.Errorf("exit %d, purged %q\nwant %q\n%s", r.Code, got, want, r.Stdout)
	}
	if len(r.github) != 0 {
		t.Errorf("changed-files made %d GitHub requests", len(r.github))
	}
	if !strings.Contains(r.Stdout, `"README.md" -> not purged: matches no url-map rule`) || !strings.Contains(r.Stdout, "4 path(s), 1 not purged") {
		t.Errorf("the unmatched path is not listed:\n%s", r.Stdout)
	}
}

// The reasons resolve gives itself (changed-since empty or all zeros)
// are its unit tests' (TestChangedPurgesEverythingSayingWhy there); here,
// those that come through GitHub's comparison and url-map.
func TestChangedFallsBackToEverythingWithANotice(t *testing.T) {
	t.Parallel()
	pages := deploy(githubtest.File{Name: "public/a.html", Status: "modified"}, githubtest.File{Name: "layouts/base.html", Status: "modified"},
		githubtest.File{Name: "public/b.css", Status: "added"})
	for _, tc := range []struct {
		name       string
		in         map[string]string
		gh         []githubtest.Option
		notice     string
		githubReqs int
	}{
		{"purge-everything-when", changedInputs("purge-everything-when", "config.toml\nlayouts/**"), []githubtest.Option{pages},
			`changed path "layouts/base.html" matches purge-everything-when pattern "layouts/**"`, 1},
		{"max-changed", changedInputs("max-changed", "2"), []githubtest.Option{pages},
			"the changed files map to 3 URLs, more than max-changed (2)", 1},
		{"unknown commit", changedInputs("changed-since", githubtest.SHA(42)), []githubtest.Option{pages},
			`changed-since "` + githubtest.SHA(42) + `" is not a commit of octo-org/site (a force-push may have removed it`, 2},
		{"not an ancestor", changedInputs(), []githubtest.Option{pages, githubtest.WithDiverged(before)},
			"is not an ancestor of GITHUB_SHA", 1},
	} {
		r := runChanged(t, actiontest.Step{Inputs: tc.in}, tc.gh)
		if r.Code != 0 || !everything(r.requests, zone) || r.Outputs["count"] != "1" {
			t.Errorf("%s: exit %d, requests %q; want one purge of everything\n%s", tc.name, r.Code, paths(r.requests), r.Stdout)
		}
		if !r.HasAnnotation("notice", "Purging everything", tc.notice) {
			t.Errorf("%s: notices %+v; want one saying %q", tc.name, r.Annotations("notice"), tc.notice)
		}
		if len(r.github) != tc.githubReqs {
			t.Errorf("%s: %d GitHub requests; want %d", tc.name, len(r.github), tc.githubReqs)
		}
	}
}

// What each refusal says (401, a hidden repository, a rate limit …) is
// resolve's (TestChangedCompareFailureStops there); here, a refusal's
// annotation and exit code.
func TestChangedFailsNamingThePermission(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		gh   githubtest.Option
		want string
	}{
		{"403", githubtest.WithForbidden(), `was refused (GitHub answered HTTP 403: "Resource not accessible by integration"). Give the job permissions: contents: read`},
	} {
		r := runChanged(t, actiontest.Step{Inputs: changedInputs()}, []githubtest.Option{deploy(), tc.gh})
		if r.Code != 1 || len(r.requests)+len(r.lookups) != 0 {
			t.Errorf("%s: exit %d, %d Cloudflare requests; want a failure before any", tc.name, r.Code, len(r.requests)+len(r.lookups))
		}
		if !r.HasAnnotation("error", "changed-since", tc.want) {
			t.Errorf("%s: errors %+v; want one titled changed-since saying %q", tc.name, r.Annotations("error"), tc.want)
		}
		assertSecretsOnlyMasked(t, r.run, token, ghToken)
	}
}

func TestChangedFailsWhenGitHubCannotAnswer(t *testing.T) {
	t.Parallel()
	fail := githubtest.Response{Status: 502, Body: `{"message":"Server Error"}`}
	r := runChanged(t, actiontest.Step{Inputs: changedInputs("max-retries", "2")}, []githubtest.Option{deploy(), githubtest.WithScript(fail, fail, fail)})
	if r.Code != 1 || len(r.requests) != 0 || len(r.github) != 3 ||
		!r.HasAnnotation("error", "changed-since", `the API could not answer (GitHub answered HTTP 502: "Server Error") after every retry`) {
		t.Errorf("exit %d, %d GitHub requests, errors %+v", r.Code, len(r.github), r.Annotations("error"))
	}
}

// With on-error: warn, changes that could not be read are a warning and
// exit 0: nothing is purged, the outputs say so.
func TestChangedFailureWithOnErrorWarnIsAWarning(t *testing.T) {
	t.Parallel()
	r := runChanged(t, actiontest.Step{Inputs: changedInputs("on-error", "warn")}, []githubtest.Option{deploy(), githubtest.WithForbidden()})
	if r.Code != 0 || len(r.requests)+len(r.lookups) != 0 || len(r.Annotations("error")) != 0 ||
		!r.HasAnnotation("warning", "changed-since", "Give the job permissions: contents: read") || r.Outputs["count"] != "0" {
		t.Errorf("exit %d, %d Cloudflare requests, errors %+v, warnings %+v, outputs %v", r.Code, len(r.requests)+len(r.lookups),
			r.Annotations("error"), r.Annotations("warning"), r.Outputs)
	}
}

// Why there is nothing to purge (no file changed, none maps to a URL) is
// resolve's (TestChangedWithNothingToPurge there); here, the notice, the
// summary and the outputs of a step that sends nothing.
func TestChangedWithNothingToPurgeSendsNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		in     map[string]string
		gh     []githubtest.Option
		notice string
	}{
		{"identical", changedInputs("changed-since", head), []githubtest.Option{deploy()}, "GITHUB_SHA is the commit changed-since names"},
	} {
		r := runChanged(t, actiontest.Step{Inputs: tc.in}, tc.gh, knownZones)
		if r.Code != 0 || len(r.requests)+len(r.lookups) != 0 || r.Outputs["count"] != "0" || r.Outputs["purge-ids"] != "[]" {
			t.Errorf("%s: exit %d, %d requests, %d lookups, outputs %v; want none and count 0\n%s", tc.name, r.Code, len(r.requests), len(r.lookups), r.Outputs, r.Stdout)
		}
		if !r.HasAnnotation("notice", "Nothing to purge", tc.notice) || !strings.Contains(r.Summary, "nothing to purge") {
			t.Errorf("%s: notices %+v, summary %q", tc.name, r.Annotations("notice"), r.Summary)
		}
	}
}

func TestChangedDryRunReadsGitHubButSendsNothing(t *testing.T) {
	t.Parallel()
	r := runChanged(t, actiontest.Step{Inputs: changedInputs("dry-run", "true", "api-token", "")},
		[]githubtest.Option{deploy(githubtest.File{Name: "public/a.html", Status: "added"})})
	if r.Code != 0 || len(r.requests)+len(r.lookups) != 0 || len(r.github) != 1 {
		t.Fatalf("exit %d, %d Cloudflare requests, %d GitHub requests\n%s", r.Code, len(r.requests)+len(r.lookups), len(r.github), r.Stdout)
	}
	for _, want := range []string{`"public/a.html" -> https://www.example.com/a.html https://www.example.com/a`,
		`{"files":["https://www.example.com/a.html","https://www.example.com/a"]}`} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("the dry run does not print %s:\n%s", want, r.Stdout)
		}
	}
	fallback := runChanged(t, actiontest.Step{Inputs: changedInputs("dry-run", "true", "changed-since", githubtest.Zeros)}, nil)
	if fallback.Code != 0 || len(fallback.requests) != 0 || !fallback.HasAnnotation("notice", "Dry run: would purge everything", "all zeros") ||
		!strings.Contains(fallback.Stdout, `{"purge_everything":true}`) {
		t.Errorf("dry run of a fallback: exit %d, notices %+v\n%s", fallback.Code, fallback.Annotations("notice"), fallback.Stdout)
	}
}

// GitHub's comparison lists at most 300 files: past that, the trees of
// changed-since and GITHUB_SHA are compared, which gives the exact change
// in three requests whatever the commits, files changed and changed back
// inside the push included.
func TestChangedComparisonsOfThreeHundredFilesOrMoreAreReadFromTheTrees(t *testing.T) {
	t.Parallel()
	var commits []githubtest.Commit
	commits = append(commits, githubtest.Commit{SHA: before})
	for c := range 4 {
		var files []githubtest.File
		for i := range 80 {
			files = append(files, githubtest.File{Name: fmt.Sprintf("public/c%d/f%02d.css", c, i), Status: "added"})
		}
		commits = append(commits, githubtest.Commit{SHA: githubtest.SHA(c + 1), Files: files})
	}
	last := githubtest.SHA(4)
	r := runChanged(t, actiontest.Step{Inputs: changedInputs(), Env: map[string]string{"GITHUB_SHA": last}},
		[]githubtest.Option{githubtest.WithCommits(commits...)})
	urls := purged(t, r.requests)[zone]
	if r.Code != 0 || len(urls) != 320 || !slices.Contains(urls, "https://www.example.com/c3/f79.css") || r.Outputs["count"] != "320" {
		t.Errorf("exit %d, %d URLs purged; want all 320 files' URLs\n%s", r.Code, len(urls), r.Stdout)
	}
	if len(r.github) != 3 || !strings.Contains(r.Stdout, "GitHub's comparison lists 300 files, its most, so the trees of changed-since and GITHUB_SHA were compared instead") {
		t.Errorf("%d GitHub requests; want the comparison and the two trees, and the log to say so\n%s", len(r.github), r.Stdout)
	}

	// 450 files in one push, and one more added and removed again inside
	// it: the tree diff purges exactly the 450 files' URLs.
	commits = commits[:1]
	var files []githubtest.File
	for i := range 450 {
		files = append(files, githubtest.File{Name: fmt.Sprintf("public/p%03d.css", i), Status: "added"})
	}
	commits = append(commits, githubtest.Commit{SHA: githubtest.SHA(1), Files: append(files, githubtest.File{Name: "public/index.html", Status: "added"})},
		githubtest.Commit{SHA: githubtest.SHA(2), Files: []githubtest.File{{Name: "public/index.html", Status: "removed"}}})
	r = runChanged(t, actiontest.Step{Inputs: changedInputs("max-changed", "1000"), Env: map[string]string{"GITHUB_SHA": githubtest.SHA(2)}},
		[]githubtest.Option{githubtest.WithCommits(commits...)})
	urls = purged(t, r.requests)[zone]
	if r.Code != 0 || len(urls) != 450 || slices.Contains(urls, "https://www.example.com/index.html") {
		t.Errorf("exit %d, %d URLs purged (index.html among them: %v); want the 450 added files' URLs alone\n%s", r.Code, len(urls), slices.Contains(urls, "https://www.example.com/index.html"), r.Stdout)
	}
}

// A tree GitHub cuts, or one it no longer has (a force-push during the
// run), leaves the change unknown: everything is purged, and the notice
// says why; the run does not fail.
func TestChangedTreesThatCannotBeReadPurgeEverything(t *testing.T) {
	t.Parallel()
	history, last := push(4, 80) // 320 files, listed as 300
	for _, tc := range []struct {
		name string
		opt  githubtest.Option
		want string
	}{
		{"truncated", githubtest.WithTruncatedTree(last), "is truncated"},
		{"gone", githubtest.WithTreeNotFound(last), "force-push"},
	} {
		r := runChanged(t, actiontest.Step{Inputs: changedInputs(), Env: map[string]string{"GITHUB_SHA": last}}, []githubtest.Option{history, tc.opt})
		if r.Code != 0 || !everything(r.requests, zone) || !r.HasAnnotation("notice", "Purging everything", tc.want) {
			t.Errorf("%s: exit %d, requests %q, notices %+v", tc.name, r.Code, paths(r.requests), r.Annotations("notice"))
		}
	}
}

func TestChangedHostileFileNamesAreListedNeverMappedNorCommands(t *testing.T) {
	t.Parallel()
	hostile := []string{
		"public/x\n::error title=pwned::injected.html",
		"public/../../admin/index.html",
		`public\evil.html`,
		"public/\r::add-mask::hidden.html",
		"public/%0A::warning::encoded.html",
	}
	files := []githubtest.File{{Name: "public/ok.html", Status: "modified"}}
	for _, h := range hostile {
		files = append(files, githubtest.File{Name: h, Status: "added"})
	}
	r := runChanged(t, actiontest.Step{Inputs: changedInputs()}, []githubtest.Option{deploy(files...)})
	want := []string{"https://www.example.com/ok.html", "https://www.example.com/ok", "https://www.example.com/%250A::warning::encoded.html", "https://www.example.com/%250A::warning::encoded"}
	if got := purged(t, r.requests)[zone]; r.Code != 0 || !slices.Equal(got, want) {
		t.Errorf("exit %d, purged %q\nwant %q\n%s", r.Code, got, want, r.Stdout)
	}
	masks := 0
	for i, line := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(line, "::add-mask::") {
			masks++
		}
		if strings.HasPrefix(strings.TrimSpace(line), "::") && !strings.HasPrefix(line, "::add-mask::") && !strings.HasPrefix(line, "::group::") &&
			!strings.HasPrefix(line, "::endgroup::") && !strings.HasPrefix(line, "::debug::") {
			t.Errorf("log line %d is a workflow command: %q", i+1, line)
		}
	}
	if len(r.Annotations("error"))+len(r.Annotations("warning")) != 0 || masks != 2 { // the two tokens only
		t.Errorf("a file name made an annotation or a mask:\n%s", r.Stdout)
	}
	for _, reason := range []string{"has a control character", "has a .. segment", "has a backslash"} {
		if !strings.Contains(r.Stdout, "not purged: not mapped: it "+reason) {
			t.Errorf("no path listed as %q:\n%s", reason, r.Stdout)
		}
	}
}

func TestChangedRunsLocallyWithChangedFiles(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Local: true, Args: []string{"--dry-run", "--zone-id", zone, "--purge-type", "changed",
		"--url-map", "public/ => https://www.example.com/", "--changed-files", "public/a.html\npublic/b/index.html"}})
	want := `{"files":["https://www.example.com/a.html","https://www.example.com/a","https://www.example.com/b/","https://www.example.com/b/index.html"]}`
	if r.Code != 0 || !strings.Contains(r.Stdout, want) || strings.Contains(r.Stdout+r.Stderr, "::") || len(r.requests) != 0 {
		t.Errorf("exit %d, %d requests; want the dry run's body and no workflow command\nstdout:\n%s\nstderr:\n%s", r.Code, len(r.requests), r.Stdout, r.Stderr)
	}
	// Without the runner's variables, changed-since cannot be compared.
	r = runStep(t, actiontest.Step{Local: true, Args: []string{"--dry-run", "--zone-id", zone, "--purge-type", "changed",
		"--url-map", "public/ => https://www.example.com/", "--changed-since", "main"}})
	if r.Code != 1 || !strings.Contains(r.Stderr, "error: changed-since: needs GITHUB_REPOSITORY") {
		t.Errorf("exit %d; want changed-since refused\n%s", r.Code, r.Stderr)
	}
}

func TestChangedURLsOfNoZoneAreRefusedBeforeAnyPurge(t *testing.T) {
	t.Parallel()
	in := changedInputs("zone", "example.com\nexample.org", "zone-id", "", "url-map", "public/ => https://www.example.net/")
	r := runChanged(t, actiontest.Step{Inputs: in}, []githubtest.Option{deploy(githubtest.File{Name: "public/a.css", Status: "added"})}, knownZones)
	if r.Code != 1 || len(r.requests) != 0 ||
		!r.HasAnnotation("error", "Invalid input url-map", `"https://www.example.net/a.css" is in none of the zones`) { // the rest: TestChangedURLsOfNoZoneAreInvalid in resolve
		t.Errorf("exit %d, %d purges, errors %+v", r.Code, len(r.requests), r.Annotations("error"))
	}
}

// A copy leaves its source unchanged: only the copy's URL is purged. A
// rename still purges both, the old path being gone from the site.
func TestChangedCopyPurgesOnlyTheCopy(t *testing.T) {
	t.Parallel()
	r := runChanged(t, actiontest.Step{Inputs: changedInputs()}, []githubtest.Option{deploy(
		githubtest.File{Name: "public/v2/app.js", Status: "copied", Previous: "public/v1/app.js"},
		githubtest.File{Name: "public/new.css", Status: "renamed", Previous: "public/old.css"},
	)})
	want := []string{"https://www.example.com/v2/app.js", "https://www.example.com/old.css", "https://www.example.com/new.css"}
	if got := purged(t, r.requests)[zone]; r.Code != 0 || !slices.Equal(got, want) || r.Outputs["count"] != "3" {
		t.Errorf("exit %d, purged %q, count %s\nwant %q\n%s", r.Code, got, r.Outputs["count"], want, r.Stdout)
	}
	if strings.Contains(r.Stdout, "v1/app.js") {
		t.Errorf("the copy's unchanged source is in the table of changed paths:\n%s", r.Stdout)
	}
}

// push is a history of n commits after before, each adding filesEach
// CSS files under public/, and its last commit (GITHUB_SHA).
func push(n, filesEach int) (githubtest.Option, string) {
	commits := []githubtest.Commit{{SHA: before}}
	for c := range n {
		var files []githubtest.File
		for i := range filesEach {
			files = append(files, githubtest.File{Name: fmt.Sprintf("public/c%d/f%d.css", c, i), Status: "added"})
		}
		commits = append(commits, githubtest.Commit{SHA: githubtest.SHA(c + 1), Files: files})
	}
	return githubtest.WithCommits(commits...), githubtest.SHA(n)
}

// A list of 300 files may be cut whatever total_commits says: a
// comparison that counts no commit is read from the trees all the same.
func TestChangedThreeHundredFilesAndNoCommitCountedAreReadFromTheTrees(t *testing.T) {
	t.Parallel()
	history, last := push(4, 80) // 320 files, listed as 300
	r := runChanged(t, actiontest.Step{Inputs: changedInputs(), Env: map[string]string{"GITHUB_SHA": last}},
		[]githubtest.Option{history, githubtest.WithListedCommits(0)})
	if urls := purged(t, r.requests)[zone]; r.Code != 0 || len(urls) != 320 || len(r.github) != 3 {
		t.Errorf("exit %d, %d URLs purged, %d GitHub requests; want the 320 URLs from the trees\n%s", r.Code, len(urls), len(r.github), r.Stdout)
	}
}

// Servers, and Cloudflare's URL normalization, decode %2e to a dot before
// they fold dot segments, and some read %2F or %5C as a slash: a url-map
// URL prefix holding them would purge other URLs than the files'. It is
// refused as bad input before any request.
func TestChangedURLMapRefusesEncodedDotSegmentsAndSlashes(t *testing.T) {
	t.Parallel()
	const dots, slashes = "has a . or .. segment, percent-encoded or not", "has an encoded slash or backslash (%2F or %5C)"
	for _, tc := range []struct{ prefix, why string }{
		{"https://www.example.com/%2e%2e/admin/", dots},
		{"https://www.example.com/docs/%2E%2e/", dots},
		{"https://www.example.com/docs/.%2e", dots},
		{"https://www.example.com/docs/%2E/", dots},
		{"https://www.example.com/docs/..%2fadmin/", slashes},
		{"https://www.example.com/docs%2F..%2Fadmin/", slashes},
		{"https://www.example.com/docs%5c..%5cadmin/", slashes},
		{"https://www.example.com/docs%2fadmin/", slashes},
	} {
		r := runChanged(t, actiontest.Step{Inputs: changedInputs("url-map", "public/ => "+tc.prefix)},
			[]githubtest.Option{deploy(githubtest.File{Name: "public/a.html", Status: "modified"})})
		if r.Code != 1 || len(r.requests)+len(r.lookups)+len(r.github) != 0 {
			t.Errorf("%s: exit %d, %d Cloudflare and %d GitHub requests; want bad input, nothing sent", tc.prefix, r.Code, len(r.requests)+len(r.lookups), len(r.github))
		}
		want := `line 1: URL prefix "` + tc.prefix + `" ` + tc.why + `; want an absolute https:// URL like https://www.example.com/`
		if !r.HasAnnotation("error", "Invalid input url-map", want) {
			t.Errorf("%s: errors %+v; want one saying %q", tc.prefix, r.Annotations("error"), want)
		}
	}
}

// After a comparison that failed under on-error: warn, results holds one
// object a zone, as after any run that purged nothing: the zones given by
// ID, nothing done.
func TestChangedFailureWithOnErrorWarnGivesResultsForEveryZone(t *testing.T) {
	t.Parallel()
	r := runChanged(t, actiontest.Step{Inputs: changedInputs("on-error", "warn", "zone-id", zone+"\n"+orgID)},
		[]githubtest.Option{deploy(), githubtest.WithForbidden()})
	if r.Code != 0 || len(r.requests)+len(r.lookups) != 0 || !r.HasAnnotation("warning", "changed-since", "Give the job permissions: contents: read") {
		t.Fatalf("exit %d, %d Cloudflare requests, warnings %+v; want a warning and nothing sent", r.Code, len(r.requests)+len(r.lookups), r.Annotations("warning"))
	}
	nothingDone := `{"zone-id":%q,"zone":"","environment-id":"","purge-ids":[],"count":0,"failed":0,"verified":0,"stale":0,"broken":0,"warmed":0}`
	want := "[" + fmt.Sprintf(nothingDone, zone) + "," + fmt.Sprintf(nothingDone, orgID) + "]"
	if r.Outputs["results"] != want || r.Outputs["count"] != "0" || r.Outputs["purge-ids"] != "[]" {
		t.Errorf("results %s, count %s, purge-ids %s\nwant results %s", r.Outputs["results"], r.Outputs["count"], r.Outputs["purge-ids"], want)
	}
}

// A run that sends nothing names, in results, the environment it was
// given by ID, as a run that purged would.
func TestChangedNothingToPurgeResultsNameTheEnvironment(t *testing.T) {
	t.Parallel()
	r := runChanged(t, actiontest.Step{Inputs: changedInputs("changed-since", head, "environment-id", envID)}, []githubtest.Option{deploy()})
	if want := results(zone, "", envID, nil, 0, 0); r.Code != 0 || len(r.requests)+len(r.lookups) != 0 || r.Outputs["results"] != want {
		t.Errorf("exit %d, %d Cloudflare requests, results %s; want nothing sent and results %s\n%s", r.Code, len(r.requests)+len(r.lookups), r.Outputs["results"], want, r.Stdout)
	}
}
