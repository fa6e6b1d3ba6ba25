package command_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/githubtest"
)

const (
	// legacyKey is a Global API Key, for the steps that authenticate
	// with the legacy pair.
	legacyKey = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d"
	// quotedToken is a token no shorter run of which survives quoting.
	quotedToken = `Qw"eR"tY"uI"oP"aS"dF"gH"jK"lZ`
)

// guardedRun is what a step left and every request that left it: to
// Cloudflare's API, to the site (the fake's edge) and to GitHub.
type guardedRun struct {
	changedRun
	edge []cloudflaretest.Request
}

// runGuarded runs a step as runChanged does, keeping the edge's requests.
func runGuarded(t *testing.T, s actiontest.Step, gh []githubtest.Option, cf ...cloudflaretest.Option) guardedRun {
	t.Helper()
	in := map[string]string{"api-url": cloudflaretest.InMemoryBaseURL}
	for k, v := range s.Inputs {
		in[k] = v
	}
	s.Inputs = in
	s.Env = map[string]string{"GITHUB_API_URL": githubtest.InMemoryBaseURL, "GITHUB_REPOSITORY": repository, "GITHUB_SHA": head}
	var r guardedRun
	synctest.Test(t, func(t *testing.T) {
		cfFake := cloudflaretest.NewInMemory(cf...)
		defer cfFake.Close()
		ghFake := githubtest.NewInMemory(repository, append([]githubtest.Option{githubtest.WithToken(ghToken)}, gh...)...)
		router := &hostRouter{github: githubtest.Transport{S: ghFake}, cloudflare: cfFake.Client().Transport}
		r.Result = actiontest.Run(t, actiontest.InProcess{HTTPClient: &http.Client{Transport: router}}, s)
		r.requests, r.lookups, r.edge = cfFake.Requests(), cfFake.Lookups(), cfFake.EdgeRequests()
		r.github, r.elsewhere = ghFake.Requests(), router.elsewhere
	})
	if len(r.elsewhere) > 0 {
		t.Errorf("requests to other hosts: %q", r.elsewhere)
	}
	return r
}

// assertNeverSent fails when a request that left the step holds secret
// in its path or query (as sent or percent-decoded), a header other than
// the auth headers of the API it went to, or its body (as sent, or any
// string of it once JSON-decoded).
func assertNeverSent(t *testing.T, r guardedRun, secret string) {
	t.Helper()
	check := func(to string, req cloudflaretest.Request, auth ...string) {
		t.Helper()
		if unescaped, err := url.PathUnescape(req.Path); strings.Contains(req.Path, secret) || err == nil && strings.Contains(unescaped, secret) {
			t.Errorf("%s got %s %s, which holds the secret", to, req.Method, req.Path)
		}
		for name, values := range req.Header {
			for _, a := range auth {
				if http.CanonicalHeaderKey(a) == name {
					values = nil
				}
			}
			if strings.Contains(name+strings.Join(values, "\n"), secret) {
				t.Errorf("%s got %s %s with header %s holding the secret", to, req.Method, req.Path, name)
			}
		}
		if strings.Contains(string(req.Body), secret) || strings.Contains(jsonStrings(req.Body), secret) {
			t.Errorf("%s got %s %s with a body holding the secret: %s", to, req.Method, req.Path, req.Body)
		}
	}
	for _, req := range append(r.requests, r.lookups...) {
		check("the API", req, "Authorization", "X-Auth-Key", "X-Auth-Email")
	}
	for _, req := range r.edge {
		check("the site", req)
	}
	for _, req := range r.github {
		if strings.Contains(req.Path, secret) {
			t.Errorf("GitHub got %s, which holds the secret", req.Path)
		}
	}
}

// jsonStrings is every string of a JSON body, decoded, one a line.
func jsonStrings(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v + "\n")
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for k, x := range v {
				b.WriteString(k + "\n")
				walk(x)
			}
		}
	}
	walk(v)
	return b.String()
}

// sitePaths are the paths the site was asked for, in the order they came
// (several at a time: any order).
func sitePaths(edge []cloudflaretest.Request) []string {
	var out []string
	for _, req := range edge {
		out = append(out, req.Path)
	}
	return out
}

