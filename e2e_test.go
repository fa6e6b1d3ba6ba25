package main_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
)

const (
	zone  = "023e105f4ecef8ad9ca31a8372d0c353"
	envID = "e7c3b1a2d4f5e6a7b8c9d0e1f2a3b4c5"
	token = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
)

func inputs(kv ...string) map[string]string {
	m := map[string]string{"zone-id": zone, "api-token": token, "max-retries": "3"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestActionYMLMatchesTheInputs keeps action.yml, the config loader and
// the flags in step: the same names, the same defaults.
func TestActionYMLMatchesTheInputs(t *testing.T) {
	t.Parallel()
	a := readActionYML(t)
	fields := config.InputFields()
	if len(a.Inputs) != len(fields) {
		t.Errorf("action.yml declares %d inputs, the loader reads %d", len(a.Inputs), len(fields))
	}
	for _, f := range fields {
		in, ok := a.Inputs[f.Name]
		if !ok {
			t.Errorf("input %s is read but not declared in action.yml", f.Name)
			continue
		}
		def := ""
		if in.Default != nil {
			def = *in.Default
		}
		if def != f.Default {
			t.Errorf("input %s: action.yml default %q, loader default %q", f.Name, def, f.Default)
		}
	}
	for _, name := range []string{"purge-id", "purge-ids", "count"} {
		if _, ok := a.Outputs[name]; !ok {
			t.Errorf("output %s not declared", name)
		}
	}
	if a.Runs.Using != "docker" {
		t.Errorf("runs.using = %q, want docker", a.Runs.Using)
	}
}

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
				fake := cloudflaretest.New()
				defer fake.Close()
				r := runStep(t, fake, step{inputs: inputs("purge-type", tt.typ, "targets", tt.targets, "environment-id", environment)})
				if r.code != 0 {
					t.Fatalf("exit %d\n%s", r.code, r.stdout)
				}
				if len(r.requests) != 1 {
					t.Fatalf("%d requests, want 1", len(r.requests))
				}
				req := r.requests[0]
				if req.Method != "POST" || req.Path != wantPath || string(req.Body) != tt.wantBody {
					t.Errorf("request = %s %s %s\nwant POST %s %s", req.Method, req.Path, req.Body, wantPath, tt.wantBody)
				}
				if req.Header.Get("Authorization") != "Bearer "+token || req.Header.Get("Content-Type") != "application/json" ||
					req.Header.Get("User-Agent") != "cloudflare-purge-action/e2e" {
					t.Errorf("headers = %v", req.Header)
				}
				want := map[string]string{"purge-id": cloudflaretest.ID(0), "purge-ids": `["` + cloudflaretest.ID(0) + `"]`, "count": tt.wantCount}
				if fmt.Sprint(r.outputs) != fmt.Sprint(want) {
					t.Errorf("outputs = %v, want %v", r.outputs, want)
				}
				if !strings.Contains(r.summary, "Cloudflare cache purge succeeded") || !strings.Contains(r.summary, cloudflaretest.ID(0)) {
					t.Errorf("summary:\n%s", r.summary)
				}
				assertSecretsOnlyMasked(t, r, token)
			})
		}
	}
}

func TestLegacyKeyAuth(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	const key = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a"
	r := runStep(t, fake, step{inputs: inputs("api-token", "", "api-email", "ops@example.com", "api-key", key, "purge-type", "everything")})
	if r.code != 0 || len(r.requests) != 1 {
		t.Fatalf("exit %d, %d requests\n%s", r.code, len(r.requests), r.stdout)
	}
	if h := r.requests[0].Header; h.Get("X-Auth-Key") != key || h.Get("X-Auth-Email") != "ops@example.com" || h.Get("Authorization") != "" {
		t.Errorf("headers = %v", h)
	}
	assertSecretsOnlyMasked(t, r, key)
}

