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
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Composite runs a composite action (runs.using: composite) the way the
// runner does, on this machine: each step's env and run script expanded,
// run with `bash --noprofile --norc -eo pipefail` in the workspace, with a
// GITHUB_OUTPUT of its own; the action's outputs evaluated from the steps'
// and written to the job's GITHUB_OUTPUT. Inputs reach the steps only
// through ${{ inputs.NAME }}, as on a runner (composite steps get no
// INPUT_* variables). It knows the expressions this project's composite
// action uses, and fails the test on any other, so the action cannot grow
// past what is tested.
type Composite struct {
	Dir string // the folder of the composite action.yml
	// OS and Arch are runner.os and runner.arch (default Linux and this
	// machine's, X64 or ARM64).
	OS, Arch string
	// Repository is github.action_repository.
	Repository string
	// Steps, if set, receives each step's id and the environment it ran
	// with, for tests that check what a step was given.
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
	data, err := os.ReadFile(filepath.Join(c.Dir, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var action compositeYML
	if err := yaml.Unmarshal(data, &action); err != nil || action.Runs.Using != "composite" {
		t.Fatalf("%s/action.yml is not a composite action: %v", c.Dir, err)
	}
	if len(args) > 0 {
		t.Fatal("a composite action takes no arguments")
	}
	osName, arch := c.OS, c.Arch
	if osName == "" {
		osName = "Linux"
	}
	if arch == "" {
		arch = map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	}
	inputs := map[string]string{}
	job := []string{"PATH=" + os.Getenv("PATH"), "GITHUB_ACTION_PATH=" + c.Dir, "GITHUB_ACTION_REPOSITORY=" + c.Repository,
		"RUNNER_OS=" + osName, "RUNNER_ARCH=" + arch}
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			inputs[strings.ToLower(name)] = v
			continue
		}
		job = append(job, k+"="+v)
	}
	stepOutputs := map[string]map[string]string{}
	eval := func(s string) string {
		return expression.ReplaceAllStringFunc(s, func(m string) string {
			expr := expression.FindStringSubmatch(m)[1]
			switch parts := strings.Split(expr, "."); {
			case len(parts) == 2 && parts[0] == "inputs":
				v, ok := inputs[parts[1]]
				if !ok {
					t.Fatalf("${{ %s }}: no such input", expr)
				}
				return v
			case expr == "runner.os":
				return osName
			case expr == "runner.arch":
				return arch
			case expr == "github.action_path":
				return c.Dir
			case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
				return stepOutputs[parts[1]][parts[3]]
			}
			t.Fatalf("the composite harness does not know the expression ${{ %s }}", expr)
			return ""
		})
	}

	var ran Ran
	var stdout, stderr bytes.Buffer
	for i, step := range action.Runs.Steps {
		if step.Shell != "bash" {
			t.Fatalf("step %d: shell %q; the action's steps run in bash on every OS", i+1, step.Shell)
		}
		output := filepath.Join(f.FileCommands, fmt.Sprintf("step_%d_output", i+1))
		write(t, output, "")
		stepEnv := append([]string{}, job...)
		stepEnv = append(stepEnv, "GITHUB_OUTPUT="+output)
		for k, v := range step.Env {
			stepEnv = append(stepEnv, k+"="+eval(v))
		}
		if c.Steps != nil {
			c.Steps(step.ID, stepEnv)
		}
		script := filepath.Join(f.RunnerTemp, fmt.Sprintf("step_%d.sh", i+1))
		write(t, script, eval(step.Run))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = stepEnv, f.Workspace, &stdout, &stderr
		err := cmd.Run()
		cancel()
		if exit, ok := errors.AsType[*exec.ExitError](err); ok {
			ran.Code = exit.ExitCode()
			break
		} else if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		text, err := os.ReadFile(output)
		if err != nil {
			t.Fatal(err)
		}
		if stepOutputs[step.ID], err = ParseOutputs(string(text)); err != nil {
			t.Fatalf("step %s: GITHUB_OUTPUT: %v", step.ID, err)
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
			fmt.Fprintf(out, "%s<<%s\n%s\n%s\n", name, delim, eval(o.Value), delim)
		}
	}
	return ran
}
