package command_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// edgeURL is where an in-memory fake serves its edge: the user's site,
// on loopback, so plain http:// is allowed.
const edgeURL = "http://127.0.0.1:9"

// siteRun is a step run against a fake API and its edge.
type siteRun struct {
	run
	edge  []cloudflaretest.Request // every request the site got
	start time.Time                // when the step started (virtual time)
	took  time.Duration
}

// runSiteStep runs the step in a synctest bubble against an in-memory
// fake with an edge, and checks what every site request must be: a GET
// with no credentials, naming the action.
func runSiteStep(t *testing.T, s actiontest.Step, opts ...cloudflaretest.Option) siteRun {
	t.Helper()
	return runSiteStepCancelledAt(t, 0, s, opts...)
}

// runSiteStepCancelledAt is runSiteStep with the run's context cancelled
// at (virtual time) after the start, as SIGTERM cancels it; never when 0.
func runSiteStepCancelledAt(t *testing.T, at time.Duration, s actiontest.Step, opts ...cloudflaretest.Option) siteRun {
	t.Helper()
	in := map[string]string{"api-url": cloudflaretest.InMemoryBaseURL}
	for k, v := range s.Inputs {
		in[k] = v
	}
	s.Inputs = in
	var r siteRun
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(opts...)
		defer fake.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if at > 0 {
			defer time.AfterFunc(at, cancel).Stop()
		}
		r.start = time.Now()
		r.Result = actiontest.Run(t, actiontest.InProcess{Context: ctx, HTTPClient: fake.Client()}, s)
		r.took = time.Since(r.start)
		r.requests = fake.Requests()
		r.lookups = fake.Lookups()
		r.edge = fake.EdgeRequests()
	})
	assertSiteRequestsClean(t, r.edge)
	assertSecretsOnlyMasked(t, r.run, token)
	return r
}

// assertSiteRequestsClean checks that no credential reached the site.
func assertSiteRequestsClean(t *testing.T, edge []cloudflaretest.Request) {
	t.Helper()
	for _, req := range edge {
		for name := range req.Header {
			switch n := strings.ToLower(name); {
			case n == "authorization", n == "proxy-authorization", n == "cookie",
				strings.HasPrefix(n, "x-auth-"), strings.HasPrefix(n, "cf-access-"):
				t.Errorf("%s %s carried %s", req.Method, req.Path, name)
			}
		}
		if strings.Contains(strings.Join(req.Header.Values("User-Agent"), ""), token) || req.Method != "GET" ||
			req.Header.Get("User-Agent") != "cloudflare-purge-action/"+actiontest.Version {
			t.Errorf("%s %s with User-Agent %q", req.Method, req.Path, req.Header.Get("User-Agent"))
		}
	}
}

func pages(paths ...string) cloudflaretest.Option {
	ps := make([]cloudflaretest.Page, len(paths))
	for i, p := range paths {
		ps[i] = cloudflaretest.Page{Path: p, Body: "new " + p}
	}
	return cloudflaretest.WithEdge(ps...)
}

func edgeHits(edge []cloudflaretest.Request, path string) int {
	n := 0
	for _, r := range edge {
		if r.Path == path {
			n++
		}
	}
	return n
}

func TestVerifyFindsEveryPurgedURLFresh(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/\n"+edgeURL+"/a.css\n"+edgeURL+"/b.js", "verify", "fail")},
		pages("/", "/a.css", "/b.js", "/not-purged"))
	if r.Code != 0 || r.Outputs["verified"] != "3" || r.Outputs["stale"] != "0" || r.Outputs["warmed"] != "0" {
		t.Fatalf("exit %d, outputs %v\n%s", r.Code, r.Outputs, r.Stdout)
	}
	if len(r.edge) != 3 || edgeHits(r.edge, "/not-purged") != 0 {
		t.Errorf("%d site requests, want one a purged URL", len(r.edge))
	}
	for _, req := range r.edge {
		if req.At.Before(r.requests[0].At) {
			t.Errorf("%s requested before the purge", req.Path)
		}
	}
	var res []map[string]any
	if err := json.Unmarshal([]byte(r.Outputs["results"]), &res); err != nil || res[0]["verified"] != 3.0 || res[0]["stale"] != 0.0 {
		t.Errorf("results = %s", r.Outputs["results"])
	}
	for _, want := range []string{"**verify**: 3 fresh, 0 stale, 0 broken, 0 not checked.", "| URL | Status | Age | Judgement |", "| 200 MISS | — | fresh |"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary does not hold %q:\n%s", want, r.Summary)
		}
	}
	if !strings.Contains(r.Stdout, "::group::verify: requesting 3 URL(s)") || len(r.Annotations("warning")) != 0 {
		t.Errorf("stdout:\n%s", r.Stdout)
	}
}

