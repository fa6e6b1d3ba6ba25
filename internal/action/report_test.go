package action

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/config"
)

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestMaskComesFirstAndRedactsLater(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	r := New(&out, getenv(map[string]string{"GITHUB_ACTIONS": "true"}))
	r.Mask([]string{"tok-1", "two\nlines", "tok-1"})
	r.Infof("a message holding tok-1 by mistake")
	r.Error("title tok-1", "message lines tok-1")
	want := "::add-mask::tok-1\n::add-mask::two%0Alines\n::add-mask::two\n::add-mask::lines\n" +
		"a message holding *** by mistake\n::error title=title ***::message *** ***\n"
	if out.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", out.String(), want)
	}
}

func TestMaskOutsideActionsPrintsNoSecret(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	r := New(&out, getenv(nil))
	r.Mask([]string{"tok-1"})
	r.Infof("tok-1")
	if out.String() != "***\n" {
		t.Errorf("output = %q, want only the redacted line", out.String())
	}
}

func TestDebugOnlyInActionsOrWithRunnerDebug(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"RUNNER_DEBUG": "1"}, "::debug::x\n"},
		{map[string]string{"GITHUB_ACTIONS": "true"}, "::debug::x\n"},
	} {
		var out strings.Builder
		New(&out, getenv(tt.env)).Debugf("x")
		if out.String() != tt.want {
			t.Errorf("env %v: output %q, want %q", tt.env, out.String(), tt.want)
		}
	}
}

func TestInvalidInputsStayWithinTenAnnotations(t *testing.T) {
	t.Parallel()
	var problems []config.Problem
	for i := range 12 {
		problems = append(problems, config.Problem{Input: fmt.Sprintf("in-%d", i), Message: "bad"})
	}
	var out strings.Builder
	New(&out, getenv(nil)).InvalidInputs(&config.InvalidError{Problems: problems})
	if n := strings.Count(out.String(), "::error "); n != 10 {
		t.Errorf("%d annotations, want 10", n)
	}
	if !strings.Contains(out.String(), "title=Invalid inputs (3 more)::input in-9: bad%0Ainput in-10: bad%0Ainput in-11: bad") {
		t.Errorf("the last annotation does not hold the rest:\n%s", out.String())
	}
}

func TestRanges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []int
		want string
	}{
		{[]int{1}, "1"}, {[]int{1, 2, 3}, "1-3"}, {[]int{1, 3, 4, 5, 9}, "1, 3-5, 9"}, {nil, ""},
	} {
		if got := ranges(tt.in); got != tt.want {
			t.Errorf("ranges(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	t.Parallel()
	if got := markdownText("<img src=x> | `code` *b* [l](u)"); got != "&lt;img src=x&gt; \\| 'code' \\*b\\* \\[l](u)" {
		t.Errorf("markdownText = %q", got)
	}
}