func TestTokenFromWorkflowEnv(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	r := runStep(t, fake, step{inputs: inputs("api-token", "", "purge-type", "everything"), env: map[string]string{"CLOUDFLARE_API_TOKEN": token}})
	if r.code != 0 || len(r.requests) != 1 || r.requests[0].Header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("exit %d, %d requests\n%s", r.code, len(r.requests), r.stdout)
	}
	assertSecretsOnlyMasked(t, r, token)
}

func TestBatchingSendsEveryTargetOnce(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	var lines []string
	for i := range 250 {
		lines = append(lines, fmt.Sprintf("https://www.example.com/p/%d", i))
	}
	lines = append(lines, lines[0], "# a comment", "")
	r := runStep(t, fake, step{
		inputs: inputs("purge-type", "files", "targets", strings.Join(lines[:100], "\n"), "targets-file", "urls.txt"),
		files:  map[string]string{"urls.txt": strings.Join(lines[100:], "\r\n")},
	})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if len(r.requests) != 9 { // 250 URLs, 30 a request
		t.Fatalf("%d requests, want 9", len(r.requests))
	}
	seen := map[string]int{}
	for _, req := range r.requests {
		var body struct{ Files []string }
		if err := json.Unmarshal(req.Body, &body); err != nil || len(body.Files) > 30 {
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
	if err := json.Unmarshal([]byte(r.outputs["purge-ids"]), &ids); err != nil || len(ids) != 9 {
		t.Fatalf("purge-ids = %q", r.outputs["purge-ids"])
	}
	if r.outputs["count"] != "250" || r.outputs["purge-id"] != ids[0] {
		t.Errorf("outputs = %v", r.outputs)
	}
	if !strings.Contains(r.stdout, "::group::Purging 250 files of zone "+zone+" in 9 request(s)") ||
		!regexp.MustCompile(`\[9/9\] \d+ item\(s\), 1 attempt\(s\): purged, ID `).MatchString(r.stdout) {
		t.Errorf("log lacks the group or progress lines:\n%s", r.stdout)
	}
}

func TestRetried429And5xx(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New(cloudflaretest.WithScript(func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
		switch n {
		case 0:
			r := cloudflaretest.Fail(429, 971, "Please wait and consider throttling your request speed")
			r.Header = map[string]string{"Retry-After": "1"}
			return r
		case 1:
			return cloudflaretest.Response{Status: 502, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>"}
		}
		return cloudflaretest.OK(cloudflaretest.ID(n))
	}))
	defer fake.Close()
	r := runStep(t, fake, step{inputs: inputs("purge-type", "tags", "targets", "a")})
	if r.code != 0 || len(r.requests) != 3 {
		t.Fatalf("exit %d, %d requests, want 0 and 3\n%s", r.code, len(r.requests), r.stdout)
	}
	if gap := r.requests[1].At.Sub(r.requests[0].At); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	if r.outputs["purge-id"] != cloudflaretest.ID(2) || !strings.Contains(r.stdout, "3 attempt(s): purged") {
		t.Errorf("outputs = %v\n%s", r.outputs, r.stdout)
	}
}

func TestAuthFailureStopsAndExplains(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New(cloudflaretest.WithScript(func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
		if n == 0 {
			return cloudflaretest.OK(cloudflaretest.ID(0))
		}
		return cloudflaretest.Fail(403, 10000, "Authentication error")
	}))
	defer fake.Close()
	r := runStep(t, fake, step{inputs: inputs("purge-type", "tags", "targets", "a\nb\nc\nd", "batch-size", "1", "concurrency", "1")})
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if len(r.requests) != 2 {
		t.Errorf("%d requests; the batches after the auth failure must not be sent", len(r.requests))
	}
	errs := r.annotations("error")
	if len(errs) != 1 || errs[0].title != "Cloudflare purge failed: authentication error (HTTP 403)" ||
		!strings.Contains(errs[0].message, "HTTP 403: 10000 Authentication error") ||
		!strings.Contains(errs[0].message, "request 3-4 of 4: not sent") ||
		!strings.Contains(errs[0].message, "Cache Purge") {
		t.Errorf("annotations = %+v", errs)
	}
	want := map[string]string{"purge-id": cloudflaretest.ID(0), "purge-ids": `["` + cloudflaretest.ID(0) + `"]`, "count": "1"}
	if fmt.Sprint(r.outputs) != fmt.Sprint(want) {
		t.Errorf("outputs = %v, want what did succeed: %v", r.outputs, want)
	}
	if !strings.Contains(r.summary, "failed") || !strings.Contains(r.summary, "10000 Authentication error") {
		t.Errorf("summary:\n%s", r.summary)
	}
	assertSecretsOnlyMasked(t, r, token)
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
			fake := cloudflaretest.New()
			defer fake.Close()
			r := runStep(t, fake, step{inputs: tt.inputs})
			if r.code != 1 || len(r.requests) != 0 {
				t.Fatalf("exit %d, %d requests; want 1 and none\n%s", r.code, len(r.requests), r.stdout)
			}
			var titles []string
			for _, a := range r.annotations("error") {
				titles = append(titles, a.title)
			}
			sort.Strings(titles)
			sort.Strings(tt.titles)
			if strings.Join(titles, "|") != strings.Join(tt.titles, "|") {
				t.Errorf("annotation titles = %q, want %q", titles, tt.titles)
			}
			if !strings.Contains(r.summary, "invalid inputs") || !strings.Contains(r.summary, "Nothing was sent") {
				t.Errorf("summary:\n%s", r.summary)
			}
			if tt.inputs["api-token"] != "" {
				assertSecretsOnlyMasked(t, r, token)
			}
		})
	}
}

