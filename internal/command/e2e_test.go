package command_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

func TestPurgeEachTypeOnBothEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, targets, wantBody string
		wantCount              string
	}{
		{"everything", "", `{"purge_everything":true}`, "1"},
		{"files", "https://www.example.com/a.css\n{\"url\": \"https://www.example.com/cat.jpg\", \"headers\": {\"CF-IPCountry\": \"US\"}}",
			`{"files":["https://www.example.com/a.css",{"url":"https://www.example.com/cat.jpg","headers":{"CF-IPCountry":"US"}}]}`, "2"},
		{"tags", "blog, home\nnews", `{"tags":["blog","home","news"]}`, "3"},
		{"hosts", "www.example.com\nimages.example.com", `{"hosts":["www.example.com","images.example.com"]}`, "2"},
		{"prefixes", "www.example.com/blog\nwww.example.com/img", `{"prefixes":["www.example.com/blog","www.example.com/img"]}`, "2"},
	}
	for _, tt := range tests {
		for _, environment := range []string{"", envID} {
			name := tt.typ + "/zone"
			wantPath := "/client/v4/zones/" + zone + "/purge_cache"
			if environment != "" {
				name = tt.typ + "/environment"
				wantPath = "/client/v4/zones/" + zone + "/environments/" + envID + "/purge_cache"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", tt.typ, "targets", tt.targets, "environment-id", environment)})
				if r.Code != 0 {
					t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
				}
				if len(r.requests) != 1 {
					t.Fatalf("%d requests, want 1", len(r.requests))
				}
				req := r.requests[0]
				if req.Method != "POST" || req.Path != wantPath || string(req.Body) != tt.wantBody {
					t.Errorf("request = %s %s %s\nwant POST %s %s", req.Method, req.Path, req.Body, wantPath, tt.wantBody)
				}
				if req.Header.Get("Authorization") != "Bearer "+token || req.Header.Get("Content-Type") != "application/json" ||
					req.Header.Get("User-Agent") != "cloudflare-purge-action/"+actiontest.Version+"" {
					t.Errorf("headers = %v", req.Header)
				}
				want := map[string]string{"purge-id": cloudflaretest.ID(0), "purge-ids": `["` + cloudflaretest.ID(0) + `"]`, "count": tt.wantCount,
					"results": results(zone, "", environment, []string{cloudflaretest.ID(0)}, atoi(tt.wantCount), 0), "verified": "0", "stale": "0", "broken": "0", "warmed": "0"}
				if fmt.Sprint(r.Outputs) != fmt.Sprint(want) {
					t.Errorf("outputs = %v, want %v", r.Outputs, want)
				}
				if !strings.Contains(r.Summary, "Cloudflare cache purge succeeded") || !strings.Contains(r.Summary, cloudflaretest.ID(0)) {
					t.Errorf("summary:\n%s", r.Summary)
				}
				assertSecretsOnlyMasked(t, r, token)
			})
		}
	}
}

func TestLegacyKeyAuth(t *testing.T) {
	t.Parallel()
	const key = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a"
	r := runStep(t, actiontest.Step{Inputs: inputs("api-token", "", "api-email", "ops@example.com", "api-key", key, "purge-type", "everything")})
	if r.Code != 0 || len(r.requests) != 1 {
		t.Fatalf("exit %d, %d requests\n%s", r.Code, len(r.requests), r.Stdout)
	}
	if h := r.requests[0].Header; h.Get("X-Auth-Key") != key || h.Get("X-Auth-Email") != "ops@example.com" || h.Get("Authorization") != "" {
		t.Errorf("headers = %v", h)
	}
	assertSecretsOnlyMasked(t, r, key)
}

func TestTokenFromWorkflowEnv(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("api-token", "", "purge-type", "everything"), Env: map[string]string{"CLOUDFLARE_API_TOKEN": token}})
	if r.Code != 0 || len(r.requests) != 1 || r.requests[0].Header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("exit %d, %d requests\n%s", r.Code, len(r.requests), r.Stdout)
	}
	assertSecretsOnlyMasked(t, r, token)
}

