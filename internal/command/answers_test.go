package command_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// The answers of Cloudflare's lookups are untrusted input: whatever they
// say, the action purges no more than was asked, and an ID from an answer
// passes the same rule as an input before it goes into a path.

// hostileIDs are values an answer may give where an ID belongs, in the
// shapes only JSON has: null and a missing field, which decode to "".
// Every string value (.., a/b, x?y=1, …) is resolve's unit tests'
// (internal/resolve: hostileIDs); these check the step end to end: the
// annotation's title, the exit code, nothing purged.
var hostileIDs = map[string]string{"null": `null`, "missing": ``}

// withID writes a JSON object's field, or leaves it out when raw is "".
func withID(field, raw string) string {
	if raw == "" {
		return ""
	}
	return fmt.Sprintf("%q:%s,", field, raw)
}

// answer is a successful lookup answer with a raw JSON result.
func answer(result, info string) cloudflaretest.Response {
	body := `{"success":true,"errors":[],"messages":[],"result":` + result
	if info != "" {
		body += `,"result_info":` + info
	}
	return cloudflaretest.Response{Status: 200, Body: body + "}"}
}

// onPath answers lookups of the given path (without the query) with
// resp, and the rest from the fake's zones.
func onPath(path string, resp func(n int, r cloudflaretest.Request) cloudflaretest.Response) cloudflaretest.Option {
	return cloudflaretest.WithLookupScript(func(n int, r cloudflaretest.Request) (cloudflaretest.Response, bool) {
		u, err := url.Parse(r.Path)
		if err != nil || u.Path != "/client/v4"+path {
			return cloudflaretest.Response{}, false
		}
		return resp(n, r), true
	})
}

// assertNothingPurged checks a step ended before any purge, reported as
// what went wrong, titled title, and that no answer became a workflow
// command.
func assertNothingPurged(t *testing.T, r run, title, msg string) {
	t.Helper()
	if r.Code != 1 || len(r.requests) != 0 {
		t.Fatalf("exit %d, requests %q; want 1 and nothing purged\n%s", r.Code, paths(r.requests), r.Stdout)
	}
	if !r.HasAnnotation("error", title, msg) {
		t.Errorf("annotations = %+v\nwant one titled %q saying %q", r.Annotations("error"), title, msg)
	}
	if strings.Contains(r.Stdout, "\n::error::pwned") || strings.Contains(r.Summary, "Scope | zone") || strings.Contains(r.Stdout, "fix the input") {
		t.Errorf("an answer became a command, or the failure reads as a purge or an invalid input:\n%s\n%s", r.Stdout, r.Summary)
	}
	assertSecretsOnlyMasked(t, r, token)
}

// The worst of them: an environments list whose matching entry has no
// usable ref. The zone path would purge production and every
// environment; the step must fail, titled environment, with nothing sent.
func TestEnvironmentWithoutAUsableRefPurgesNothing(t *testing.T) {
	t.Parallel()
	for name, ref := range hostileIDs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			envs := onPath("/zones/"+zone+"/environments", func(int, cloudflaretest.Request) cloudflaretest.Response {
				return answer(`{"environments":[{`+withID("ref", ref)+`"name":"staging","expression":""}]}`, "")
			})
			r := runStep(t, actiontest.Step{Inputs: inputs("environment", "staging", "purge-type", "everything")}, knownZones, envs)
			assertNothingPurged(t, r, "environment", "which is not an environment ID")
		})
	}
}

// A zone ID from GET /zones?name= that is not an ID never reaches a path.
func TestZoneIDFromAnAnswerIsValidated(t *testing.T) {
	t.Parallel()
	for name, id := range hostileIDs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			zones := onPath("/zones", func(int, cloudflaretest.Request) cloudflaretest.Response {
				return answer(`[{`+withID("id", id)+`"name":"example.com","account":{"id":"`+cloudflaretest.AccountID("Acme")+`","name":"Acme"}}]`,
					`{"page":1,"per_page":50,"total_pages":1}`)
			})
			r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "everything")}, zones)
			assertNothingPurged(t, r, "zone", "which is not an ID")
		})
	}
}

