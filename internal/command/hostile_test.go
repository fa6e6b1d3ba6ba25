package command_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

const apiKey = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6"

// withDebug runs a scenario twice: as a normal step, and with step debug
// logging on (RUNNER_DEBUG=1), which prints more and so has more chances
// to leak a secret.
// manyURLs is n distinct URLs, one a line.
func manyURLs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "https://www.example.com/page/%d\n", i)
	}
	return b.String()
}

func withDebug(t *testing.T, scenario func(t *testing.T, debug bool)) {
	t.Helper()
	for _, debug := range []bool{false, true} {
		t.Run(fmt.Sprintf("debug=%v", debug), func(t *testing.T) {
			t.Parallel()
			scenario(t, debug)
		})
	}
}

func manyZoneIDs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "z%d\n", i)
	}
	return b.String()
}

func symlink(target, name string) func(t testing.TB, workspace string) {
	return func(t testing.TB, workspace string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(workspace, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBadInputTable(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "urls.txt"), []byte("https://www.example.com/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tags := func(kv ...string) map[string]string {
		return inputs(append([]string{"purge-type", "tags", "targets", "blog"}, kv...)...)
	}
	files := func(kv ...string) map[string]string {
		return inputs(append([]string{"purge-type", "files", "targets", ""}, kv...)...)
	}
	tests := []struct {
		name   string
		inputs map[string]string
		files  map[string]string
		setup  func(testing.TB, string)
		input  string // the input the annotation must name
		msg    string // and, where set, what its message must say
	}{
		{name: "zone-id empty", inputs: tags("zone-id", ""), input: "zone-id"},
		{name: "zone-id with a space", inputs: tags("zone-id", "023e105f 4ecef8ad"), input: "zone-id"},
		{name: "zone-id with a slash", inputs: tags("zone-id", "abc/def"), input: "zone-id"},
		{name: "zone-id dot-dot", inputs: tags("zone-id", ".."), input: "zone-id"},
		{name: "zone-id percent-escape", inputs: tags("zone-id", "%2e%2e%2fx"), input: "zone-id"},
		{name: "zone-id control character", inputs: tags("zone-id", "abc\x1bdef"), input: "zone-id"},
		{name: "zone-id with a tab", inputs: tags("zone-id", "abc\tdef"), input: "zone-id"},
		{name: "one bad zone-id among several", inputs: tags("zone-id", "abc\nd/ef"), input: "zone-id"},
		{name: "zone-id 33 characters", inputs: tags("zone-id", strings.Repeat("a", 33)), input: "zone-id"},
		{name: "environment-id dot-dot slash", inputs: tags("environment-id", "../x"), input: "environment-id"},
		{name: "environment-id percent-escape", inputs: tags("environment-id", "e%2F1"), input: "environment-id"},
		{name: "environment-id with a space", inputs: tags("environment-id", "e 1"), input: "environment-id"},
		{name: "environment-id NUL byte", inputs: tags("environment-id", "e\x001"), input: "environment-id"},
		{name: "purge-type empty", inputs: tags("purge-type", ""), input: "purge-type"},
		{name: "mode unknown", inputs: tags("mode", "delete"), input: "mode", msg: "want purge"},
		{name: "zone name with a path", inputs: tags("zone", "example.com/x"), input: "zone", msg: "is not a zone name"},
		{name: "environment and environment-id", inputs: tags("environment", "staging", "environment-id", "e1"), input: "environment", msg: "together with environment-id"},
		{name: "environment-id with two zones", inputs: tags("zone-id", zone+"\n"+envID, "environment-id", "e1"), input: "environment-id", msg: "2 zones are given"},
		{name: "51 zones", inputs: tags("zone-id", manyZoneIDs(51)), input: "zone-id", msg: "at most 50"},
		{name: "purge-type unknown", inputs: tags("purge-type", "purge_everything"), input: "purge-type"},
		{name: "purge-type list", inputs: tags("purge-type", "files,tags"), input: "purge-type"},
		{name: "targets with everything", inputs: tags("purge-type", "everything"), input: "targets"},
		{name: "no targets", inputs: tags("targets", "# only a comment\n\n"), input: "targets"},
		{name: "relative URL", inputs: files("targets", "/index.html"), input: "targets"},
		{name: "ftp URL", inputs: files("targets", "ftp://www.example.com/a"), input: "targets"},
		{name: "files JSON with null headers", inputs: files("targets", `{"url": "https://www.example.com/a", "headers": null}`), input: "targets"},
		{name: "files JSON with a null header value", inputs: files("targets", `{"url": "https://www.example.com/a", "headers": {"CF-IPCountry": null}}`), input: "targets"},
		{name: "files JSON cut short", inputs: files("targets", `{"url": "https://www.example.com/a"`), input: "targets"},
		{name: "host with a scheme", inputs: inputs("purge-type", "hosts", "targets", "https://www.example.com"), input: "targets"},
		{name: "prefix with a query", inputs: inputs("purge-type", "prefixes", "targets", "www.example.com/a?b=1"), input: "targets"},
		{name: "tag with a space", inputs: tags("targets", "blog posts"), input: "targets"},
		{name: "NUL byte in targets", inputs: tags("targets", "blog\x00home"), input: "targets"},
		{name: "1 MB targets", inputs: tags("targets", strings.Repeat("tag-0123456789\n", 70_000)), input: "targets", msg: "put long lists in targets-file"},
		{name: "NUL byte in targets-file", inputs: files("targets-file", "urls.txt"), files: map[string]string{"urls.txt": "https://www.example.com/a\x00b\n"}, input: "targets-file", msg: "control character"},
		{name: "targets-file is a folder", inputs: files("targets-file", "purge"), files: map[string]string{"purge/x.txt": "x"}, input: "targets-file", msg: "not a regular file"},
		{name: "targets-file missing", inputs: files("targets-file", "nope.txt"), input: "targets-file", msg: "does not exist"},
		{name: "targets-file symlink outside", inputs: files("targets-file", "urls.txt"), setup: symlink(filepath.Join(outside, "urls.txt"), "urls.txt"), input: "targets-file", msg: "outside the workspace"},
		{name: "targets-file dot-dot", inputs: files("targets-file", "../../../../../../etc/passwd"), input: "targets-file", msg: "outside the workspace"},
		{name: "targets-file absolute outside", inputs: files("targets-file", "/etc/passwd"), input: "targets-file", msg: "outside the workspace"},
		{name: "batch-size above the API's 100", inputs: tags("batch-size", "101"), input: "batch-size"},
		{name: "batch-size above the API's 500 URLs", inputs: files("targets", "https://www.example.com/", "batch-size", "501"), input: "batch-size"},
		{name: "batch-size zero", inputs: tags("batch-size", "0"), input: "batch-size"},
		{name: "batch-size not a number", inputs: tags("batch-size", "ten"), input: "batch-size"},
		{name: "max-retries negative", inputs: tags("max-retries", "-1"), input: "max-retries"},
		{name: "timeout 0", inputs: tags("timeout", "0"), input: "timeout"},
		{name: "timeout negative", inputs: tags("timeout", "-1m"), input: "timeout"},
		{name: "timeout unparseable", inputs: tags("timeout", "ten minutes"), input: "timeout"},
		{name: "timeout too short for 115,000 URLs under the API limit", inputs: files("targets-file", "urls.txt", "timeout", "5m"), files: map[string]string{"urls.txt": manyURLs(115_000)},
			input: "timeout", msg: "115000 targets at 100 a request are 1150 requests, which take at least 5m under Cloudflare's API limit of 1200 requests per 5 minutes"},
		{name: "dry-run not a bool", inputs: tags("dry-run", "maybe"), input: "dry-run"},
		{name: "concurrency zero", inputs: tags("concurrency", "0"), input: "concurrency"},
		{name: "plan unknown", inputs: tags("plan", "platinum"), input: "plan"},
		{name: "api-url plain http to a remote host", inputs: tags("api-url", "http://api.cloudflare.com/client/v4"), input: "api-url"},
		{name: "api-url plain http to a private address", inputs: tags("api-url", "http://10.0.0.1/client/v4"), input: "api-url"},
		{name: "api-url not http", inputs: tags("api-url", "ftp://api.cloudflare.com"), input: "api-url"},
		{name: "no credentials", inputs: tags("api-token", ""), input: "api-token"},
		{name: "email without key", inputs: tags("api-token", "", "api-email", "ops@example.com"), input: "api-key"},
		{name: "key without email", inputs: tags("api-token", "", "api-key", apiKey), input: "api-email"},
		{name: "token and key together", inputs: tags("api-email", "ops@example.com", "api-key", apiKey), input: "api-token"},
		{name: "token with a line break", inputs: tags("api-token", token+"\nX"), input: "api-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			withDebug(t, func(t *testing.T, debug bool) {
				r := runStep(t, actiontest.Step{Inputs: tt.inputs, Files: tt.files, Setup: tt.setup, Debug: debug})
				if r.Code != 1 {
					t.Errorf("exit %d, want 1", r.Code)
				}
				if len(r.requests) != 0 {
					t.Errorf("%d requests sent; bad input must send nothing", len(r.requests))
				}
				named := false
				for _, a := range r.Annotations("error") {
					named = named || a.Title == "Invalid input "+tt.input && strings.Contains(a.Message, tt.msg)
				}
				if !named {
					t.Errorf("annotations = %+v, want one titled for %s saying %q", r.Annotations("error"), tt.input, tt.msg)
				}
				assertNoSecrets(t, r, tt.inputs)
			})
		})
	}
}