// The API confirmed the purge, but the edge still serves its old copy.
func TestVerifyReportsAURLTheEdgeStillServes(t *testing.T) {
	t.Parallel()
	edge := cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/", Body: "new"}, cloudflaretest.Page{Path: "/old.html", Body: "old", Stuck: true})
	targets := edgeURL + "/\n" + edgeURL + "/old.html"
	for _, tt := range []struct {
		verify, onError string
		code            int
		level           string
	}{{"fail", "fail", 1, "error"}, {"warn", "fail", 0, "warning"}, {"fail", "warn", 0, "warning"}} {
		t.Run(tt.verify+"/"+tt.onError, func(t *testing.T) {
			t.Parallel()
			r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", targets, "verify", tt.verify, "on-error", tt.onError)}, edge)
			if r.Code != tt.code || r.Outputs["verified"] != "1" || r.Outputs["stale"] != "1" {
				t.Fatalf("exit %d, outputs %v; want exit %d, 1 verified, 1 stale\n%s", r.Code, r.Outputs, tt.code, r.Stdout)
			}
			if !r.HasAnnotation(tt.level, "verify: stale URLs", edgeURL+"/old.html: 200 HIT, Age 3615, 5 request(s); purged 15s ago") {
				t.Errorf("%s annotations: %+v", tt.level, r.Annotations(tt.level))
			}
			// Asked again with backoff before it was called stale.
			if n := edgeHits(r.edge, "/old.html"); n != 5 {
				t.Errorf("/old.html requested %d times, want 5", n)
			}
			if !strings.Contains(r.Summary, "| http://127.0.0.1:9/old.html | 200 HIT | 3615 | stale |") {
				t.Errorf("summary:\n%s", r.Summary)
			}
			// The heading says how the step ended: purged, and stale URLs
			// found (verify: fail; on-error decides only the exit code),
			// or a success with a warning (verify: warn).
			heading := "### Cloudflare cache purge succeeded\n"
			if tt.verify == "fail" {
				heading = "### Cloudflare cache purge done, but verify found stale URLs\n"
			}
			if !strings.HasPrefix(r.Summary, heading) {
				t.Errorf("summary heading, want %q:\n%s", heading, r.Summary)
			}
		})
	}
}

func TestVerifySaysOnceWhichURLsWereNotCheckable(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets",
		edgeURL+"/\n"+edgeURL+"/direct\nhttp://www.example.com/plain", "verify", "fail")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"}, cloudflaretest.Page{Path: "/direct", Uncached: true}))
	if r.Code != 0 || r.Outputs["verified"] != "1" || r.Outputs["stale"] != "0" {
		t.Fatalf("exit %d, outputs %v\n%s", r.Code, r.Outputs, r.Stdout)
	}
	warnings := r.Annotations("warning")
	if len(warnings) != 1 || warnings[0].Title != "verify: not checked" ||
		!strings.Contains(warnings[0].Message, edgeURL+"/direct: no CF-Cache-Status") ||
		!strings.Contains(warnings[0].Message, "http://www.example.com/plain: plain http:// to a host that is not loopback: not requested") {
		t.Errorf("warnings = %+v", warnings)
	}
	if len(r.edge) != 2 {
		t.Errorf("%d site requests; the plain http:// URL must not be requested", len(r.edge))
	}
}

// A CF-Cache-Status or Age sent twice with different values is not
// judged by the first: stale when one of them says an old HIT, else not
// judged. Duplicates that agree are judged as one.
func TestDuplicateCacheHeadersThatDisagreeAreNeverFresh(t *testing.T) {
	t.Parallel()
	refilled := cloudflaretest.Response{Status: 200, Header: map[string]string{"CF-Cache-Status": "HIT", "Age": "0"}}
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "verify", "warn",
		"targets", edgeURL+"/miss-hit\n"+edgeURL+"/age\n"+edgeURL+"/no-age\n"+edgeURL+"/agree")},
		cloudflaretest.WithEdge(
			// MISS, then a HIT of a day ago.
			cloudflaretest.Page{Path: "/miss-hit", Also: http.Header{"Cf-Cache-Status": {"HIT"}, "Age": {"86400"}}},
			// HIT with Age 0, then Age 86400, every time it is asked.
			cloudflaretest.Page{Path: "/age", Before: slices.Repeat([]cloudflaretest.Response{refilled}, 5), Also: http.Header{"Age": {"86400"}}},
			// MISS, then a HIT without Age: nothing says a copy is old.
			cloudflaretest.Page{Path: "/no-age", Also: http.Header{"Cf-Cache-Status": {"HIT"}}},
			cloudflaretest.Page{Path: "/agree", Also: http.Header{"Cf-Cache-Status": {"MISS"}}}))
	if r.Code != 0 || r.Outputs["verified"] != "1" || r.Outputs["stale"] != "2" {
		t.Fatalf("exit %d, outputs %v; want /agree fresh, /miss-hit and /age stale\n%s", r.Code, r.Outputs, r.Stdout)
	}
	for _, want := range []string{edgeURL + "/miss-hit: 200 HIT, HIT, Age 14, 86400, 5 request(s)", edgeURL + "/age: 200 HIT, Age 0, 86400, 5 request(s)"} {
		if !r.HasAnnotation("warning", "verify: stale URLs", want) {
			t.Errorf("no stale warning holding %q: %+v", want, r.Annotations("warning"))
		}
	}
	if !r.HasAnnotation("warning", "verify: not checked", edgeURL+"/no-age: CF-Cache-Status or Age sent more than once, disagreeing (CF-Cache-Status MISS, HIT; Age none)") {
		t.Errorf("warnings: %+v", r.Annotations("warning"))
	}
	if !strings.Contains(r.Summary, "| http://127.0.0.1:9/agree | 200 MISS, MISS | — | fresh |") {
		t.Errorf("summary:\n%s", r.Summary)
	}
}