// A file that GitHub's compare API names after a secret (a file, a
// folder, the old name of a rename) maps to URLs that hold it: none is
// purged, verified or warmed, each is listed as not purged with the
// secret blanked, and the other files go on. No request to Cloudflare,
// the site or GitHub carries the secret but in its own auth header.
func TestNoChangedFileNamedAfterASecretIsSent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		secret string
		inputs []string
	}{
		{"the Cloudflare token", token, nil},
		{"the Global API Key", legacyKey, []string{"api-token", "", "api-email", "ops@example.com", "api-key", legacyKey}},
		{"the GitHub token", ghToken, nil},
		// Quoting turns each " into \": quoted before it was redacted, no
		// run of it would be left for the redactor to find.
		{"a token that quoting changes", quotedToken, []string{"api-token", quotedToken}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.secret
			files := deploy(
				githubtest.File{Name: "public/" + s + ".html", Status: "added"},
				githubtest.File{Name: "public/" + s + "/index.html", Status: "added"},
				githubtest.File{Name: "public/new.html", Status: "renamed", Previous: "public/" + s + "-old.html"},
				githubtest.File{Name: "public/clean.html", Status: "modified"},
			)
			in := changedInputs(append([]string{"url-map", "public/ => " + edgeURL + "/", "verify", "fail", "warm", "true"}, tt.inputs...)...)
			r := runGuarded(t, actiontest.Step{Inputs: in}, []githubtest.Option{files}, pages("/new.html", "/new", "/clean.html", "/clean"))

			assertNeverSent(t, r, s)
			assertSecretsOnlyMasked(t, r.run, s)
			if escaped := strconv.Quote(s); escaped[1:len(escaped)-1] != s && strings.Contains(r.Stdout, escaped[1:len(escaped)-1]) {
				t.Errorf("the log holds the secret escaped:\n%s", r.Stdout)
			}
			want := []string{edgeURL + "/new.html", edgeURL + "/new", edgeURL + "/clean.html", edgeURL + "/clean"}
			if got := purged(t, r.requests)[zone]; r.Code != 0 || strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("exit %d, purged %q; want exit 0 and the clean files' URLs %q\n%s", r.Code, got, want, r.Stdout)
			}
			if r.Outputs["verified"] != "4" || r.Outputs["warmed"] != "4" || len(r.edge) != 8 {
				t.Errorf("outputs %v, site requests %q; want the 4 clean URLs verified and warmed", r.Outputs, sitePaths(r.edge))
			}
			for _, path := range []string{`"public/***.html"`, `"public/***/index.html"`, `"public/***-old.html"`} {
				if !strings.Contains(r.Stdout, path+" -> not purged: its URL holds a secret") {
					t.Errorf("the log does not list %s as not purged:\n%s", path, r.Stdout)
				}
			}
			warning := r.Annotations("warning")
			if !r.HasAnnotation("warning", "Not sent: held a secret", "6 target(s) and 0 URL(s) to check hold a secret") ||
				!r.HasAnnotation("warning", "Not sent: held a secret", `not purged: "`+edgeURL+`/***.html"`) ||
				!r.HasAnnotation("warning", "Not sent: held a secret", `not purged: "`+edgeURL+`/***-old"`) {
				t.Errorf("warnings %+v; want the 6 URLs of the 3 paths listed, the secret blanked", warning)
			}
		})
	}
}

