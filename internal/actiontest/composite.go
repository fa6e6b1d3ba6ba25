package actiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Composite runs a composite action (runs.using: composite) the way the
// runner does, on this machine, as compositemodel.go writes down from the
// runner's source: each step's env: evaluated in the composite's github
// context (github.action_repository and github.action_ref of Uses), its
// run: script in the step's own (those two empty), run with
// `bash --noprofile --norc -eo pipefail` in the workspace, with a
// GITHUB_OUTPUT of its own and GITHUB_ACTION_REPOSITORY and
// GITHUB_ACTION_REF empty and GITHUB_ACTION_PATH set in its process
// environment; the action's outputs evaluated from the steps' and written
// to the job's GITHUB_OUTPUT. Inputs reach the steps only through
// ${{ inputs.NAME }} (composite steps get no INPUT_* variables). Any
// expression the model does not know fails the test, so the action
// cannot grow past what is tested.
type Composite struct {
	Dir string // the folder of the composite action.yml, where the runner put it
	// Uses is how the workflow names the action: OWNER/REPO[/PATH]@REF for
	// an action from a repository, ./PATH for one in the workflow's own.
	Uses string
	// OS and Arch are runner.os and runner.arch (default Linux and this
	// machine's, X64 or ARM64).
	OS, Arch string
	// Steps, if set, receives each step's id and the process environment
	// it ran with, for tests that check what a step was given.
	Steps func(id string, env []string)
}

// Visible: composite steps see the folders themselves.
func (Composite) Visible(_ Folders, dir string) string { return dir }

type compositeYML struct {
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID    string            `yaml:"id"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// Run runs the steps in order, stopping at the first that fails.
func (c Composite) Run(t testing.TB, f Folders, env map[string]string, args []string) Ran {
	t.Helper()
	data := MustLoad(t, filepath.Join(c.Dir, "action.yml"))
	var action compositeYML
	if err := yaml.Unmarshal(data, &action); err != nil || action.Runs.Using != "composite" {
		t.Fatalf("%s/action.yml is not a composite action: %v", c.Dir, err)
	}
	if len(args) > 0 {
		t.Fatal("a composite action takes no arguments")
	}
	ref, err := parseUses(c.Uses)
	if err != nil {
		t.Fatal(err)
	}
	osName, arch := c.OS, c.Arch
	if osName == "" {
		osName = "Linux"
	}
	if arch == "" {
		arch = map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	}
	// env is what the runner gives a step: the workflow's env, the file
	// commands and the github and runner values as variables. The inputs
	// become the inputs context; the variables the model sets itself
	// (runner context, action values) are set by processEnv below.
	inputs := map[string]string{}
	envContext := map[string]string{}
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			inputs[strings.ToLower(name)] = v
			continue
		}
		envContext[k] = v
	}
	runner := map[string]string{"os": osName, "arch": arch, "temp": env["RUNNER_TEMP"]}
	delete(envContext, "RUNNER_TEMP")
	inherited := map[string]string{"PATH": os.Getenv("PATH")}
	composite := compositeGitHub(ref)
	stepOutputs := map[string]map[string]string{}
	eval := func(what, s string, ctx contexts) string {
		return expression.ReplaceAllStringFunc(s, func(m string) string {
			v, err := ctx.lookup(expression.FindStringSubmatch(m)[1])
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return v
		})
	}

	var ran Ran
	var stdout, stderr bytes.Buffer
	for i, step := range action.Runs.Steps {
		if step.Shell != "bash" {
			t.Fatalf("step %d: shell %q; the action's steps run in bash on every OS", i+1, step.Shell)
		}
		what := fmt.Sprintf("step %d (%s)", i+1, step.ID)
		output := filepath.Join(f.FileCommands, fmt.Sprintf("step_%d_output", i+1))
		write(t, output, "")
		envGitHub := childEnvGitHub(composite, c.Dir)
		stepEnv := map[string]string{}
		for k, v := range envContext {
			stepEnv[k] = v
		}
		for k, v := range step.Env {
			stepEnv[k] = eval(what+" env "+k, v, contexts{github: envGitHub, runner: runner, inputs: inputs, steps: stepOutputs})
		}
		runGitHub := childRunGitHub(envGitHub)
		script := eval(what+" run", step.Run, contexts{github: runGitHub, runner: runner, inputs: inputs, steps: stepOutputs})
		runGitHub["output"] = output
		proc := processEnv(inherited, stepEnv, runGitHub, runner)
		var procEnv []string
		for k, v := range proc {
			procEnv = append(procEnv, k+"="+v)
		}
		slices.Sort(procEnv)
		if c.Steps != nil {
			c.Steps(step.ID, procEnv)
		}
		path := filepath.Join(f.RunnerTemp, fmt.Sprintf("step_%d.sh", i+1))
		write(t, path, script)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", path)
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = procEnv, f.Workspace, &stdout, &stderr
		err := cmd.Run()
		cancel()
		if exit, ok := errors.AsType[*exec.ExitError](err); ok {
			ran.Code = exit.ExitCode()
			break
		} else if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		text, err := os.ReadFile(output)
		if err != nil {
			t.Fatal(err)
		}
		if stepOutputs[step.ID], err = ParseOutputs(string(text)); err != nil {
			t.Fatalf("%s: GITHUB_OUTPUT: %v", what, err)
		}
	}
	ran.Stdout, ran.Stderr = stdout.String(), stderr.String()
	if path := env["GITHUB_OUTPUT"]; path != "" && ran.Code == 0 {
		out, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		for name, o := range action.Outputs {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			delim := "ghadelimiter_" + hex.EncodeToString(b)
			v := eval("output "+name, o.Value, contexts{github: composite, runner: runner, inputs: inputs, steps: stepOutputs})
			fmt.Fprintf(out, "%s<<%s\n%s\n%s\n", name, delim, v, delim)
		}
	}
	return ran
}