func TestBatchingSendsEveryTargetOnce(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 250 {
		lines = append(lines, fmt.Sprintf("https://www.example.com/p/%d", i))
	}
	lines = append(lines, lines[0], "# a comment", "")
	r := runStep(t, actiontest.Step{
		Inputs: inputs("purge-type", "files", "targets", strings.Join(lines[:100], "\n"), "targets-file", "urls.txt"),
		Files:  map[string]string{"urls.txt": strings.Join(lines[100:], "\r\n")},
	})
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
	}
	if len(r.requests) != 3 { // 250 URLs, 100 a request (auto)
		t.Fatalf("%d requests, want 3", len(r.requests))
	}
	seen := map[string]int{}
	for _, req := range r.requests {
		var body struct{ Files []string }
		if err := json.Unmarshal(req.Body, &body); err != nil || len(body.Files) > 100 {
			t.Fatalf("body %s: %v", req.Body, err)
		}
		for _, f := range body.Files {
			seen[f]++
		}
	}
	for _, l := range lines[:250] {
		if seen[l] != 1 {
			t.Errorf("%s sent %d times", l, seen[l])
		}
	}
	var ids []string
	if err := json.Unmarshal([]byte(r.Outputs["purge-ids"]), &ids); err != nil || len(ids) != 3 {
		t.Fatalf("purge-ids = %q", r.Outputs["purge-ids"])
	}
	if r.Outputs["count"] != "250" || r.Outputs["purge-id"] != ids[0] {
		t.Errorf("outputs = %v", r.Outputs)
	}
	if !strings.Contains(r.Stdout, "::group::Purging 250 files of zone "+zone+" in 3 request(s)") ||
		!regexp.MustCompile(`\[3/3\] \d+ item\(s\), 1 attempt: purged, ID `).MatchString(r.Stdout) {
		t.Errorf("log lacks the group or progress lines:\n%s", r.Stdout)
	}
}

func TestRetried429And5xx(t *testing.T) {
	t.Parallel()
	script := cloudflaretest.WithScript(func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
		switch n {
		case 0:
			r := cloudflaretest.Fail(429, 971, "Please wait and consider throttling your request speed")
			r.Header = map[string]string{"Retry-After": "1"}
			return r
		case 1:
			return cloudflaretest.Response{Status: 502, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>"}
		}
		return cloudflaretest.OK(cloudflaretest.ID(n))
	})
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a")}, script)
	if r.Code != 0 || len(r.requests) != 3 {
		t.Fatalf("exit %d, %d requests, want 0 and 3\n%s", r.Code, len(r.requests), r.Stdout)
	}
	if gap := r.requests[1].At.Sub(r.requests[0].At); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	if r.Outputs["purge-id"] != cloudflaretest.ID(2) || !strings.Contains(r.Stdout, "3 attempts: purged") {
		t.Errorf("outputs = %v\n%s", r.Outputs, r.Stdout)
	}
}

func TestAuthFailureStopsAndExplains(t *testing.T) {
	t.Parallel()
	script := cloudflaretest.WithScript(func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
		if n == 0 {
			return cloudflaretest.OK(cloudflaretest.ID(0))
		}
		return cloudflaretest.Fail(403, 10000, "Authentication error")
	})
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a\nb\nc\nd", "batch-size", "1", "concurrency", "1")}, script)
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1", r.Code)
	}
	if len(r.requests) != 2 {
		t.Errorf("%d requests; the batches after the auth failure must not be sent", len(r.requests))
	}
	errs := r.Annotations("error")
	if len(errs) != 1 || errs[0].Title != "Cloudflare purge failed: authentication error (HTTP 403)" ||
		!strings.Contains(errs[0].Message, "HTTP 403: 10000 Authentication error") ||
		!strings.Contains(errs[0].Message, "request 3-4 of 4: not sent") ||
		!strings.Contains(errs[0].Message, "Cache Purge") {
		t.Errorf("annotations = %+v", errs)
	}
	want := map[string]string{"purge-id": cloudflaretest.ID(0), "purge-ids": `["` + cloudflaretest.ID(0) + `"]`, "count": "1",
		"results": results(zone, "", "", []string{cloudflaretest.ID(0)}, 1, 3), "verified": "0", "stale": "0", "broken": "0", "warmed": "0"}
	if fmt.Sprint(r.Outputs) != fmt.Sprint(want) {
		t.Errorf("outputs = %v, want what did succeed: %v", r.Outputs, want)
	}
	if !strings.Contains(r.Summary, "failed") || !strings.Contains(r.Summary, "10000 Authentication error") {
		t.Errorf("summary:\n%s", r.Summary)
	}
	assertSecretsOnlyMasked(t, r, token)
}