// assertNoSecrets checks whichever secrets the inputs gave.
func assertNoSecrets(t *testing.T, r run, in map[string]string) {
	t.Helper()
	var secrets []string
	for _, k := range []string{"api-token", "api-key"} {
		if v := strings.TrimSpace(in[k]); v != "" {
			secrets = append(secrets, v)
		}
	}
	if len(secrets) == 0 {
		return
	}
	// A secret with a line break is masked line by line: check the lines.
	var parts []string
	for _, s := range secrets {
		parts = append(parts, strings.Split(s, "\n")...)
	}
	assertSecretsOnlyMasked(t, r, parts...)
}

// Input that looks odd but is valid works, rather than failing a deploy.
func TestOddButValidInputsWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		inputs   map[string]string
		files    map[string]string
		wantBody string
	}{
		{"CRLF targets-file (saved on Windows)", inputs("purge-type", "files", "targets-file", "urls.txt"),
			map[string]string{"urls.txt": "https://www.example.com/a\r\nhttps://www.example.com/b\r\n"}, `{"files":["https://www.example.com/a","https://www.example.com/b"]}`},
		{"UTF-8 byte order mark", inputs("purge-type", "tags", "targets-file", "tags.txt"),
			map[string]string{"tags.txt": "\uFEFFblog\nhome\n"}, `{"tags":["blog","home"]}`},
		{"CRLF in targets", inputs("purge-type", "hosts", "targets", "www.example.com\r\nimg.example.com\r\n"), nil, `{"hosts":["www.example.com","img.example.com"]}`},
		{"mixed-case purge type (accepted)", inputs("purge-type", "Prefixes", "targets", "www.example.com/a"), nil, `{"prefixes":["www.example.com/a"]}`},
		{"upper-case purge type (accepted)", inputs("purge-type", "EVERYTHING"), nil, `{"purge_everything":true}`},
		{"empty headers object", inputs("purge-type", "files", "targets", `{"url": "https://www.example.com/a", "headers": {}}`), nil, `{"files":[{"url":"https://www.example.com/a","headers":{}}]}`},
		{"spaces around values", inputs("purge-type", " tags ", "targets", "  blog , home  ", "zone-id", "  "+zone+"  "), nil, `{"tags":["blog","home"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runStep(t, actiontest.Step{Inputs: tt.inputs, Files: tt.files})
			if r.Code != 0 || len(r.requests) != 1 || string(r.requests[0].Body) != tt.wantBody {
				t.Fatalf("exit %d, requests %d, want 0 and one with %s\n%s", r.Code, len(r.requests), tt.wantBody, r.Stdout)
			}
		})
	}
}

// faultInputs purges five tags in three batches, one request at a time,
// so a script can tell requests apart by their number.
func faultInputs(kv ...string) map[string]string {
	return inputs(append([]string{"purge-type", "tags", "targets", "t0\nt1\nt2\nt3\nt4", "batch-size", "2", "concurrency", "1"}, kv...)...)
}

var faultTargets = []string{"t0", "t1", "t2", "t3", "t4"}

func html(status int) cloudflaretest.Response {
	return cloudflaretest.Response{Status: status, Body: fmt.Sprintf("<html><head><title>%d</title></head><body><h1>Error %d</h1><p>cloudflare</p></body></html>", status, status)}
}

func rateLimited(retryAfter string) cloudflaretest.Response {
	r := cloudflaretest.Fail(429, 971, "Please wait and consider throttling your request speed")
	if retryAfter != "" {
		r.Header = map[string]string{"Retry-After": retryAfter}
	}
	return r
}

func TestFaultTable(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 50<<20)
	tests := []struct {
		name      string
		script    cloudflaretest.Script
		kv        []string // extra inputs
		wantCode  int
		wantTitle string // substring of the error annotation's title
		wantMsg   string // substring of its message
		wantReqs  int    // requests the fake should see; -1: any
	}{
		{name: "429 with Retry-After", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 0 {
				return rateLimited("3")
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantReqs: 4},
		{name: "429 without Retry-After", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 0 {
				return rateLimited("")
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantReqs: 4},
		{name: "429 with Retry-After as an HTTP date", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 0 {
				return rateLimited(time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat))
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantReqs: 4},
		{name: "Retry-After longer than the time left", kv: []string{"timeout", "1m"}, script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			return rateLimited("3600")
		}, wantCode: 1, wantTitle: "rate limited (HTTP 429)", wantMsg: "Retry-After asks to wait 1h0m0s, longer than the 1m0s left of timeout", wantReqs: 3},
		{name: "500 storm with HTML", script: func(int, cloudflaretest.Request) cloudflaretest.Response { return html(500) },
			wantCode: 1, wantTitle: "HTTP 500", wantMsg: "gave up after 4 attempts: HTTP 500: response is not a Cloudflare API envelope: 500 Error 500 cloudflare", wantReqs: 12},
		{name: "502 storm with HTML", script: func(int, cloudflaretest.Request) cloudflaretest.Response { return html(502) },
			wantCode: 1, wantTitle: "HTTP 502", wantMsg: "HTTP 502: response is not a Cloudflare API envelope", wantReqs: 12},
		{name: "503 storm with HTML", script: func(int, cloudflaretest.Request) cloudflaretest.Response { return html(503) },
			wantCode: 1, wantTitle: "HTTP 503", wantMsg: "HTTP 503", wantReqs: 12},
		{name: "520 storm with HTML", script: func(int, cloudflaretest.Request) cloudflaretest.Response { return html(520) },
			wantCode: 1, wantTitle: "HTTP 520", wantMsg: "HTTP 520", wantReqs: 12},
		{name: "501 is final: not implemented, never retried", script: func(int, cloudflaretest.Request) cloudflaretest.Response { return html(501) },
			wantCode: 1, wantTitle: "HTTP 501", wantMsg: "request 1-3 of 3: HTTP 501", wantReqs: 3},
		{name: "5xx then success", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n < 2 {
				return html(502 + n)
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantReqs: 5},
		{name: "connection reset, then success", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 0 {
				return cloudflaretest.Response{Reset: true}
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantReqs: 4},
		{name: "connection reset storm", script: func(int, cloudflaretest.Request) cloudflaretest.Response { return cloudflaretest.Response{Reset: true} },
			wantCode: 1, wantTitle: "request error", wantMsg: "request failed", wantReqs: 12},
		{name: "server never answers", kv: []string{"timeout", "2s"}, script: func(int, cloudflaretest.Request) cloudflaretest.Response { return cloudflaretest.Response{Hang: true} },
			wantCode: 1, wantTitle: "timeout", wantMsg: "timeout reached before the purge finished", wantReqs: 1},
		{name: "truncated JSON", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 0 {
				return cloudflaretest.Response{Status: 200, Body: `{"success":true,"result":{"id":"02`}
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantCode: 1, wantTitle: "HTTP 200", wantMsg: "not a Cloudflare API envelope", wantReqs: 3},
		{name: "2xx with success false", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 1 {
				return cloudflaretest.Response{Status: 200, Body: `{"success":false,"errors":[],"messages":[],"result":null}`}
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantCode: 1, wantTitle: "HTTP 200", wantMsg: `request 2 of 3: HTTP 200: "success": false with no errors`, wantReqs: 3},
		{name: "2xx with no result.id", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 2 {
				return cloudflaretest.Response{Status: 200, Body: `{"success":true,"errors":[],"messages":[],"result":{}}`}
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantCode: 1, wantTitle: "HTTP 200", wantMsg: `request 3 of 3: HTTP 200: "success": true but no usable result.id`, wantReqs: 3},
		{name: "50 MB response body", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 0 {
				return cloudflaretest.Response{Status: 200, Body: big}
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantCode: 1, wantTitle: "HTTP 200", wantMsg: "response body is larger than 1048576 bytes", wantReqs: 3},
		{name: "redirect to another host", script: func(int, cloudflaretest.Request) cloudflaretest.Response {
			// In memory every host reaches this fake: a followed redirect
			// would show as a second request per batch.
			return cloudflaretest.Response{Status: 307, Header: map[string]string{"Location": "https://elsewhere.example/client/v4/zones/" + zone + "/purge_cache"}}
		}, wantCode: 1, wantTitle: "HTTP 307", wantMsg: "redirect not followed (to host elsewhere.example)", wantReqs: 3},
		{name: "failure in the middle of a multi-batch purge", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 1 {
				return cloudflaretest.Fail(400, 1092, cloudflaretest.EverythingWithKeysMessage)
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantCode: 1, wantTitle: "HTTP 400", wantMsg: "request 2 of 3: HTTP 400: 1092 Request cannot contain", wantReqs: 3},
		{name: "auth failure in the middle stops the rest", script: func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			if n == 1 {
				return cloudflaretest.Fail(401, 10000, "Authentication error")
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}, wantCode: 1, wantTitle: "authentication error (HTTP 401)", wantMsg: "request 3 of 3: not sent", wantReqs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			withDebug(t, func(t *testing.T, debug bool) {
				in := faultInputs(tt.kv...)
				r := runStep(t, actiontest.Step{Inputs: in, Debug: debug}, cloudflaretest.WithScript(tt.script))
				if r.Code != tt.wantCode {
					t.Fatalf("exit %d, want %d\n%s", r.Code, tt.wantCode, r.Stdout)
				}
				if tt.wantReqs >= 0 && len(r.requests) != tt.wantReqs {
					t.Errorf("%d requests, want %d", len(r.requests), tt.wantReqs)
				}
				errs := r.Annotations("error")
				if tt.wantCode == 0 && len(errs) != 0 {
					t.Errorf("annotations on success: %+v", errs)
				}
				if tt.wantCode != 0 {
					if len(errs) != 1 || !strings.HasPrefix(errs[0].Title, "Cloudflare purge failed: ") ||
						!strings.Contains(errs[0].Title, tt.wantTitle) || !strings.Contains(errs[0].Message, tt.wantMsg) {
						t.Errorf("annotations = %+v\nwant one titled ...%q saying ...%q", errs, tt.wantTitle, tt.wantMsg)
					}
				}
				assertNoTargetLost(t, r, faultTargets)
				assertSecretsOnlyMasked(t, r, token)
			})
		})
	}
}

// assertNoTargetLost checks that every target is either in a batch the API
// confirmed or reported as not purged, and that count, purge-ids and the
// summary agree with what the fake recorded.
func assertNoTargetLost(t *testing.T, r run, all []string) {
	t.Helper()
	confirmed := map[string]bool{}
	var confirmedIDs []string
	for i, req := range r.requests {
		if !req.Confirmed {
			continue
		}
		confirmedIDs = append(confirmedIDs, cloudflaretest.ID(i))
		var body map[string][]string
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatalf("request %d body %s: %v", i, req.Body, err)
		}
		for _, list := range body {
			for _, target := range list {
				if confirmed[target] {
					t.Errorf("target %s confirmed twice", target)
				}
				confirmed[target] = true
			}
		}
	}
	if r.Outputs["count"] != fmt.Sprint(len(confirmed)) {
		t.Errorf("count = %q, but the API confirmed %d targets", r.Outputs["count"], len(confirmed))
	}
	var ids []string
	if err := json.Unmarshal([]byte(r.Outputs["purge-ids"]), &ids); err != nil {
		t.Fatalf("purge-ids = %q: %v", r.Outputs["purge-ids"], err)
	}
	sort.Strings(ids)
	sort.Strings(confirmedIDs)
	if fmt.Sprint(ids) != fmt.Sprint(confirmedIDs) {
		t.Errorf("purge-ids = %v, the API confirmed %v", ids, confirmedIDs)
	}
	if !strings.Contains(r.Summary, fmt.Sprintf("| Targets | %d (%d purged) |", len(all), len(confirmed))) {
		t.Errorf("summary does not agree with %d of %d purged:\n%s", len(confirmed), len(all), r.Summary)
	}
	if lost := len(all) - len(confirmed); lost > 0 {
		msg := ""
		if errs := r.Annotations("error"); len(errs) > 0 {
			msg = errs[0].Message
		}
		if !strings.Contains(msg, fmt.Sprintf("%d of %d target(s) not purged", lost, len(all))) {
			t.Errorf("%d targets not purged, but the annotation does not say so: %q", lost, msg)
		}
	}
}

// Text from the API reaches the log; it must not be able to start a
// workflow command (add a mask, forge an annotation, stop commands).
func TestAPITextCannotStartWorkflowCommands(t *testing.T) {
	t.Parallel()
	withDebug(t, func(t *testing.T, debug bool) {
		evil := "bad\n::add-mask::x\n::error::forged\r\n::stop-commands::tok\n::endgroup::"
		script := cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
			r := cloudflaretest.Fail(400, 1, evil)
			r.Header = map[string]string{"X-Evil": "y"}
			return r
		})
		r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a"), Debug: debug}, script)
		if r.Code != 1 {
			t.Fatalf("exit %d", r.Code)
		}
		errorLines := 0
		for _, line := range strings.Split(r.Stdout, "\n") {
			switch {
			case line == "::add-mask::"+token:
			case strings.HasPrefix(line, "::add-mask::"), strings.HasPrefix(line, "::stop-commands::"), strings.HasPrefix(line, "::error::"):
				t.Errorf("API text started a workflow command: %q", line)
			case strings.HasPrefix(line, "::error "):
				errorLines++
			}
		}
		if errorLines != 1 {
			t.Errorf("%d error annotations, want exactly the action's own one", errorLines)
		}
		if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0].Message, "bad ::add-mask::x ::error::forged") {
			t.Errorf("annotation = %+v; want the API text on one line", errs)
		}
	})
}