func TestWaitForWaitsForTheNewBuildBeforePurging(t *testing.T) {
	t.Parallel()
	const deployed = 45 * time.Second
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/",
		"wait-for", edgeURL+"/version.txt", "wait-for-text", "sha-def222", "verify", "fail")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"},
			cloudflaretest.Page{Path: "/version.txt", Dynamic: true, Body: "sha-abc111", Later: "sha-def222", LaterAfter: deployed}))
	if r.Code != 0 || len(r.requests) != 1 || r.Outputs["verified"] != "1" {
		t.Fatalf("exit %d, %d purge(s), outputs %v\n%s", r.Code, len(r.requests), r.Outputs, r.Stdout)
	}
	if at := r.requests[0].At.Sub(r.start); at < deployed {
		t.Errorf("purged %s after the start, before the new build was served (%s)", at, deployed)
	}
	polls := edgeHits(r.edge, "/version.txt")
	if polls < 3 || !strings.Contains(r.Stdout, "poll 1: HTTP 200 without the text") {
		t.Errorf("%d polls\n%s", polls, r.Stdout)
	}
	if !strings.Contains(r.Summary, "**wait-for** http://127.0.0.1:9/version.txt: served the new build after") {
		t.Errorf("summary:\n%s", r.Summary)
	}
}

// A timeout that the purge and the checks use up leaves wait-for no
// time: it would fail "never matched" before its first poll. It is bad
// input, named as such, and nothing is requested at all.
func TestTimeoutThatLeavesWaitForNoTimeIsBadInput(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/",
		"wait-for", edgeURL+"/version.txt", "verify", "fail", "timeout", "15s")}, pages("/", "/version.txt"))
	if r.Code != 1 || len(r.requests) != 0 || len(r.edge) != 0 {
		t.Fatalf("exit %d, %d purge(s), %d site request(s); want 1 and nothing requested\n%s", r.Code, len(r.requests), len(r.edge), r.Stdout)
	}
	if !r.HasAnnotation("error", "Invalid input timeout", "15s leaves wait-for no time: the purge and the checks after it need about 11s of it; want a timeout over 1m21s, or no wait-for") {
		t.Errorf("errors: %+v", r.Annotations("error"))
	}
	// With room for a poll it runs.
	ok := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/",
		"wait-for", edgeURL+"/version.txt", "verify", "fail", "timeout", "25s")}, pages("/", "/version.txt"))
	if ok.Code != 0 || len(ok.requests) != 1 {
		t.Errorf("timeout 25s: exit %d, %d purge(s)\n%s", ok.Code, len(ok.requests), ok.Stdout)
	}
}

// The text arrived, then the connection was reset before the answer's
// end: the text was seen, so the wait matched and the purge goes on.
func TestWaitForMatchesTextReadBeforeAReset(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/",
		"wait-for", edgeURL+"/version.txt", "wait-for-text", "sha-def222", "verify", "fail")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"},
			cloudflaretest.Page{Path: "/version.txt", Dynamic: true, Body: "sha-def222\n", ResetAfterBody: true}))
	if r.Code != 0 || len(r.requests) != 1 || r.Outputs["verified"] != "1" {
		t.Fatalf("exit %d, %d purge(s), outputs %v\n%s", r.Code, len(r.requests), r.Outputs, r.Stdout)
	}
	if polls := edgeHits(r.edge, "/version.txt"); polls != 1 || !strings.Contains(r.Stdout, "poll 1 matched after 0s") {
		t.Errorf("%d poll(s); want the first to match\n%s", polls, r.Stdout)
	}
}