// Requests in flight when one is refused for its credentials reached
// Cloudflare: each is accounted by its own answer (its ID in the
// outputs), none is reported "not sent", and the headline names what
// stopped the run, whichever batch came first.
func TestAuthFailureAccountsRequestsInFlight(t *testing.T) {
	t.Parallel()
	script := cloudflaretest.WithScript(func(n int, r cloudflaretest.Request) cloudflaretest.Response {
		if strings.Contains(string(r.Body), `"b"`) {
			return cloudflaretest.Fail(403, 10000, "Authentication error")
		}
		return cloudflaretest.OK(cloudflaretest.ID(n))
	})
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "b\na\nc\nd", "batch-size", "1", "concurrency", "4")},
		script, cloudflaretest.WithLatency(time.Second))
	if r.Code != 1 || len(r.requests) != 4 {
		t.Fatalf("exit %d, %d requests; want 1 and all 4 sent at once\n%s", r.Code, len(r.requests), r.Stdout)
	}
	errs := r.Annotations("error")
	if len(errs) != 1 || errs[0].Title != "Cloudflare purge failed: authentication error (HTTP 403)" || strings.Contains(errs[0].Message, "not sent") {
		t.Errorf("annotations = %+v\nwant the authentication headline and no batch called not sent", errs)
	}
	var ids []string
	if err := json.Unmarshal([]byte(r.Outputs["purge-ids"]), &ids); err != nil || len(ids) != 3 || r.Outputs["count"] != "3" {
		t.Errorf("purge-ids %s, count %s; want the 3 confirmed in flight", r.Outputs["purge-ids"], r.Outputs["count"])
	}
	assertSecretsOnlyMasked(t, r, token)
}

// A password written into any URL input is refused, naming the input,
// and is printed nowhere: the URL is shown as https://***@host/….
func TestURLCredentialsAreRefusedAndNeverPrinted(t *testing.T) {
	t.Parallel()
	const password = "hunter2pass"
	cred := "https://deploy:" + password + "@"
	changed := []string{"purge-type", "changed", "changed-files", "public/a.html", "url-map", "public/ => https://www.example.com/"}
	for _, tt := range []struct {
		name  string
		in    map[string]string
		env   map[string]string
		title string
	}{
		{"targets", inputs("purge-type", "files", "targets", cred+"www.example.com/a"), nil, "Invalid input targets"},
		{"verify-urls", inputs("purge-type", "tags", "targets", "a", "verify", "warn", "verify-urls", cred+"www.example.com/a"), nil, "Invalid input verify-urls"},
		{"wait-for", inputs("purge-type", "tags", "targets", "a", "wait-for", cred+"www.example.com/v"), nil, "Invalid input wait-for"},
		{"sitemap", inputs("purge-type", "files", "sitemap", cred+"www.example.com/sitemap.xml"), nil, "Invalid input sitemap"},
		{"api-url", inputs("purge-type", "everything", "api-url", cred+"api.example.com/client/v4"), nil, "Invalid input api-url"},
		{"url-map", inputs(changed[0], changed[1], changed[2], changed[3], changed[4], "public/ => "+cred+"www.example.com/"), nil, "Invalid input url-map"},
		{"GITHUB_API_URL", inputs("purge-type", "changed", "changed-since", "0123456789abcdef0123456789abcdef01234567", "github-token", "ghs_tok", changed[4], changed[5]),
			map[string]string{"GITHUB_API_URL": cred + "api.github.com", "GITHUB_REPOSITORY": "acme/site", "GITHUB_SHA": "89abcdef0123456789abcdef0123456789abcdef"}, "Invalid input changed-since"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runStep(t, actiontest.Step{Inputs: tt.in, Env: tt.env, Debug: true})
			if r.Code != 1 || len(r.requests)+len(r.lookups) != 0 {
				t.Fatalf("exit %d, %d requests; want 1 and none\n%s", r.Code, len(r.requests), r.Stdout)
			}
			var titles []string
			for _, a := range r.Annotations("error") {
				titles = append(titles, a.Title)
			}
			if !slices.Contains(titles, tt.title) {
				t.Errorf("annotation titles = %q, want %q", titles, tt.title)
			}
			for where, text := range map[string]string{"log": r.Stdout, "stderr": r.Stderr, "summary": r.Summary, "outputs": fmt.Sprint(r.Outputs)} {
				if strings.Contains(text, password) {
					t.Errorf("the %s holds the URL's password:\n%s", where, text)
				}
			}
			if !strings.Contains(r.Stdout, "https://***@") {
				t.Errorf("the refusal does not show the URL as https://***@…:\n%s", r.Stdout)
			}
		})
	}
}