func TestDryRunSendsNothingAndNeedsNoToken(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	r := runStep(t, fake, step{inputs: inputs("api-token", "", "dry-run", "true", "purge-type", "tags", "targets", "a,b", "environment-id", envID)})
	if r.code != 0 || len(r.requests) != 0 {
		t.Fatalf("exit %d, %d requests\n%s", r.code, len(r.requests), r.stdout)
	}
	for _, want := range []string{
		"POST " + fake.BaseURL() + "/zones/" + zone + "/environments/" + envID + "/purge_cache",
		`{"tags":["a","b"]}`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.outputs["count"] != "0" || r.outputs["purge-ids"] != "[]" {
		t.Errorf("outputs = %v", r.outputs)
	}
}

func TestLocalRunWithoutGitHubFiles(t *testing.T) {
	t.Parallel()
	// Outside Actions: flags, no GITHUB_OUTPUT or GITHUB_STEP_SUMMARY.
	cmd := execLocal(t, []string{"--dry-run", "--zone-id", zone, "--purge-type", "tags", "--targets", "blog,home"})
	if cmd.code != 0 || !strings.Contains(cmd.stdout, `{"tags":["blog","home"]}`) || !strings.Contains(cmd.stdout, "output count=0") {
		t.Fatalf("exit %d\n%s\n%s", cmd.code, cmd.stdout, cmd.stderr)
	}
	help := execLocal(t, []string{"--help"})
	if help.code != 0 || !strings.Contains(help.stderr, "-zone-id") {
		t.Errorf("--help: exit %d\n%s", help.code, help.stderr)
	}
	// With a token and no runner, nothing prints it: not even a mask line.
	withToken := execLocal(t, []string{"--zone-id", zone, "--purge-type", "everything", "--api-token", token, "--api-url", "http://127.0.0.1:9", "--timeout", "1s", "--max-retries", "0"})
	if withToken.code != 1 || strings.Contains(withToken.stdout+withToken.stderr, token) {
		t.Errorf("local run with a token: exit %d, output:\n%s%s", withToken.code, withToken.stdout, withToken.stderr)
	}
	bad := execLocal(t, []string{"--no-such-flag"})
	if bad.code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", bad.code)
	}
}

func execLocal(t *testing.T, args []string) run {
	t.Helper()
	var r run
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	cmd.Dir = t.TempDir()
	out, errOut := &strings.Builder{}, &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, errOut
	err := cmd.Run()
	r.stdout, r.stderr = out.String(), errOut.String()
	if err != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	return r
}