// A plain http:// URL to a host that is not loopback, named in
// verify-urls, is a check that can never be made: bad input, refused
// before anything is sent. (A files target of that shape is purged, and
// only its check is skipped: TestVerifySaysOnceWhichURLsWereNotCheckable.)
func TestVerifyURLsOverPlainHTTPAreBadInput(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "blog", "verify", "warn",
		"verify-urls", edgeURL+"/\nhttp://www.example.com/plain")}, pages("/"))
	if r.Code != 1 || len(r.requests) != 0 || len(r.edge) != 0 {
		t.Fatalf("exit %d, %d purge(s), %d site request(s); want 1 and nothing sent\n%s", r.Code, len(r.requests), len(r.edge), r.Stdout)
	}
	if !r.HasAnnotation("error", "Invalid input verify-urls", `"http://www.example.com/plain" uses plain http:// to a host that is not loopback`) {
		t.Errorf("errors: %+v", r.Annotations("error"))
	}
}

func TestWaitForThatNeverMatchesPurgesNothing(t *testing.T) {
	t.Parallel()
	for _, onError := range []string{"fail", "warn"} {
		t.Run(onError, func(t *testing.T) {
			t.Parallel()
			r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/",
				"wait-for", edgeURL+"/version.txt", "wait-for-text", "sha-def222", "timeout", "2m", "on-error", onError)},
				cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"}, cloudflaretest.Page{Path: "/version.txt", Dynamic: true, Body: "sha-abc111"}))
			level, code := "error", 1
			if onError == "warn" {
				level, code = "warning", 0
			}
			if r.Code != code || len(r.requests) != 0 {
				t.Fatalf("exit %d, %d purge(s); want exit %d and nothing purged\n%s", r.Code, len(r.requests), code, r.Stdout)
			}
			if !r.HasAnnotation(level, "wait-for", "Nothing was purged.") {
				t.Errorf("%s annotations: %+v", level, r.Annotations(level))
			}
			// The time the purge would need is left: the wait ends well
			// within timeout.
			if r.took >= 2*time.Minute-10*time.Second {
				t.Errorf("the run took %s of its 2m timeout", r.took)
			}
			if r.Outputs["count"] != "0" || r.Outputs["verified"] != "0" || !strings.Contains(r.Summary, "nothing sent") {
				t.Errorf("outputs %v, summary:\n%s", r.Outputs, r.Summary)
			}
		})
	}
}

// SIGTERM while wait-for polls: nothing is purged, and the error says
// the run was cancelled, not that the time for waiting ran out.
func TestWaitForCancelledSaysCancelled(t *testing.T) {
	t.Parallel()
	r := runSiteStepCancelledAt(t, 10*time.Second, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/",
		"wait-for", edgeURL+"/version.txt", "wait-for-text", "sha-def222")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"}, cloudflaretest.Page{Path: "/version.txt", Dynamic: true, Body: "sha-abc111"}))
	if r.Code != 1 || len(r.requests) != 0 || r.took != 10*time.Second {
		t.Fatalf("exit %d, %d purge(s) after %s; want exit 1, nothing purged, at 10s\n%s", r.Code, len(r.requests), r.took, r.Stdout)
	}
	if !r.HasAnnotation("error", "wait-for", "did not serve a 2xx answer holding wait-for-text: run cancelled (the job was cancelled, or the runner sent SIGTERM)") ||
		r.HasAnnotation("error", "wait-for", "the time left for waiting ran out") {
		t.Errorf("errors: %+v", r.Annotations("error"))
	}
}

func TestWarmRequestsEveryURLAfterVerify(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "blog",
		"verify-urls", edgeURL+"/\n"+edgeURL+"/blog/\n"+edgeURL+"/gone", "verify", "warn", "warm", "true")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/", Tags: []string{"home"}}, cloudflaretest.Page{Path: "/blog/", Tags: []string{"blog"}},
			cloudflaretest.Page{Path: "/gone", Status: 500, Tags: []string{"blog"}}))
	// "/" was not tagged blog: still the old copy, stale. "/gone" answers
	// 500: broken, an origin error, whatever the cache says.
	if r.Code != 0 || r.Outputs["verified"] != "1" || r.Outputs["stale"] != "1" || r.Outputs["broken"] != "1" || r.Outputs["warmed"] != "2" {
		t.Fatalf("exit %d, outputs %v\n%s", r.Code, r.Outputs, r.Stdout)
	}
	if !r.HasAnnotation("warning", "warm: not warmed", edgeURL+"/gone: HTTP 500") || !strings.Contains(r.Summary, "**warm**: 2 of 3 request(s) answered 2xx or 3xx; 1 origin error(s).") {
		t.Errorf("warnings %+v\nsummary:\n%s", r.Annotations("warning"), r.Summary)
	}
	if !r.HasAnnotation("warning", "verify: origin errors", edgeURL+"/gone: HTTP 500") {
		t.Errorf("warnings %+v", r.Annotations("warning"))
	}
	if !strings.Contains(r.Stdout, "::group::warm: requesting 3 URL(s)") {
		t.Errorf("stdout:\n%s", r.Stdout)
	}
	// verify's requests (one for the fresh one, five each for the stale
	// and the broken one: both are asked again), then warm's.
	if n := len(r.edge); n != 1+5+5+3 {
		t.Errorf("%d site requests, want 14", n)
	}
}