func TestUnwritableOutputFailsTheStep(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{
		Inputs:     inputs("purge-type", "everything"),
		OutputPath: "output-folder",
		Setup: func(t testing.TB, workspace string) {
			// GITHUB_OUTPUT names a folder, which cannot be appended to.
			if err := os.Mkdir(filepath.Join(filepath.Dir(workspace), "output-folder"), 0o755); err != nil {
				t.Fatal(err)
			}
		},
	})
	if r.Code != 1 || len(r.requests) != 1 {
		t.Fatalf("exit %d, %d requests; want 1 and the purge sent", r.Code, len(r.requests))
	}
	if errs := r.Annotations("error"); len(errs) != 1 || errs[0].Title != "Could not write the step outputs" {
		t.Errorf("annotations = %+v", errs)
	}
}

// A server (a proxy, a debugging endpoint, a mistyped api-url) may echo
// the credentials back. Whatever it sends, no run of 8 characters of a
// secret reaches any sink: log, debug lines, annotation, summary, outputs.
// The token holds _ and -, which Markdown escaping would change, and the
// echoes sit where shortening would cut them.
func TestEchoedSecretsReachNoSink(t *testing.T) {
	t.Parallel()
	const tok = "Sn3l_cBU-x9Kq2_ZZtop77_aB-cD_eF9hW2"
	const key = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d"
	pad := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		legacy bool
		answer cloudflaretest.Response
	}{
		{"token in an error message", false, cloudflaretest.Fail(400, 1012, "bad header Authorization: Bearer "+tok)},
		{"token across the old 300-character cut", false, cloudflaretest.Fail(400, 1012, pad(290)+tok)},
		{"token across the 1000-character line cut", false, cloudflaretest.Fail(400, 1012, pad(990)+tok)},
		{"token in an HTML error page", false, cloudflaretest.Response{Status: 502, Body: "<html><body><h1>502</h1><p>" + pad(180) + " " + tok + "</p></body></html>"}},
		{"token cut short by the server", false, cloudflaretest.Fail(403, 10000, "Authentication error for "+tok[:20])},
		{"token with its end cut", false, cloudflaretest.Fail(403, 10000, "Authentication error for …"+tok[10:])},
		{"token in a redirect's host", false, cloudflaretest.Response{Status: 307, Header: map[string]string{"Location": "https://" + strings.ToLower(tok) + ".example/x"}}},
		{"token in an error chain", false, cloudflaretest.Response{Status: 400, Body: `{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6111,"message":"Invalid format for Authorization header: Bearer ` + tok + `"}]}],"messages":[],"result":null}`}},
		{"legacy key in an error message", true, cloudflaretest.Fail(400, 6003, "X-Auth-Key "+key+" is not valid")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			withDebug(t, func(t *testing.T, debug bool) {
				in := inputs("purge-type", "tags", "targets", "a", "api-token", tok, "max-retries", "0")
				secret := tok
				if tt.legacy {
					in = inputs("purge-type", "tags", "targets", "a", "api-token", "", "api-email", "ops@example.com", "api-key", key, "max-retries", "0")
					secret = key
				}
				r := runStep(t, actiontest.Step{Inputs: in, Debug: debug},
					cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response { return tt.answer }))
				if r.Code != 1 || len(r.Annotations("error")) != 1 || r.Summary == "" {
					t.Fatalf("exit %d, want 1 with an annotation and a summary\n%s", r.Code, r.Stdout)
				}
				assertSecretsOnlyMasked(t, r, secret)
			})
		})
	}
}

