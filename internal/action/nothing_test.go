package action_test

import (
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
)

func TestNotice(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	action.New(&out, &errOut, getenv(nil)).Notice("Purging everything", "why:\nthis")
	if want := "notice: Purging everything: why:\n  this\n"; errOut.String() != want || out.Len() != 0 {
		t.Errorf("local: stdout %q, stderr %q; want stderr %q", out.String(), errOut.String(), want)
	}
	out.Reset()
	errOut.Reset()
	action.New(&out, &errOut, getenv(map[string]string{"GITHUB_ACTIONS": "true"})).Notice("Nothing, to: do", "a\n::error::forged")
	if want := "::notice title=Nothing%2C to%3A do::a%0A::error::forged\n"; out.String() != want || errOut.Len() != 0 {
		t.Errorf("Actions: stdout %q, stderr %q; want stdout %q", out.String(), errOut.String(), want)
	}
}

func TestNothingWritesEmptyOutputsANoticeAndTheSummary(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	var out, errOut strings.Builder
	r := action.New(&out, &errOut, getenv(env))
	if !r.Nothing("Nothing to purge", "No path | matches.", []action.Zone{{ID: "z1"}, {Name: "example.com"}}) {
		t.Fatal("Nothing reported the outputs unwritten")
	}
	if !strings.Contains(out.String(), "::notice title=Nothing to purge::No path | matches. Nothing was sent to Cloudflare.") {
		t.Errorf("stdout %q", out.String())
	}
	outputs := readFile(t, env["GITHUB_OUTPUT"])
	for _, want := range []string{"purge-id<<", "purge-ids<<", "\n[]\n", "count<<", "\n0\n", "verified<<", "stale<<", "warmed<<",
		`[{"zone-id":"z1","zone":"","environment-id":"","purge-ids":[],"count":0,"failed":0,"verified":0,"stale":0,"broken":0,"warmed":0},{"zone-id":"","zone":"example.com","environment-id":"","purge-ids":[],"count":0,"failed":0,"verified":0,"stale":0,"broken":0,"warmed":0}]`} {
		if !strings.Contains(outputs, want) {
			t.Errorf("outputs %q lack %q", outputs, want)
		}
	}
	if sum := readFile(t, env["GITHUB_STEP_SUMMARY"]); !strings.Contains(sum, "nothing to purge") || !strings.Contains(sum, `No path \| matches.`) {
		t.Errorf("summary %q", sum)
	}
}