func TestOnErrorWarnTurnsAFailedPurgeIntoAWarning(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/", "verify", "fail", "on-error", "warn", "max-retries", "0")},
		pages("/"), cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
			return cloudflaretest.Fail(500, 1100, "internal error")
		}))
	if r.Code != 0 || len(r.Annotations("error")) != 0 {
		t.Fatalf("exit %d, errors %+v; want exit 0 and no error", r.Code, r.Annotations("error"))
	}
	if !r.HasAnnotation("warning", "Cloudflare purge failed: HTTP 500", "on-error: warn, so the step does not fail.") {
		t.Errorf("warnings: %+v", r.Annotations("warning"))
	}
	// Nothing was purged, so nothing is checked: its purge was not confirmed.
	if r.Outputs["count"] != "0" || r.Outputs["verified"] != "0" || len(r.edge) != 0 || !r.HasAnnotation("warning", "Not checked: not purged", edgeURL+"/") {
		t.Errorf("outputs %v, %d site requests, warnings %+v", r.Outputs, len(r.edge), r.Annotations("warning"))
	}
}

func TestSiteRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	limited := cloudflaretest.Response{Status: 429, Header: map[string]string{"Retry-After": "30"}, Body: "error code: 1015"}
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/\n"+edgeURL+"/a", "verify", "fail", "concurrency", "1")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/", Before: []cloudflaretest.Response{limited}}, cloudflaretest.Page{Path: "/a"}))
	if r.Code != 0 || r.Outputs["verified"] != "2" {
		t.Fatalf("exit %d, outputs %v\n%s", r.Code, r.Outputs, r.Stdout)
	}
	if len(r.edge) != 3 || r.edge[0].Status != 429 {
		t.Fatalf("site requests: %+v", r.edge)
	}
	for _, req := range r.edge[1:] {
		if gap := req.At.Sub(r.edge[0].At); gap < 30*time.Second {
			t.Errorf("%s requested %s after the 429; want Retry-After's 30 s", req.Path, gap)
		}
	}
}

// A site that never answers is broken for its visitors: verify: fail
// fails the step naming it, within one attempt's bound, and the run ends.
func TestAHangingSiteIsBrokenAndTheRunEnds(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/\n"+edgeURL+"/slow", "verify", "fail", "warm", "true", "timeout", "5m")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"}, cloudflaretest.Page{Path: "/slow", Hang: true}))
	if r.Code != 1 || r.Outputs["verified"] != "1" || r.Outputs["broken"] != "1" || r.Outputs["warmed"] != "1" || r.took >= 5*time.Minute {
		t.Fatalf("exit %d after %s, outputs %v\n%s", r.Code, r.took, r.Outputs, r.Stdout)
	}
	if !r.HasAnnotation("error", "verify: origin errors", edgeURL+"/slow: no answer") ||
		!r.HasAnnotation("warning", "warm: not warmed", edgeURL+"/slow: no answer within 30s") {
		t.Errorf("errors %+v, warnings: %+v", r.Annotations("error"), r.Annotations("warning"))
	}
}

// A site that sends its body a byte a second does not hold verify or
// warm: they need the headers alone, so each request ends with them and
// the next (one at a time) goes at once.
func TestADrippingBodyDoesNotHoldTheChecks(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", edgeURL+"/drip\n"+edgeURL+"/next",
		"verify", "fail", "warm", "true", "concurrency", "1")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/drip", Body: strings.Repeat("x", 1000), Drip: time.Second}, cloudflaretest.Page{Path: "/next"}))
	if r.Code != 0 || r.Outputs["verified"] != "2" || r.Outputs["warmed"] != "2" || len(r.edge) != 4 {
		t.Fatalf("exit %d, outputs %v, %d site requests\n%s", r.Code, r.Outputs, len(r.edge), r.Stdout)
	}
	for _, req := range r.edge {
		if at := req.At.Sub(r.requests[0].At); at != 0 {
			t.Errorf("%s requested %s after the purge; want at once, after the headers of the one before", req.Path, at)
		}
	}
}