// Outputs are written with a random delimiter per value, so no purge ID
// the server sends can end the block early or add an output.
func TestServerIDCannotFrameOutputs(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"_GitHubActionsFileCommandDelimeter_", "EOF", "ghadelimiter_0"} {
		r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "everything")},
			cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response { return cloudflaretest.OK(id) }))
		want := map[string]string{"purge-id": id, "purge-ids": `["` + id + `"]`, "count": "1", "results": results(zone, "", "", []string{id}, 1, 0), "verified": "0", "stale": "0", "broken": "0", "warmed": "0"}
		if r.Code != 0 || fmt.Sprint(r.Outputs) != fmt.Sprint(want) {
			t.Errorf("ID %q: exit %d, outputs %v, want %v", id, r.Code, r.Outputs, want)
		}
	}
}

// An invalidation that times out says so in its own words.
func TestInvalidationTimeoutSaysInvalidation(t *testing.T) {
	t.Parallel()
	hang := cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response { return cloudflaretest.Response{Hang: true} })
	r := runStep(t, actiontest.Step{Inputs: inputs("mode", "invalidate", "purge-type", "tags", "targets", "a", "timeout", "2s")}, hang)
	if r.Code != 1 || !r.HasAnnotation("error", "Cloudflare invalidation failed: timeout", "timeout reached before the invalidation finished") ||
		strings.Contains(r.Stdout, "purge finished") {
		t.Errorf("exit %d, annotations %+v", r.Code, r.Annotations("error"))
	}
}
