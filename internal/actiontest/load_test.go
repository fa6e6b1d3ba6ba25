package actiontest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The action files are exactly what users load: both must pass.
func TestBothActionFilesLoad(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"action.yml", "binary/action.yml"} {
		if _, err := Load(filepath.Join(RepoRoot(), name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// plant copies the repository's file name into a temp folder with old
// replaced by planted, and returns the copy's path and the line planted
// stands on.
func plant(t *testing.T, name, old, planted string) (string, int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), name))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if strings.Count(text, old) != 1 {
		t.Fatalf("%s holds %q %d times, want once", name, old, strings.Count(text, old))
	}
	text = strings.Replace(text, old, planted, 1)
	line := strings.Count(text[:strings.Index(text, planted)], "\n") + 1
	line += strings.Count(planted[:strings.Index(planted, "${{")], "\n")
	path := filepath.Join(t.TempDir(), "action.yml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, line
}

// Each kind of expression the runner refuses, planted in a copy of a
// real action file, is refused with the file, the line and the field.
func TestLoadRefusesWhatTheRunnerRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, old, planted, field, problem string
	}{
		{
			name: "a description with an expression (the bug that broke every job)",
			file: "action.yml", old: "e.g. the value of `github.sha` in",
			planted: "e.g. ${{ github.sha }} in",
			field:   "inputs.wait-for-text.description", problem: "allows no expression in this field",
		},
		{
			name: "the same in the binary entry point", file: "binary/action.yml",
			old:     "      `github.event.before`. The files",
			planted: "      ${{ github.event.before }}. The files",
			field:   "inputs.changed-since.description", problem: "allows no expression in this field",
		},
		{
			name: "a default naming secrets", file: "action.yml",
			old: "    default: ${{ github.token }}", planted: "    default: ${{ secrets.X }}",
			field: "inputs.github-token.default", problem: `unrecognized named-value "secrets"`,
		},
		{
			name: "a default naming steps, which only output values may", file: "binary/action.yml",
			old: "    default: ${{ github.token }}", planted: "    default: ${{ steps.fetch.outputs.binary }}",
			field: "inputs.github-token.default", problem: `unrecognized named-value "steps"`,
		},
		{
			name: "an output value with an empty expression", file: "binary/action.yml",
			old: "    value: ${{ steps.run.outputs.count }}", planted: "    value: ${{ }}",
			field: "outputs.count.value", problem: "an expression was expected",
		},
		{
			name: "an expression never closed", file: "binary/action.yml",
			old: "    value: ${{ steps.run.outputs.stale }}", planted: "    value: ${{ steps.run.outputs.stale",
			field: "outputs.stale.value", problem: "not closed",
		},
		{
			name: "a step's env naming secrets", file: "binary/action.yml",
			old: "        RUNNER_OS_NAME: ${{ runner.os }}", planted: "        RUNNER_OS_NAME: ${{ secrets.GITHUB_TOKEN }}",
			field: "runs.steps.0.env.RUNNER_OS_NAME", problem: `unrecognized named-value "secrets"`,
		},
		{
			name: "a step's shell", file: "binary/action.yml",
			old: "      shell: bash\n      env:\n        BINARY", planted: "      shell: ${{ inputs.shell }}\n      env:\n        BINARY",
			field: "runs.steps.1.shell", problem: "allows no expression in this field",
		},
		{
			name: "a function the field does not offer", file: "binary/action.yml",
			old: "        ACTION_REF: ${{ github.action_ref }}", planted: "        ACTION_REF: ${{ always() }}",
			field: "runs.steps.0.env.ACTION_REF", problem: `unrecognized function "always"`,
		},
		{
			name: "a container action's image", file: "action.yml",
			old: "  image: Dockerfile", planted: "  image: ${{ inputs.image }}",
			field: "runs.image", problem: "allows no expression in this field",
		},
		{
			name: "the action's name", file: "action.yml",
			old: "name: Cloudflare Purge Cache (zones and environments)", planted: "name: Purge ${{ github.repository }}",
			field: "name", problem: "allows no expression in this field",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path, line := plant(t, tc.file, tc.old, tc.planted)
			_, err := Load(path)
			le, ok := errors.AsType[*LoadError](err)
			if !ok {
				t.Fatalf("Load = %v, want a *LoadError", err)
			}
			if le.File != path || le.Line != line || le.Field != tc.field || !strings.Contains(le.Problem, tc.problem) {
				t.Errorf("refused as %v\nwant %s:%d: %s: …%s…", le, path, line, tc.field, tc.problem)
			}
		})
	}
}

// What the runner accepts must load: the fields that allow contexts,
// with their functions, strings holding }} and case-insensitive names.
func TestLoadAcceptsWhatTheRunnerAccepts(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"inputs:\n  a:\n    default: ${{ hashFiles('**/go.sum') }}-${{ runner.os }}\n",
		"inputs:\n  a:\n    default: ${{ GitHub.Token }}\n",
		"inputs:\n  a:\n    default: \"${{ format('{0}}}', github.sha) }}\"\n",
		"outputs:\n  a:\n    value: ${{ steps.x.outputs.y || env.Z }}\n",
		"runs:\n  using: docker\n  image: Dockerfile\n  args: ['${{ inputs.a }}']\n  env:\n    A: ${{ inputs.a }}\n",
		"runs:\n  using: composite\n  steps:\n    - if: ${{ failure() && inputs.a == 'x' }}\n      run: echo ${{ toJSON(github.event) }}\n      shell: bash\n      working-directory: ${{ github.workspace }}\n",
		"runs:\n  using: composite\n  steps:\n    - uses: ./x\n      with:\n        a: ${{ contains(fromJSON('[1]'), 1) }}\n",
		"description: 'no expression here: $ {{ x }}'\n",
	} {
		if err := Check("action.yml", []byte(text)); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// A container action's args and env see only inputs.
func TestLoadGivesContainerRunsOnlyInputs(t *testing.T) {
	t.Parallel()
	err := Check("action.yml", []byte("runs:\n  using: docker\n  image: Dockerfile\n  env:\n    A: ${{ github.sha }}\n"))
	if le, ok := errors.AsType[*LoadError](err); !ok || le.Line != 5 || le.Field != "runs.env.A" || !strings.Contains(le.Problem, `"github": this field allows inputs`) {
		t.Errorf("Check = %v", err)
	}
}