// What ends verify is named as it is: SIGTERM (the run's context
// cancelled) is a cancelled run, never "the timeout"; the timeout input's
// deadline is the timeout.
func TestStoppedDuringVerifySaysWhatStoppedIt(t *testing.T) {
	t.Parallel()
	edge := cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"}, cloudflaretest.Page{Path: "/slow", Hang: true})
	for _, tt := range []struct {
		name, timeout string
		cancelAt      time.Duration
		want, never   string
	}{
		{"SIGTERM", "5m", 10 * time.Second, "was stopped: run cancelled (the job was cancelled, or the runner sent SIGTERM)", "timeout"},
		{"timeout", "20s", 0, "was stopped: timeout reached", "cancel"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runSiteStepCancelledAt(t, tt.cancelAt, actiontest.Step{Inputs: inputs("purge-type", "files",
				"targets", edgeURL+"/\n"+edgeURL+"/slow", "verify", "warn", "warm", "true", "timeout", tt.timeout)}, edge)
			if r.took >= 30*time.Second || r.Outputs["verified"] != "1" {
				t.Fatalf("took %s, outputs %v; want verify cut short with / fresh\n%s", r.took, r.Outputs, r.Stdout)
			}
			for _, title := range []string{"verify: not checked", "warm: not warmed"} {
				if !r.HasAnnotation("warning", title, tt.want) {
					t.Errorf("no %q warning holding %q: %+v", title, tt.want, r.Annotations("warning"))
				}
			}
			for _, a := range append(r.Annotations("warning"), r.Annotations("error")...) {
				if strings.Contains(a.Message, tt.never) {
					t.Errorf("%s %q holds %q: %s", a.Level, a.Title, tt.never, a.Message)
				}
			}
		})
	}
}

func TestCacheKeyHeadersAreSentWithTheirURL(t *testing.T) {
	t.Parallel()
	mobile := `{"url": "` + edgeURL + `/", "headers": {"CF-Device-Type": "mobile", "Accept-Language": "de"}}`
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", mobile, "verify", "fail",
		"verify-urls", mobile+"\n"+edgeURL+"/")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/", KeyHeaders: []string{"CF-Device-Type"}}))
	// Only the mobile copy was purged: the desktop one is stale.
	if r.Code != 1 || r.Outputs["verified"] != "1" || r.Outputs["stale"] != "1" {
		t.Fatalf("exit %d, outputs %v\n%s", r.Code, r.Outputs, r.Stdout)
	}
	mobiles := 0
	for _, req := range r.edge {
		switch h := req.Header; {
		case h.Get("CF-Device-Type") == "mobile" && h.Get("Accept-Language") == "de":
			mobiles++
		case h.Get("CF-Device-Type") != "" || h.Get("Accept-Language") != "":
			t.Errorf("a site request with headers %v", h)
		}
	}
	if mobiles != 1 {
		t.Errorf("%d requests with the mobile copy's headers, want 1", mobiles)
	}
	if !strings.Contains(r.Summary, "http://127.0.0.1:9/ (Accept-Language: de, CF-Device-Type: mobile) | 200 MISS") {
		t.Errorf("summary:\n%s", r.Summary)
	}
}

// A files object's credential headers go to Cloudflare with the purge's
// cache key, never to the site; the log says once which were left out,
// by name, and no value of theirs is printed anywhere.
func TestCredentialHeadersNeverReachTheSite(t *testing.T) {
	t.Parallel()
	credentials := map[string]string{
		"Authorization": "Bearer site-secret-1", "Cookie": "session=site-secret-2", "X-Auth-Foo": "site-secret-3",
		"CF-Access-Client-Secret": "site-secret-4", "Proxy-Authorization": "Basic site-secret-5",
	}
	object := `{"url": "` + edgeURL + `/", "headers": {"CF-Device-Type": "mobile"`
	for name, value := range credentials {
		object += `, "` + name + `": "` + value + `"`
	}
	object += "}}"
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", object+"\n"+edgeURL+"/a", "verify", "fail", "warm", "true")},
		cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/", KeyHeaders: []string{"CF-Device-Type"}}, cloudflaretest.Page{Path: "/a"}))
	if r.Code != 0 || r.Outputs["verified"] != "2" || r.Outputs["warmed"] != "2" || len(r.edge) != 4 {
		t.Fatalf("exit %d, outputs %v, %d site requests\n%s", r.Code, r.Outputs, len(r.edge), r.Stdout)
	}
	for _, req := range r.edge {
		if req.Path == "/" && req.Header.Get("CF-Device-Type") != "mobile" {
			t.Errorf("the cache-key header was not sent: %v", req.Header)
		}
	}
	notices := r.Annotations("notice")
	if len(notices) != 1 || notices[0].Title != "Headers not sent to the site" ||
		!strings.Contains(notices[0].Message, "header(s) Authorization, CF-Access-Client-Secret, Cookie, Proxy-Authorization, X-Auth-Foo:") {
		t.Errorf("notices = %+v; want one naming the five headers left out", notices)
	}
	sinks := []string{r.Stdout, r.Stderr, r.Summary}
	for _, v := range r.Outputs {
		sinks = append(sinks, v)
	}
	for _, sink := range sinks {
		if strings.Contains(sink, "site-secret") {
			t.Errorf("a header value was printed:\n%s", sink)
		}
	}
}