// A zone name from GET /zones/{id} decides where files go, and is written
// into results and the summary: one that is not a domain name stops the
// step, and is never echoed as it came. (Which names are refused is
// resolve's: TestZoneNameFromAnAnswerMustBeADomain there; here, a name
// aimed at the log and one at the summary.)
func TestZoneNameFromAnAnswerMustBeADomain(t *testing.T) {
	t.Parallel()
	for name, bad := range map[string]string{
		"too long": strings.Repeat("a", 250) + ".com", "workflow command": "x\n::error::pwned",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, _ := json.Marshal(bad)
			named := onPath("/zones/"+orgID, func(int, cloudflaretest.Request) cloudflaretest.Response {
				return answer(`{"id":"`+orgID+`","name":`+string(raw)+`,"account":{"id":"`+cloudflaretest.AccountID("Acme")+`","name":"Acme"}}`, "")
			})
			r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", zone+"\n"+orgID, "purge-type", "files", "targets", "https://example.com/a")}, knownZones, named)
			assertNothingPurged(t, r, "zone-id", "which is not a domain name")
			if r.Outputs["results"] != "" || strings.Contains(r.Summary, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
				t.Errorf("the name reached results or the summary as it came: %q\n%s", r.Outputs["results"], r.Summary)
			}
		})
	}
}

// A zone listed twice (one ID) is one zone; pages that repeat, answer
// another page or claim without end stop the lookup after a few pages.
func TestZoneListingsAreMergedAndBounded(t *testing.T) {
	t.Parallel()
	entry := func(id string) string {
		return `{"id":"` + id + `","name":"example.com","account":{"id":"` + cloudflaretest.AccountID("Acme") + `","name":"Acme"}}`
	}
	twice := onPath("/zones", func(int, cloudflaretest.Request) cloudflaretest.Response {
		return answer("["+entry(zone)+","+entry(zone)+"]", `{"page":1,"total_pages":1}`)
	})
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a")}, twice)
	if r.Code != 0 || len(r.requests) != 1 {
		t.Errorf("a zone listed twice: exit %d, %d requests\n%s", r.Code, len(r.requests), r.Stdout)
	}

	for _, tt := range []struct {
		name string
		page func(n int) cloudflaretest.Response
		msg  string
	}{
		{"the same page again", func(int) cloudflaretest.Response {
			return answer("["+entry(zone)+"]", `{"page":1,"total_pages":100}`)
		}, "the answer says page 1"},
		{"pages that repeat entries", func(int) cloudflaretest.Response {
			return answer("["+entry(zone)+"]", `{"total_pages":100}`)
		}, "repeats earlier ones"},
		{"pages without end", func(n int) cloudflaretest.Response {
			return answer("["+entry(fmt.Sprintf("%032x", n+1))+"]", `{"total_pages":1000000000}`)
		}, "at most 5 are read"},
	} {
		pages := onPath("/zones", func(n int, _ cloudflaretest.Request) cloudflaretest.Response { return tt.page(n) })
		r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a")}, pages)
		assertNothingPurged(t, r, "zone", tt.msg)
		if len(r.lookups) > 5 {
			t.Errorf("%s: %d lookups; want at most 5", tt.name, len(r.lookups))
		}
	}
}

// The timeout passing during the lookups is said as what it is. (How a
// lookup is bounded, by the attempt, by Retry-After and by a cancel, is
// resolve's: lookup_test.go there; here, the timeout input's deadline
// reaching it.)
func TestTimeoutDuringLookupsIsReportedAsStopped(t *testing.T) {
	t.Parallel()
	hang := cloudflaretest.WithLookupScript(func(int, cloudflaretest.Request) (cloudflaretest.Response, bool) {
		return cloudflaretest.Response{Hang: true}, true
	})
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a", "timeout", "45s", "max-retries", "9")}, hang)
	assertNothingPurged(t, r, "zone", `stopped while looking up "example.com": the timeout was reached`)
}

// With on-error: warn a lookup that stops the run is a warning and exit
// 0, with the outputs of a run that purged nothing; targets no zone owns
// are bad input and still fail.
func TestOnErrorWarnMakesALookupFailureAWarning(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "nowhere.example", "purge-type", "tags", "targets", "a", "on-error", "warn")}, knownZones)
	if r.Code != 0 || len(r.requests) != 0 || len(r.Annotations("error")) != 0 ||
		!r.HasAnnotation("warning", "zone", `"nowhere.example" matches no zone`) {
		t.Fatalf("exit %d, %d requests, errors %+v; want exit 0, nothing purged and a warning\n%s", r.Code, len(r.requests), r.Annotations("error"), r.Stdout)
	}
	if r.Outputs["count"] != "0" || r.Outputs["verified"] != "0" || r.Outputs["purge-ids"] != "[]" {
		t.Errorf("outputs = %v; want those of a run that purged nothing", r.Outputs)
	}

	unowned := runStep(t, actiontest.Step{Inputs: inputs("zone-id", zone+"\n"+orgID, "purge-type", "files", "targets", "https://elsewhere.example/a", "on-error", "warn")}, knownZones)
	if unowned.Code != 1 || !unowned.HasAnnotation("error", "Invalid input targets", "is in none of the zones") {
		t.Errorf("a target no zone owns with on-error: warn: exit %d, %+v", unowned.Code, unowned.Annotations("error"))
	}
}

