package actiontest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUsesAsTheRunnerDoes(t *testing.T) {
	t.Parallel()
	for uses, want := range map[string]actionRef{
		"./binary":                    {Local: true},
		`.\binary`:                    {Local: true},
		"acme/cf-purge/binary@v9.8.7": {Repository: "acme/cf-purge", Ref: "v9.8.7"},
		"acme/cf-purge@main":          {Repository: "acme/cf-purge", Ref: "main"},
		"acme/cf-purge/a/b@0123abc":   {Repository: "acme/cf-purge", Ref: "0123abc"},
	} {
		if got, err := parseUses(uses); err != nil || got != want {
			t.Errorf("parseUses(%q) = %+v, %v; want %+v", uses, got, err, want)
		}
	}
	for _, uses := range []string{"", "acme@v1", "acme/cf-purge", "acme/cf-purge@", "acme/cf-purge@v1@v2", "docker://alpine"} {
		if got, err := parseUses(uses); err == nil {
			t.Errorf("parseUses(%q) = %+v, want an error", uses, got)
		}
	}
}

// A composite step's env: sees github.action_repository and
// github.action_ref of a remote uses:, its run: script and its process
// environment do not; GITHUB_ACTION_PATH is the action's folder, whatever
// the workflow's env says.
func TestCompositeStepsSeeWhatTheRunnerGivesThem(t *testing.T) {
	t.Parallel()
	const action = `runs:
  using: composite
  steps:
    - id: s
      shell: bash
      env:
        FROM_ENV: ${{ github.action_repository }}@${{ github.action_ref }}
      run: |
        echo "env=$FROM_ENV" >> "$GITHUB_OUTPUT"
        echo "run=${{ github.action_repository }}@${{ github.action_ref }}" >> "$GITHUB_OUTPUT"
        echo "proc=$GITHUB_ACTION_REPOSITORY@$GITHUB_ACTION_REF" >> "$GITHUB_OUTPUT"
        echo "path=$GITHUB_ACTION_PATH" >> "$GITHUB_OUTPUT"
outputs:
  env:
    value: ${{ steps.s.outputs.env }}
  run:
    value: ${{ steps.s.outputs.run }}
  proc:
    value: ${{ steps.s.outputs.proc }}
  path:
    value: ${{ steps.s.outputs.path }}
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte(action), 0o644); err != nil {
		t.Fatal(err)
	}
	workflowEnv := map[string]string{"GITHUB_ACTION_REPOSITORY": "evil/repo", "GITHUB_ACTION_REF": "evil", "GITHUB_ACTION_PATH": "/evil"}
	for uses, wantEnv := range map[string]string{"acme/cf-purge/binary@v9.8.7": "acme/cf-purge@v9.8.7", "./binary": "@"} {
		res := Run(t, Composite{Dir: dir, Uses: uses}, Step{Inputs: map[string]string{"purge-type": "tags"}, Env: workflowEnv})
		if res.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", uses, res.Code, res.Stderr)
		}
		want := map[string]string{"env": wantEnv, "run": "@", "proc": "@", "path": dir}
		for k, v := range want {
			if res.Outputs[k] != v {
				t.Errorf("%s: %s = %q, want %q", uses, k, res.Outputs[k], v)
			}
		}
	}
}

func TestCompositeFailsOnAnExpressionItDoesNotKnow(t *testing.T) {
	t.Parallel()
	// secrets is not even a context of run: (schema.go): the loader
	// refuses it before the model is asked.
	for _, expr := range []string{"github.repository", "env.X", "secrets.TOKEN", "inputs.nope", "steps.s.outputs"} {
		dir := t.TempDir()
		action := "runs:\n  using: composite\n  steps:\n    - id: s\n      shell: bash\n      run: echo '${{ " + expr + " }}'\n"
		if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte(action), 0o644); err != nil {
			t.Fatal(err)
		}
		rec := &recordingTB{TB: t}
		func() {
			defer func() { _ = recover() }()
			Composite{Dir: dir, Uses: "./x"}.Run(rec, Folders{FileCommands: t.TempDir(), RunnerTemp: t.TempDir(), Workspace: t.TempDir()}, map[string]string{"INPUT_PURGE-TYPE": "tags"}, nil)
		}()
		want := "does not know the expression ${{ " + expr + " }}"
		if expr == "secrets.TOKEN" {
			want = `runs.steps.0.run: ${{ secrets.TOKEN }}: unrecognized named-value "secrets"`
		}
		if !strings.Contains(rec.fatal, want) {
			t.Errorf("${{ %s }}: fatal %q, want the test failed on it", expr, rec.fatal)
		}
	}
}

// recordingTB records a Fatalf instead of failing the test, and stops the
// run as Fatalf does.
type recordingTB struct {
	testing.TB
	fatal string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(r)
}
func (r *recordingTB) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	panic(r)
}