// With one zone given by name, a URL whose host the zone does not own
// counts in the verified and warmed outputs, never in the zone's results
// object, whether it was purged itself or only listed in verify-urls.
func TestAURLOfAnotherHostCountsOnlyInTheTotals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		inputs map[string]string
	}{
		{"purged", inputs("zone-id", "", "zone", "example.com", "purge-type", "files", "targets", edgeURL+"/", "verify", "fail", "warm", "true")},
		{"verify-urls", inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "home", "verify-urls", edgeURL+"/", "verify", "fail", "warm", "true")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runSiteStep(t, actiontest.Step{Inputs: tt.inputs}, knownZones, cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/", Tags: []string{"home"}}))
			if r.Code != 0 || r.Outputs["count"] != "1" || r.Outputs["verified"] != "1" || r.Outputs["warmed"] != "1" {
				t.Fatalf("exit %d, outputs %v\n%s", r.Code, r.Outputs, r.Stdout)
			}
			var res []map[string]any
			if err := json.Unmarshal([]byte(r.Outputs["results"]), &res); err != nil || len(res) != 1 || res[0]["zone"] != "example.com" ||
				res[0]["count"] != 1.0 || res[0]["verified"] != 0.0 || res[0]["stale"] != 0.0 || res[0]["warmed"] != 0.0 {
				t.Errorf("results = %s; want example.com's object without the URL of 127.0.0.1", r.Outputs["results"])
			}
		})
	}
}

func TestVerifyAfterInvalidate(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("mode", "invalidate", "purge-type", "prefixes", "targets", "127.0.0.1/blog",
		"verify-urls", edgeURL+"/blog/a", "verify", "fail")}, pages("/blog/a"))
	if r.Code != 0 || r.Outputs["verified"] != "1" || !strings.Contains(r.Summary, "| 200 REVALIDATED |") {
		t.Fatalf("exit %d, outputs %v\n%s\n%s", r.Code, r.Outputs, r.Stdout, r.Summary)
	}
}

func TestDryRunPrintsTheSiteRequestsAndSendsNothing(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("dry-run", "true", "purge-type", "files",
		"targets", edgeURL+"/\n"+`{"url": "`+edgeURL+`/m", "headers": {"CF-Device-Type": "mobile"}}`,
		"wait-for", edgeURL+"/version.txt", "verify", "warn", "warm", "true")}, pages("/", "/m", "/version.txt"))
	if r.Code != 0 || len(r.requests) != 0 || len(r.edge) != 0 {
		t.Fatalf("exit %d, %d purges, %d site requests", r.Code, len(r.requests), len(r.edge))
	}
	for _, want := range []string{
		"::group::Dry run: 5 GET request(s) to the site (nothing is sent)",
		"[1/5] wait-for: GET " + edgeURL + "/version.txt",
		"[3/5] verify: GET " + edgeURL + "/m with CF-Device-Type: mobile",
		"[5/5] warm: GET " + edgeURL + "/m with CF-Device-Type: mobile",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout does not hold %q:\n%s", want, r.Stdout)
		}
	}
	if r.Outputs["verified"] != "0" || r.Outputs["warmed"] != "0" {
		t.Errorf("outputs = %v", r.Outputs)
	}
}

// A dry run lists the GETs as they would go: without the headers the
// site never gets, which it names once.
func TestDryRunListsOnlyTheHeadersItWouldSend(t *testing.T) {
	t.Parallel()
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("dry-run", "true", "purge-type", "files",
		"targets", `{"url": "`+edgeURL+`/m", "headers": {"CF-Device-Type": "mobile", "cookie": "s=1"}}`, "verify", "warn")}, pages("/m"))
	if r.Code != 0 || len(r.edge) != 0 {
		t.Fatalf("exit %d, %d site requests", r.Code, len(r.edge))
	}
	if !strings.Contains(r.Stdout, "[1/1] verify: GET "+edgeURL+"/m with CF-Device-Type: mobile\n") {
		t.Errorf("stdout does not list the GET with its cache-key header alone:\n%s", r.Stdout)
	}
	if !r.HasAnnotation("notice", "Headers not sent to the site", "header(s) cookie:") {
		t.Errorf("notices: %+v", r.Annotations("notice"))
	}
}