// A target or URL to check given in the inputs that holds a secret, as
// it stands or percent-encoded, is left out of every request and listed;
// the rest are purged, verified and warmed.
func TestNoTargetHoldingASecretIsSent(t *testing.T) {
	t.Parallel()
	encoded := percentEncoded(token) // every byte %XX: no run of it is left for the redactor
	targets := edgeURL + "/a\n" + edgeURL + "/" + token + ".css\n" + edgeURL + "/x/" + strings.ReplaceAll(token, "_", "%5F") + "\n" +
		edgeURL + "/y/" + encoded + "\n" + `{"url": "` + edgeURL + `/h", "headers": {"Accept-Language": "` + token + `"}}` + "\n" + edgeURL + "/b"
	r := runGuarded(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", targets,
		"verify", "warn", "verify-urls", edgeURL+"/a\n"+edgeURL+"/?v="+token+"\n"+edgeURL+"/b", "warm", "true")}, nil, pages("/a", "/b"))

	assertNeverSent(t, r, token)
	assertSecretsOnlyMasked(t, r.run, token)
	want := []string{edgeURL + "/a", edgeURL + "/b"}
	if got := purged(t, r.requests)[zone]; r.Code != 0 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("exit %d, purged %q; want exit 0 and %q\n%s", r.Code, got, want, r.Stdout)
	}
	if got := strings.Join(slices.Sorted(slices.Values(sitePaths(r.edge))), " "); got != "/a /a /b /b" {
		t.Errorf("the site got %s; want /a and /b verified and warmed", got)
	}
	for _, line := range []string{
		"4 target(s) and 1 URL(s) to check hold a secret",
		`not purged: "` + edgeURL + `/h"`,
		`not purged: "` + edgeURL + `/***.css"`,
		`not purged: "` + edgeURL + `/y/***"`,
		`not checked: "` + edgeURL + `/?v=***"`,
	} {
		if !r.HasAnnotation("warning", "Not sent: held a secret", line) {
			t.Errorf("no warning holds %q: %+v", line, r.Annotations("warning"))
		}
	}
	if strings.Contains(r.Stdout, encoded) || strings.Contains(r.Summary, encoded) {
		t.Errorf("the secret, percent-encoded, is in the log or the summary:\n%s", r.Stdout)
	}
}

// percentEncoded writes every byte of s as %XX.
func percentEncoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// Tags, hosts and prefixes are targets too: one that holds a secret is
// not sent, the others are.
func TestNoTagHoldingASecretIsSent(t *testing.T) {
	t.Parallel()
	r := runGuarded(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a\nrelease-"+token+"\nb")}, nil)
	assertNeverSent(t, r, token)
	assertSecretsOnlyMasked(t, r.run, token)
	if r.Code != 0 || len(r.requests) != 1 || string(r.requests[0].Body) != `{"tags":["a","b"]}` {
		t.Fatalf("exit %d, requests %+v; want one with the tags a and b", r.Code, r.requests)
	}
	if !r.HasAnnotation("warning", "Not sent: held a secret", `not purged: "release-***"`) {
		t.Errorf("warnings %+v", r.Annotations("warning"))
	}
}

// When every target holds a secret, nothing is sent and the step says
// there was nothing to purge.
func TestEveryTargetHoldingASecretSendsNothing(t *testing.T) {
	t.Parallel()
	r := runGuarded(t, actiontest.Step{Inputs: inputs("purge-type", "hosts", "targets", token+".example.com")}, nil)
	assertNeverSent(t, r, token)
	assertSecretsOnlyMasked(t, r.run, token)
	if r.Code != 0 || len(r.requests) != 0 || !r.HasAnnotation("notice", "Nothing to purge", "Every target holds a secret") ||
		!r.HasAnnotation("warning", "Not sent: held a secret", `not purged: "***.example.com"`) {
		t.Errorf("exit %d, %d request(s), annotations %+v %+v", r.Code, len(r.requests), r.Annotations("notice"), r.Annotations("warning"))
	}
}

// Belt and braces: two targets that each hold half of a secret put it
// whole into the body of the request that carries both. No check of one
// target finds it; the client's guard refuses the request, which is not
// sent, not retried, and fails its targets like any failed request.
func TestTheGuardFailsABatchThatHoldsASecret(t *testing.T) {
	t.Parallel()
	const split = `Zq81xYw7","` + edgeURL + `/Kp42mNv6`
	targets := edgeURL + "/a/Zq81xYw7\n" + edgeURL + "/Kp42mNv6/b"
	r := runGuarded(t, actiontest.Step{Inputs: inputs("api-token", split, "purge-type", "files", "targets", targets)}, nil)
	assertNeverSent(t, r, split)
	assertSecretsOnlyMasked(t, r.run, split)
	if r.Code != 1 || len(r.requests) != 0 {
		t.Fatalf("exit %d, %d request(s); want 1 and none sent\n%s", r.Code, len(r.requests), r.Stdout)
	}
	if !strings.Contains(r.Stdout, "2 item(s), 1 attempt: FAILED: not sent: the request held a secret in its body") ||
		!r.HasAnnotation("error", "Cloudflare purge failed: a request held a secret", "2 of 2 target(s) not purged") {
		t.Errorf("annotations %+v\n%s", r.Annotations("error"), r.Stdout)
	}
}
