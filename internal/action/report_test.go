package action_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// The ranges, groupFailures and explain helpers moved to
// internal/command/report.go with the restructuring; their tests belong
// there, not here.

// token is a secret with characters Markdown escapes (_) and a hyphen:
// escaped first, it would become Sn3l\_cBU-..., which no redactor of the
// raw secret finds any more.
const token = "Sn3l_cBU-x9Kq2_ZZtop77"

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// inActions is the environment of a step in GitHub Actions, with its
// output and summary files in a fresh folder.
func inActions(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	return map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
}

// dryRun is a dry run of tags for scope with the given requests.
func dryRun(scope string, targets int, requests ...action.DryRequest) action.DryRun {
	return action.DryRun{Scope: scope, PurgeType: "tags", Targets: targets, Count: len(requests), Requests: slices.Values(requests)}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// leaks says which part of secret text shows: the secret itself, or any
// run of safetext.MinRun bytes of it, also after Markdown's escapes are
// taken out again.
func leaks(text, secret string) string {
	for _, s := range []string{text, strings.ReplaceAll(text, `\`, "")} {
		for i := 0; i+safetext.MinRun <= len(secret); i++ {
			if run := secret[i : i+safetext.MinRun]; strings.Contains(s, run) {
				return run
			}
		}
	}
	return ""
}

// withoutMaskLines drops the ::add-mask:: lines of secret, the one place
// the log may show it: the runner hides it from every line after.
func withoutMaskLines(stdout, secret string) string {
	var b strings.Builder
	for line := range strings.Lines(stdout) {
		if line != "::add-mask::"+secret+"\n" {
			b.WriteString(line)
		}
	}
	return b.String()
}

func TestMaskComesFirstAndRedactsLater(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	r := action.New(&out, &errOut, getenv(map[string]string{"GITHUB_ACTIONS": "true"}))
	r.Mask([]string{"tok-1", "two\nlines", "tok-1"})
	r.Infof("a message holding tok-1 by mistake")
	r.Error("title tok-1", "message lines tok-1")
	want := "::add-mask::tok-1\n::add-mask::two%0Alines\n::add-mask::two\n::add-mask::lines\n" +
		"a message holding *** by mistake\n::error title=title ***::message *** ***\n"
	if out.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", out.String(), want)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr = %q, want nothing in Actions", errOut.String())
	}
}

func TestMaskOutsideActionsPrintsNoSecret(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	r := action.New(&out, &errOut, getenv(map[string]string{"RUNNER_DEBUG": "1"}))
	r.Mask([]string{token})
	r.Infof("%s", token)
	r.Debugf("debug %s", token)
	r.Error("title", "message "+token)
	if out.String() != "***\n" {
		t.Errorf("stdout = %q, want only the redacted line", out.String())
	}
	if want := "debug: debug ***\nerror: title: message ***\n"; errOut.String() != want {
		t.Errorf("stderr = %q, want %q", errOut.String(), want)
	}
}

func TestDebugOnlyInActionsOrWithRunnerDebug(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env                 map[string]string
		wantOut, wantErrOut string
	}{
		{nil, "", ""},
		{map[string]string{"GITHUB_ACTIONS": "false", "RUNNER_DEBUG": "0"}, "", ""},
		{map[string]string{"RUNNER_DEBUG": "1"}, "", "debug: x\n"},
		{map[string]string{"GITHUB_ACTIONS": "true"}, "::debug::x\n", ""},
		{map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_DEBUG": "1"}, "::debug::x\n", ""},
	} {
		var out, errOut strings.Builder
		action.New(&out, &errOut, getenv(tt.env)).Debugf("x")
		if out.String() != tt.wantOut || errOut.String() != tt.wantErrOut {
			t.Errorf("env %v: stdout %q, stderr %q; want %q, %q", tt.env, out.String(), errOut.String(), tt.wantOut, tt.wantErrOut)
		}
	}
}

func TestInvalidInputsStayWithinTenAnnotations(t *testing.T) {
	t.Parallel()
	var problems []problem.Problem
	for i := range 12 {
		problems = append(problems, problem.Problem{Input: fmt.Sprintf("in-%d", i), Message: "bad"})
	}
	var out strings.Builder
	action.New(&out, &strings.Builder{}, getenv(map[string]string{"GITHUB_ACTIONS": "true"})).InvalidInputs(problems)
	if n := strings.Count(out.String(), "::error "); n != 10 {
		t.Errorf("%d annotations, want 10:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "::error title=Invalid input in-8::bad\n") {
		t.Errorf("the ninth annotation is not one input's:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "title=Invalid inputs (3 more)::input in-9: bad%0Ainput in-10: bad%0Ainput in-11: bad") {
		t.Errorf("the last annotation does not hold the rest:\n%s", out.String())
	}
}

func TestInvalidInputsOutsideActions(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	action.New(&out, &errOut, getenv(nil)).InvalidInputs([]problem.Problem{
		{Input: "zone-id", Message: "is required"},
		{Input: "targets", Message: "2 bad target(s):\nline 1\nline 2"},
	})
	want := "error: zone-id: is required\nerror: targets: 2 bad target(s):\n  line 1\n  line 2\n"
	if errOut.String() != want {
		t.Errorf("stderr = %q, want %q", errOut.String(), want)
	}
	if out.String() != "Nothing was sent: fix the input(s) above.\n" {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestErrorsAndWarnings(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	local := action.New(&out, &errOut, getenv(nil))
	local.Warning("Slow", "took\nlong")
	local.Error("", "no title")
	if want := "warning: Slow: took\n  long\nerror: no title\n"; errOut.String() != want || out.Len() != 0 {
		t.Errorf("local: stdout %q, stderr %q; want stderr %q", out.String(), errOut.String(), want)
	}

	out.Reset()
	errOut.Reset()
	gh := action.New(&out, &errOut, getenv(map[string]string{"GITHUB_ACTIONS": "true"}))
	gh.Warning("Slow, very: slow", "took\nlong")
	gh.Error("Failed", "100% wrong\r\n::error::forged")
	want := "::warning title=Slow%2C very%3A slow::took%0Along\n::error title=Failed::100%25 wrong%0A::error::forged\n"
	if out.String() != want || errOut.Len() != 0 {
		t.Errorf("Actions: stdout %q, stderr %q; want stdout %q", out.String(), errOut.String(), want)
	}
}

func TestGroups(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	gh := action.New(&out, &strings.Builder{}, getenv(map[string]string{"GITHUB_ACTIONS": "true"}))
	gh.Group("Purging\n3 tags")
	gh.Infof("inside")
	gh.EndGroup()
	if want := "::group::Purging 3 tags\ninside\n::endgroup::\n"; out.String() != want {
		t.Errorf("Actions: %q, want %q", out.String(), want)
	}
	out.Reset()
	local := action.New(&out, &strings.Builder{}, getenv(nil))
	local.Group("Purging\n3 tags")
	local.Infof("inside")
	local.EndGroup()
	if want := "Purging 3 tags\ninside\n"; out.String() != want {
		t.Errorf("local: %q, want %q", out.String(), want)
	}
}

// Outside GitHub Actions nothing the reporter prints is a workflow
// command, whatever the texts it is handed hold.
func TestLocalModePrintsNoWorkflowCommand(t *testing.T) {
	t.Parallel()
	const evil = "bad\n::error::forged\r\n::add-mask::x\n::set-output name=a::b"
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary")
	var out, errOut strings.Builder
	// A summary path without GITHUB_ACTIONS=true is no reason to write one.
	r := action.New(&out, &errOut, getenv(map[string]string{"RUNNER_DEBUG": "1", "GITHUB_STEP_SUMMARY": summary}))
	r.Mask([]string{token})
	r.Infof("info %s", evil)
	r.Debugf("debug %s", evil)
	r.Group("group " + evil)
	r.EndGroup()
	r.Error("title "+evil, "error "+evil)
	r.Warning("title "+evil, "warning "+evil)
	r.SetOutput("purge-id", evil)
	r.InvalidInputs([]problem.Problem{{Input: "zone-id", Message: evil}})
	r.DryRun(dryRun("zone "+evil, 1, action.DryRequest{URL: "https://x/" + evil, Body: evil}))
	r.Finish(action.Result{Noun: "purge", Verb: "purged", Scope: "zone z", PurgeType: "tags", Targets: 2, Done: 1, IDs: []string{"id1"}, Requests: 2, Failed: 1, Attempts: 3,
		FailureTitle: "failed " + evil, Failures: []string{"request 2 of 2: " + evil}, Hint: "hint " + evil})
	for name, text := range map[string]string{"stdout": out.String(), "stderr": errOut.String()} {
		for line := range strings.Lines(text) {
			if strings.HasPrefix(line, "::") {
				t.Errorf("%s has a workflow command: %q", name, line)
			}
		}
	}
	if !strings.Contains(out.String(), "\npurge-id=bad ::error::forged") {
		t.Errorf("stdout does not hold the output as name=value on one line:\n%s", out.String())
	}
	if _, err := os.Stat(summary); !os.IsNotExist(err) {
		t.Errorf("a summary was written outside Actions (%v)", err)
	}
}

// outputs reads a GITHUB_OUTPUT file the way the runner does: name=value
// lines, and name<<DELIMITER blocks ending at a line that is exactly the
// delimiter. It fails the test on anything the runner would reject.
func outputs(t *testing.T, file string) (map[string]string, []string) {
	t.Helper()
	values := map[string]string{}
	var delims []string
	sc := bufio.NewScanner(strings.NewReader(file))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		// As the runner decides: whichever of = and << comes first.
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		if eq >= 0 && (heredoc < 0 || eq < heredoc) {
			values[line[:eq]] = line[eq+1:]
			continue
		}
		if heredoc < 0 {
			t.Fatalf("GITHUB_OUTPUT line %q is neither name=value nor name<<DELIMITER", line)
		}
		name, delim := line[:heredoc], line[heredoc+2:]
		delims = append(delims, delim)
		var lines []string
		closed := false
		for sc.Scan() {
			if sc.Text() == delim {
				closed = true
				break
			}
			lines = append(lines, sc.Text())
		}
		if !closed {
			t.Fatalf("GITHUB_OUTPUT: the block of %s has no closing %s", name, delim)
		}
		values[name] = strings.Join(lines, "\n")
	}
	return values, delims
}

func TestSetOutputRoundTripsThroughTheRunnersParser(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	values := map[string]string{
		"plain":               "023e105f4ecef8ad9ca31a8372d0c353",
		"empty":               "",
		"old-delimiter":       "_GitHubActionsFileCommandDelimeter_",
		"old-delimiter-lines": "a\n_GitHubActionsFileCommandDelimeter_\nb",
		"delimiter-lines":     "ghadelimiter_x\nghadelimiter_0123456789abcdef0123456789abcdef\nEOF",
		"json":                `["a","b"]`,
		"heredoc-looking":     "x<<EOF\nEOF",
	}
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(env))
	for name, value := range values {
		if !r.SetOutput(name, value) {
			t.Fatalf("SetOutput(%s) = false", name)
		}
	}
	got, delims := outputs(t, readFile(t, env["GITHUB_OUTPUT"]))
	for name, value := range values {
		if got[name] != value {
			t.Errorf("output %s = %q, want %q", name, got[name], value)
		}
	}
	if len(got) != len(values) {
		t.Errorf("outputs = %q, want %d", got, len(values))
	}
	pattern := regexp.MustCompile(`^ghadelimiter_[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for _, d := range delims {
		if !pattern.MatchString(d) || seen[d] {
			t.Errorf("delimiter %q is not a fresh ghadelimiter_<hex>", d)
		}
		seen[d] = true
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q; outputs go to the file in Actions", out.String())
	}
}

func TestSetOutputRedacts(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	r := action.New(&strings.Builder{}, &strings.Builder{}, getenv(env))
	r.Mask([]string{token})
	r.SetOutput("purge-id", "id-"+token)
	got, _ := outputs(t, readFile(t, env["GITHUB_OUTPUT"]))
	if got["purge-id"] != "id-***" {
		t.Errorf("purge-id = %q, want id-***", got["purge-id"])
	}
}

func TestSetOutputOutsideActions(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(nil))
	if !r.SetOutput("purge-ids", "[\"a\",\n\"b\"]") || !r.SetOutput("count", "2") {
		t.Fatal("SetOutput = false")
	}
	if want := "purge-ids=[\"a\", \"b\"]\ncount=2\n"; out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
}

func TestSetOutputReportsAFileItCannotWrite(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	env["GITHUB_OUTPUT"] = filepath.Join(t.TempDir(), "no such folder", "output")
	var out strings.Builder
	if action.New(&out, &strings.Builder{}, getenv(env)).SetOutput("count", "1") {
		t.Error("SetOutput = true for a file that cannot be written")
	}
	if !strings.HasPrefix(out.String(), "::error title=Could not write the step outputs::") {
		t.Errorf("stdout = %q, want an error annotation", out.String())
	}
}

func TestFinishSuccess(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(env))
	ok := r.Finish(action.Result{Noun: "purge", Verb: "purged", Scope: "zone z1", PurgeType: "files", Targets: 3, Done: 3, IDs: []string{"id1", "id_2"},
		Requests: 2, Attempts: 2, Took: 1500 * time.Millisecond})
	if !ok {
		t.Error("Finish = false for a run without failures")
	}
	if want := "Purged 3 target(s) of zone z1 in 2 request(s), 1.5s.\n"; out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	got, _ := outputs(t, readFile(t, env["GITHUB_OUTPUT"]))
	if got["purge-id"] != "id1" || got["purge-ids"] != `["id1","id_2"]` || got["count"] != "3" {
		t.Errorf("outputs = %q", got)
	}
	summary := readFile(t, env["GITHUB_STEP_SUMMARY"])
	for _, want := range []string{"### Cloudflare cache purge succeeded", "| Scope | zone z1 |", "| Targets | 3 (3 purged) |", "| IDs | `id1`, `id\\_2` |"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary does not hold %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, "Batch size") {
		t.Errorf("summary speaks of a batch size, though none was learned:\n%s", summary)
	}
}

// A batch size learned from a refusal is a line of the summary, saying
// which batch-size to set.
func TestFinishSaysTheLearnedBatchSize(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	r := action.New(&strings.Builder{}, &strings.Builder{}, getenv(env))
	r.Finish(action.Result{Noun: "purge", Verb: "purged", Scope: "zone z1", PurgeType: "files", Targets: 300, Done: 300, IDs: []string{"id1"},
		Requests: 3, Attempts: 13, LearnedBatchSize: 30})
	summary := readFile(t, env["GITHUB_STEP_SUMMARY"])
	if want := "| Batch size | 30 a request after Cloudflare refused a larger one: set `batch-size: 30` |\n"; strings.Count(summary, want) != 1 {
		t.Errorf("summary does not hold %q once:\n%s", want, summary)
	}
}

func TestFinishFailure(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(env))
	res := action.Result{Noun: "purge", Verb: "purged", Scope: "zone z1", PurgeType: "tags", Targets: 4, Done: 2, IDs: []string{"id1"},
		Requests: 2, Failed: 1, Attempts: 6, FailureTitle: "Cloudflare purge failed: HTTP 400",
		Failures: []string{"request 2 of 2: HTTP 400: 1 bad\nrequest"}, Hint: "Check the tags."}
	// Finish writes the outputs and summary; the failure is the caller's
	// to annotate (command's exit applies on-error), from Result.Failure.
	if !r.Finish(res) {
		t.Error("Finish = false, though the outputs were written")
	}
	failure := res.Failure()
	if failure == nil || failure.Kind != problem.PurgeFailed {
		t.Fatalf("Failure = %v, want a purge failure", failure)
	}
	r.Failed(failure.Problems, false)
	want := "::error title=Cloudflare purge failed%3A HTTP 400::1 of 2 request(s) failed; 2 of 4 target(s) not purged.%0Arequest 2 of 2: HTTP 400: 1 bad request%0ACheck the tags.\n"
	if out.String() != want {
		t.Errorf("stdout = %q\nwant     %q", out.String(), want)
	}
	got, _ := outputs(t, readFile(t, env["GITHUB_OUTPUT"]))
	if got["purge-id"] != "id1" || got["count"] != "2" {
		t.Errorf("outputs = %q; want those of the requests that succeeded", got)
	}
	if summary := readFile(t, env["GITHUB_STEP_SUMMARY"]); !strings.Contains(summary, "### Cloudflare cache purge failed") || !strings.Contains(summary, "- request 2 of 2: HTTP 400: 1 bad request\n") {
		t.Errorf("summary =\n%s", summary)
	}
}

func TestFinishFailsWhenTheOutputsCannotBeWritten(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	env["GITHUB_OUTPUT"] = filepath.Join(t.TempDir(), "no such folder", "output")
	r := action.New(&strings.Builder{}, &strings.Builder{}, getenv(env))
	if r.Finish(action.Result{Noun: "purge", Verb: "purged", Targets: 1, Done: 1, IDs: []string{"id1"}, Requests: 1}) {
		t.Error("Finish = true, though the outputs were not written")
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(env))
	ok := r.DryRun(dryRun("zone z1", 3,
		action.DryRequest{URL: "https://api/zones/z1/purge_cache", Body: `{"tags":["a","b"]}`},
		action.DryRequest{URL: "https://api/zones/z1/purge_cache", Body: `{"tags":["c"]}`},
	))
	if !ok {
		t.Error("DryRun = false")
	}
	want := "::group::Dry run: 2 request(s) for zone z1, purge type tags (nothing is sent)\n" +
		"[1/2] POST https://api/zones/z1/purge_cache\n{\"tags\":[\"a\",\"b\"]}\n" +
		"[2/2] POST https://api/zones/z1/purge_cache\n{\"tags\":[\"c\"]}\n::endgroup::\n"
	if out.String() != want {
		t.Errorf("stdout =\n%s\nwant\n%s", out.String(), want)
	}
	got, _ := outputs(t, readFile(t, env["GITHUB_OUTPUT"]))
	if got["purge-id"] != "" || got["purge-ids"] != "[]" || got["count"] != "0" {
		t.Errorf("outputs = %q; want them empty: nothing was purged", got)
	}
	if summary := readFile(t, env["GITHUB_STEP_SUMMARY"]); !strings.Contains(summary, "Nothing was sent. 2 request(s) planned for zone z1, purge type `tags`, 3 target(s).") {
		t.Errorf("summary =\n%s", summary)
	}
}

// The summary is Markdown: texts are redacted before they are escaped, so
// a secret with _ or - in it is blanked, not escaped into a form that no
// longer matches it.
func TestSummaryNeverHoldsASecret(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	var out, errOut strings.Builder
	r := action.New(&out, &errOut, getenv(env))
	r.Mask([]string{token})
	echoed := "HTTP 400: 6111 Invalid format for Authorization header: Bearer " + token + " | *" + token + "*"
	r.InvalidInputs([]problem.Problem{{Input: "api-token", Message: "rejected " + token}})
	r.DryRun(dryRun("zone "+token, 1, action.DryRequest{URL: "https://api/" + token, Body: token}))
	r.Finish(action.Result{Noun: "purge", Verb: "purged", Scope: "zone z1", PurgeType: "tags_" + token, Targets: 1, Requests: 1, Failed: 1, Attempts: 1,
		IDs: []string{token}, FailureTitle: "failed: " + token, Failures: []string{"request 1 of 1: " + echoed}, Hint: token})
	summary := readFile(t, env["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(summary, "Bearer \\*\\*\\*") {
		t.Errorf("summary does not show the blanked token where it was:\n%s", summary)
	}
	if !strings.HasPrefix(out.String(), "::add-mask::"+token+"\n") {
		t.Errorf("stdout does not begin with the mask line:\n%s", out.String())
	}
	stdout := withoutMaskLines(out.String(), token)
	for name, text := range map[string]string{"summary": summary, "stdout": stdout, "stderr": errOut.String(), "outputs": readFile(t, env["GITHUB_OUTPUT"])} {
		if strings.Contains(text, token) || strings.Contains(text, safetext.Markdown(token)) {
			t.Errorf("%s holds the token:\n%s", name, text)
		} else if run := leaks(text, token); run != "" {
			t.Errorf("%s holds %q of the token:\n%s", name, run, text)
		}
	}
}

// A server that echoes the token cut short still shows none of it.
func TestSecretCutShortIsStillBlanked(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(env))
	r.Mask([]string{token})
	cut := token[:20]
	r.Infof("echo %s…", cut)
	r.Error("failed", "Bearer "+cut)
	r.Finish(action.Result{Noun: "purge", Verb: "purged", Scope: "zone z1", PurgeType: "tags", Targets: 1, Requests: 1, Failed: 1, Attempts: 1,
		FailureTitle: "failed", Failures: []string{"request 1 of 1: Bearer " + cut}})
	if !strings.Contains(out.String(), "echo ***…\n") {
		t.Errorf("stdout does not show the cut token blanked:\n%s", out.String())
	}
	for name, text := range map[string]string{"stdout": withoutMaskLines(out.String(), token), "summary": readFile(t, env["GITHUB_STEP_SUMMARY"])} {
		if run := leaks(text, token); run != "" {
			t.Errorf("%s holds %q of the token:\n%s", name, run, text)
		}
	}
}

func TestMarkdownRedactsThenEscapes(t *testing.T) {
	t.Parallel()
	r := action.New(&strings.Builder{}, &strings.Builder{}, getenv(map[string]string{"GITHUB_ACTIONS": "true"}))
	r.Mask([]string{token})
	got := r.Markdown("bad\ntoken " + token + " | <b>*x*</b> [l](u)")
	if want := "bad token \\*\\*\\* \\| &lt;b&gt;\\*x\\*&lt;/b&gt; \\[l](u)"; got != want {
		t.Errorf("Markdown = %q, want %q", got, want)
	}
}

func TestSummaryFileThatCannotBeWrittenOnlyWarns(t *testing.T) {
	t.Parallel()
	env := inActions(t)
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(t.TempDir(), "no such folder", "summary")
	var out strings.Builder
	r := action.New(&out, &strings.Builder{}, getenv(env))
	if !r.Finish(action.Result{Noun: "purge", Verb: "purged", Targets: 1, Done: 1, IDs: []string{"id1"}, Requests: 1}) {
		t.Error("Finish = false: a summary is not worth failing the step")
	}
	if !strings.Contains(out.String(), "::warning title=Could not write GITHUB_STEP_SUMMARY::") {
		t.Errorf("stdout = %q, want a warning", out.String())
	}
}

// Workers log at once: run with -race. Every line comes out whole.
func TestReporterFromManyGoroutines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	r := action.New(&out, &strings.Builder{}, getenv(map[string]string{"GITHUB_ACTIONS": "true"}))
	r.Mask([]string{token})
	const workers, lines = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range lines {
				r.Infof("worker %d line %d %s", w, i, token)
				r.Debugf("worker %d line %d", w, i)
			}
		})
	}
	wg.Wait()
	want := map[string]bool{}
	for w := range workers {
		for i := range lines {
			want[fmt.Sprintf("worker %d line %d ***\n", w, i)] = true
			want[fmt.Sprintf("::debug::worker %d line %d\n", w, i)] = true
		}
	}
	n := 0
	for line := range strings.Lines(out.String()) {
		if strings.HasPrefix(line, "::add-mask::") {
			continue
		}
		n++
		if !want[line] {
			t.Errorf("line %q is not one that was logged", line)
		}
		delete(want, line)
	}
	if n != 2*workers*lines || len(want) != 0 {
		t.Errorf("%d lines, %d missing; want %d", n, len(want), 2*workers*lines)
	}
}