func TestTimeoutMustLeaveRoomForTheChecks(t *testing.T) {
	t.Parallel()
	var urls strings.Builder
	for i := range 200 {
		urls.WriteString(edgeURL + "/p" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "\n")
	}
	r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", urls.String(), "verify", "fail", "warm", "true",
		"concurrency", "1", "timeout", "5m")})
	if r.Code != 1 || len(r.requests) != 0 || !r.HasAnnotation("error", "Invalid input timeout", "is too short for the checks: 200 URL(s) to check, 1 at a time") {
		t.Errorf("exit %d, %d purges, errors %+v", r.Code, len(r.requests), r.Annotations("error"))
	}
}

// The same checks through real sockets: the fake API and its edge on
// loopback, the action with its production HTTP clients.
func TestVerifyAndWarmOnLoopback(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New(pages("/", "/a"))
	defer fake.Close()
	base := fake.EdgeURL()
	r := actiontest.Run(t, actiontest.InProcess{}, actiontest.Step{Inputs: inputs("api-url", fake.BaseURL(), "purge-type", "files",
		"targets", base+"/\n"+base+"/a", "wait-for", base+"/", "verify", "fail", "warm", "true")})
	edge := fake.EdgeRequests()
	if r.Code != 0 || r.Outputs["verified"] != "2" || r.Outputs["warmed"] != "2" || len(edge) != 5 {
		t.Fatalf("exit %d, outputs %v, %d site requests\n%s", r.Code, r.Outputs, len(edge), r.Stdout)
	}
	assertSiteRequestsClean(t, edge)
	if got := fake.Requests()[0].Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("the API got Authorization %q", got)
	}
}

// Verify tells a broken origin from a stale cache: an edge answering 502
// or Cloudflare's 526 with MISS or DYNAMIC is broken, whatever the cache
// headers say, and so is a URL that refuses the connection; a 404 is
// judged by its headers (a removed page answering from a fresh fetch is
// what the deploy asked for); an image is checked as a browser asks for
// it. verify: fail fails the step on broken URLs, verify: warn warns.
func TestVerifyTellsABrokenOriginFromAStaleCache(t *testing.T) {
	t.Parallel()
	edge := cloudflaretest.WithEdge(
		cloudflaretest.Page{Path: "/ok"},
		cloudflaretest.Page{Path: "/bad-gateway", Status: 502},
		cloudflaretest.Page{Path: "/bad-cert", Status: 526, Dynamic: true},
		cloudflaretest.Page{Path: "/refused", Refuse: true},
		cloudflaretest.Page{Path: "/removed", Status: 404},
		cloudflaretest.Page{Path: "/logo.png", Variants: []string{"image/avif", "image/webp"}},
	)
	urls := strings.Join([]string{edgeURL + "/ok", edgeURL + "/bad-gateway", edgeURL + "/bad-cert", edgeURL + "/refused", edgeURL + "/removed", edgeURL + "/logo.png"}, "\n")
	for _, tt := range []struct {
		verify, level string
		code          int
	}{{"fail", "error", 1}, {"warn", "warning", 0}} {
		t.Run(tt.verify, func(t *testing.T) {
			t.Parallel()
			r := runSiteStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", urls, "verify", tt.verify)}, edge)
			if r.Code != tt.code || r.Outputs["verified"] != "3" || r.Outputs["broken"] != "3" || r.Outputs["stale"] != "0" {
				t.Fatalf("exit %d, outputs %v; want exit %d, 3 fresh (ok, removed, logo), 3 broken\n%s", r.Code, r.Outputs, tt.code, r.Stdout)
			}
			for _, want := range []string{
				edgeURL + "/bad-gateway: HTTP 502 (Bad Gateway)",
				edgeURL + "/bad-cert: HTTP 526 (Cloudflare: invalid SSL certificate at the origin)",
				edgeURL + "/refused: no answer",
			} {
				if !r.HasAnnotation(tt.level, "verify: origin errors", want) {
					t.Errorf("%s annotations %+v; want one saying %q", tt.level, r.Annotations(tt.level), want)
				}
			}
			if !strings.Contains(r.Summary, "broken (origin error): HTTP 526") || !strings.Contains(r.Summary, "**verify**: 3 fresh, 0 stale, 3 broken, 0 not checked.") {
				t.Errorf("summary:\n%s", r.Summary)
			}
			if tt.code == 1 && !strings.HasPrefix(r.Summary, "### Cloudflare cache purge done, but verify found broken URLs\n") {
				t.Errorf("summary heading:\n%s", r.Summary)
			}
			var zones []map[string]any
			if err := json.Unmarshal([]byte(r.Outputs["results"]), &zones); err != nil || zones[0]["broken"] != 3.0 {
				t.Errorf("results %s; want broken 3 in the zone's object", r.Outputs["results"])
			}
			for _, req := range r.edge {
				if req.Path == "/logo.png" && req.Header.Get("Accept") != "image/avif,image/webp,*/*" {
					t.Errorf("the image was checked with Accept %q, want a browser's", req.Header.Get("Accept"))
				}
			}
		})
	}
}