// Words: one target is counted in the singular, and an invalidation that
// finds no invalidate_cache route says so and suggests a purge.
func TestWordsOfOneTargetAndAMissingInvalidateRoute(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a")})
	if !strings.Contains(r.Stdout, "::group::Purging 1 tag of zone "+zone+" in 1 request(s)") {
		t.Errorf("log:\n%s", r.Stdout)
	}
	noRoute := cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
		return cloudflaretest.Fail(404, 7000, "No route for that URI")
	})
	r = runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a", "mode", "invalidate")}, noRoute)
	if r.Code != 1 || !r.HasAnnotation("error", "Cloudflare invalidation failed: the invalidate_cache endpoint was not found (HTTP 404)", "use mode: purge") {
		t.Errorf("exit %d, annotations %+v", r.Code, r.Annotations("error"))
	}
}

func TestBadInputsSendNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		titles []string
	}{
		{"missing zone", inputs("zone-id", "", "purge-type", "everything"), []string{"Invalid input zone-id"}},
		{"zone with path", inputs("zone-id", "../x", "purge-type", "everything"), []string{"Invalid input zone-id"}},
		{"unknown purge type", inputs("purge-type", "cache"), []string{"Invalid input purge-type"}},
		{"no targets", inputs("purge-type", "files"), []string{"Invalid input targets"}},
		{"relative URL", inputs("purge-type", "files", "targets", "/index.html"), []string{"Invalid input targets"}},
		{"no token", inputs("api-token", "", "purge-type", "everything"), []string{"Invalid input api-token"}},
		{"plain http to a remote host", inputs("purge-type", "everything", "api-url", "http://api.cloudflare.com/client/v4"), []string{"Invalid input api-url"}},
		{"several at once", inputs("zone-id", "a b", "purge-type", "tags", "batch-size", "0", "timeout", "soon"),
			[]string{"Invalid input zone-id", "Invalid input batch-size", "Invalid input timeout", "Invalid input targets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runStep(t, actiontest.Step{Inputs: tt.inputs})
			if r.Code != 1 || len(r.requests) != 0 {
				t.Fatalf("exit %d, %d requests; want 1 and none\n%s", r.Code, len(r.requests), r.Stdout)
			}
			var titles []string
			for _, a := range r.Annotations("error") {
				titles = append(titles, a.Title)
			}
			sort.Strings(titles)
			sort.Strings(tt.titles)
			if strings.Join(titles, "|") != strings.Join(tt.titles, "|") {
				t.Errorf("annotation titles = %q, want %q", titles, tt.titles)
			}
			if !strings.Contains(r.Summary, "invalid inputs") || !strings.Contains(r.Summary, "Nothing was sent") {
				t.Errorf("summary:\n%s", r.Summary)
			}
			if tt.inputs["api-token"] != "" {
				assertSecretsOnlyMasked(t, r, token)
			}
		})
	}
}

func TestDryRunSendsNothingAndNeedsNoToken(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("api-token", "", "dry-run", "true", "purge-type", "tags", "targets", "a,b", "environment-id", envID)})
	if r.Code != 0 || len(r.requests) != 0 {
		t.Fatalf("exit %d, %d requests\n%s", r.Code, len(r.requests), r.Stdout)
	}
	for _, want := range []string{
		"POST " + cloudflaretest.InMemoryBaseURL + "/zones/" + zone + "/environments/" + envID + "/purge_cache",
		`{"tags":["a","b"]}`,
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if r.Outputs["count"] != "0" || r.Outputs["purge-ids"] != "[]" {
		t.Errorf("outputs = %v", r.Outputs)
	}
}