// Cloudflare's schema types result_info's fields as numbers: 1.0 and 1e0
// are page one and the lookup goes on; a fractional page count is no
// count at all, and the step stops naming the listing.
func TestResultInfoNumbersInAnyIntegralForm(t *testing.T) {
	t.Parallel()
	entry := `{"id":"` + zone + `","name":"example.com","account":{"id":"` + cloudflaretest.AccountID("Acme") + `","name":"Acme"}}`
	for _, info := range []string{
		`{"page":1.0,"per_page":50.0,"count":1.0,"total_count":1.0,"total_pages":1.0}`,
		`{"page":1e0,"per_page":5e1,"count":1E0,"total_count":0.1e1,"total_pages":1e0}`,
	} {
		pages := onPath("/zones", func(int, cloudflaretest.Request) cloudflaretest.Response { return answer("["+entry+"]", info) })
		r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a")}, pages)
		if r.Code != 0 || len(r.requests) != 1 {
			t.Errorf("result_info %s: exit %d, %d purges; want the lookup to succeed\n%s", info, r.Code, len(r.requests), r.Stdout)
		}
	}
	for _, info := range []string{`{"page":1,"total_pages":1.5}`, `{"page":0.5,"total_pages":1}`} {
		pages := onPath("/zones", func(int, cloudflaretest.Request) cloudflaretest.Response { return answer("["+entry+"]", info) })
		r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a")}, pages)
		assertNothingPurged(t, r, "zone", "result_info) of GET /zones is not whole numbers")
	}
}

// An answer that confirms ("success": true) but lists errors keeps what
// it confirmed, and its errors are said as a warning, redacted and
// escaped: for a purge and for a lookup alike.
func TestConfirmedAnswersWithErrorsWarn(t *testing.T) {
	t.Parallel()
	const errs = `[{"code":1999,"message":"partly degraded %0A::error::pwned ` + token + `"}]`
	withErrors := func(n int, r cloudflaretest.Request) cloudflaretest.Response {
		return cloudflaretest.Response{Status: 200, Body: `{"success":true,"errors":` + errs + `,"messages":[],"result":{"id":"` + cloudflaretest.ID(n) + `"}}`}
	}
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a")}, cloudflaretest.WithScript(withErrors))
	if r.Code != 0 || r.Outputs["purge-id"] != cloudflaretest.ID(0) {
		t.Fatalf("exit %d, purge-id %q; want the purge confirmed\n%s", r.Code, r.Outputs["purge-id"], r.Stdout)
	}
	if !r.HasAnnotation("warning", "Cloudflare answered with errors", "Cloudflare confirmed the purge_cache request "+cloudflaretest.ID(0)+" but its answer also lists errors: 1999 partly degraded") {
		t.Errorf("warnings = %+v", r.Annotations("warning"))
	}

	entry := `{"id":"` + zone + `","name":"example.com","account":{"id":"` + cloudflaretest.AccountID("Acme") + `","name":"Acme"}}`
	lookup := onPath("/zones", func(int, cloudflaretest.Request) cloudflaretest.Response {
		return cloudflaretest.Response{Status: 200, Body: `{"success":true,"errors":` + errs + `,"messages":[],"result":[` + entry + `],"result_info":{"page":1,"total_pages":1}}`}
	})
	r2 := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a")}, lookup)
	if r2.Code != 0 || len(r2.requests) != 1 {
		t.Fatalf("lookup with errors: exit %d, %d purges\n%s", r2.Code, len(r2.requests), r2.Stdout)
	}
	if !r2.HasAnnotation("warning", "Cloudflare answered with errors", "Cloudflare confirmed the lookup GET /zones but its answer also lists errors: 1999") {
		t.Errorf("warnings = %+v", r2.Annotations("warning"))
	}
	for _, res := range []run{r, r2} {
		if strings.Contains(res.Stdout, "\n::error::pwned") {
			t.Errorf("an error message became a workflow command:\n%s", res.Stdout)
		}
		assertSecretsOnlyMasked(t, res, token)
	}
}
