package action_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
)

func TestFinishReportsTheChecks(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	r := action.New(&strings.Builder{}, &strings.Builder{}, getenv(env))
	r.Mask([]string{"s3cr3t_tok"})
	v := &action.Verify{Fresh: 58, Stale: 2}
	v.Rows = append(v.Rows, action.CheckRow{URL: "https://www.example.com/a|b?t=s3cr3t_tok", Status: "200 HIT", Age: "3600", Judgement: "stale"})
	for i := range 59 {
		v.Rows = append(v.Rows, action.CheckRow{URL: fmt.Sprintf("https://www.example.com/%d", i), Status: "200 MISS", Age: "—", Judgement: "fresh"})
	}
	ok := r.Finish(action.Result{Noun: "purge", Verb: "purged", Scope: "zone z1", PurgeType: "files", Targets: 60, Done: 60, Requests: 2, IDs: []string{"id1", "id2"},
		Zones: []action.Zone{{ID: "z1", Verified: 58, Stale: 2, Warmed: 60}},
		Checks: action.Checks{
			Wait:   &action.Wait{URL: "https://www.example.com/version.txt", Polls: 4, Took: 20 * time.Second, Matched: true},
			Verify: v,
			Warm:   &action.Warm{Requested: 60, Warmed: 60},
		}})
	if !ok {
		t.Fatal("Finish = false")
	}
	got, _ := outputs(t, readFile(t, env["GITHUB_OUTPUT"]))
	if got["verified"] != "58" || got["stale"] != "2" || got["warmed"] != "60" || !strings.Contains(got["results"], `"verified":58,"stale":2,"broken":0,"warmed":60}`) {
		t.Errorf("outputs = %q", got)
	}
	summary := readFile(t, env["GITHUB_STEP_SUMMARY"])
	for _, want := range []string{
		"**wait-for** https://www.example.com/version.txt: served the new build after 20s (4 poll(s)).",
		"**verify**: 58 fresh, 2 stale, 0 broken, 0 not checked.",
		"| https://www.example.com/a\\|b?t=\\*\\*\\* | 200 HIT | 3600 | stale |",
		"| https://www.example.com/48 | 200 MISS | — | fresh |",
		"and 10 more URL(s).",
		"**warm**: 60 of 60 request(s) answered 2xx or 3xx; 0 origin error(s).",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary does not hold %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, "/49 |") || strings.Contains(summary, "s3cr3t") {
		t.Errorf("summary shows more than 50 URLs, or the secret:\n%s", summary)
	}
}

func TestSoftFailureIsAWarning(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(env))
	res := action.Result{Noun: "purge", Verb: "purged", Scope: "zone z1", PurgeType: "tags", Targets: 1, Requests: 1, Failed: 1, Attempts: 1,
		FailureTitle: "Cloudflare purge failed: HTTP 500", Failures: []string{"request 1 of 1: HTTP 500"}}
	r.Failed(res.Failure().Problems, true)
	if !strings.HasPrefix(out.String(), "::warning title=Cloudflare purge failed%3A HTTP 500::") || !strings.Contains(out.String(), "on-error: warn") {
		t.Errorf("stdout = %q", out.String())
	}
}