// Outside Actions the action reads like a CLI: flags, plain lines, errors
// on stderr, outputs as name=value, and no workflow command at all.
func TestLocalRunReadsLikeACLI(t *testing.T) {
	t.Parallel()
	local := func(args ...string) run {
		return runStep(t, actiontest.Step{Local: true, Args: args})
	}
	noCommands := func(name string, r run) {
		t.Helper()
		for _, line := range strings.Split(r.Stdout+r.Stderr, "\n") {
			if strings.HasPrefix(line, "::") {
				t.Errorf("%s: workflow command outside Actions: %q", name, line)
			}
		}
	}

	dry := local("--dry-run", "--zone-id", zone, "--purge-type", "tags", "--targets", "blog,home")
	noCommands("dry run", dry)
	if dry.Code != 0 || !strings.Contains(dry.Stdout, `{"tags":["blog","home"]}`) ||
		!strings.Contains(dry.Stdout, "\ncount=0\n") || !strings.Contains(dry.Stdout, "\npurge-ids=[]\n") {
		t.Errorf("dry run: exit %d\n%s\n%s", dry.Code, dry.Stdout, dry.Stderr)
	}

	for _, args := range [][]string{{"--dry-run", "false"}, {"--dry-run=false"}} {
		r := local(append(args, "--zone-id", zone, "--purge-type", "everything")...)
		noCommands(strings.Join(args, " "), r)
		// Not a dry run, and no token: refused for the token, not the flag.
		if r.Code != 1 || !strings.Contains(r.Stderr, "error: api-token: no credentials") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, r.Code, r.Stderr)
		}
	}

	bad := local("--dry-run", "--zone-id", "not a zone", "--purge-type", "tags", "--targets", "a")
	noCommands("bad input", bad)
	if bad.Code != 1 || !strings.Contains(bad.Stderr, "error: zone-id: has ' ', which an ID cannot hold") {
		t.Errorf("bad input: exit %d, stderr:\n%s", bad.Code, bad.Stderr)
	}

	help := local("--help")
	if help.Code != 0 || !strings.Contains(help.Stderr, "--zone-id") || !strings.Contains(help.Stderr, "Zone ID") {
		t.Errorf("--help: exit %d\n%s", help.Code, help.Stderr)
	}
	if !strings.Contains(help.Stderr, "--version") {
		t.Errorf("--help does not list --version:\n%s", help.Stderr)
	}
	// --version, for bug reports: the version alone, exit 0, nothing sent.
	if v := local("--version"); v.Code != 0 || v.Stdout != "cloudflare-purge-action "+actiontest.Version+"\n" || len(v.requests) != 0 {
		t.Errorf("--version: exit %d, stdout %q", v.Code, v.Stdout)
	}
	if r := local("--no-such-flag"); r.Code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", r.Code)
	}

	// With a token and no runner, nothing prints it: not even a mask line.
	failed := runStep(t, actiontest.Step{Local: true, Args: []string{"--zone-id", zone, "--purge-type", "everything",
		"--api-token", token, "--api-url", cloudflaretest.InMemoryBaseURL, "--max-retries", "0"}},
		cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
			return cloudflaretest.Fail(403, 10000, "Authentication error")
		}))
	noCommands("failed purge", failed)
	if failed.Code != 1 || !strings.Contains(failed.Stderr, "error: Cloudflare purge failed: authentication error (HTTP 403): ") {
		t.Errorf("failed purge: exit %d, stderr:\n%s", failed.Code, failed.Stderr)
	}
	actiontest.AssertSecretsOnlyMasked(t, failed.Result, true, token)

	ok := runStep(t, actiontest.Step{Local: true, Args: []string{"--zone-id", zone, "--purge-type", "everything",
		"--api-token", token, "--api-url", cloudflaretest.InMemoryBaseURL}})
	noCommands("purge", ok)
	want := "Purged 1 target(s) of zone " + zone + " in 1 request(s)"
	if ok.Code != 0 || !strings.Contains(ok.Stdout, want) || !strings.Contains(ok.Stdout, "purge-id="+cloudflaretest.ID(0)+"\n") {
		t.Errorf("purge: exit %d, want a line %q and purge-id=…\n%s", ok.Code, want, ok.Stdout)
	}
}

// Workers log at once (a debug line per request and answer): the log is
// one writer, so under -race this fails if the reporter does not
// serialise them, and every line must come out whole.
func TestConcurrentWorkersShareOneLog(t *testing.T) {
	t.Parallel()
	var tags []string
	for i := range 40 {
		tags = append(tags, fmt.Sprintf("tag-%d", i))
	}
	r := runStep(t, actiontest.Step{
		Inputs: inputs("purge-type", "tags", "targets", strings.Join(tags, "\n"), "batch-size", "1", "concurrency", "8"),
		Debug:  true,
	})
	if r.Code != 0 || len(r.requests) != 40 {
		t.Fatalf("exit %d, %d requests\n%s", r.Code, len(r.requests), r.Stdout)
	}
	sent, answered := 0, 0
	for _, line := range strings.Split(r.Stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "::debug::POST "+cloudflaretest.InMemoryBaseURL+"/zones/"+zone+"/purge_cache ("):
			sent++
		case strings.HasPrefix(line, "::debug::-> HTTP 200 after "):
			answered++
			if strings.Contains(line, "{") {
				t.Errorf("debug line prints a Go struct: %q", line)
			}
		}
	}
	// Every answer has its line: the purges' and the token check's.
	if sent != 40 || answered != 40+len(r.verifies) || len(r.verifies) != 1 {
		t.Errorf("%d request and %d answer debug lines (%d token checks), want 40 and 41:\n%s", sent, answered, len(r.verifies), r.Stdout)
	}
	// The run's settings name the mode as the input does.
	if !strings.Contains(r.Stdout, "; mode purge; purge type tags;") {
		t.Errorf("the settings' debug line does not say mode purge:\n%.2000s", r.Stdout)
	}
	assertSecretsOnlyMasked(t, r, token)
}
