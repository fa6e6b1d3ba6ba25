package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.yaml.in/yaml/v3"

	"github.com/cfpurge/cloudflare-purge-action/internal/clocktest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/command"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// The end-to-end harness builds the binary once and runs it the way
// GitHub's runner runs a container action: every input of action.yml
// exported as INPUT_<NAME> (hyphens kept), empty when not given, with the
// defaults of action.yml; GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files; a
// clean environment; the working directory a workspace folder.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cpa-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cloudflare-purge-action")
	build := exec.Command("go", "build", "-o", binary, "-ldflags", "-X main.version=e2e", ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the action:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// actionYML is the part of action.yml the harness needs.
type actionYML struct {
	Inputs map[string]struct {
		Default  *string `yaml:"default"`
		Required bool    `yaml:"required"`
	} `yaml:"inputs"`
	Outputs map[string]any `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

func readActionYML(t testing.TB) actionYML {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionYML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// step is one run of the action.
type step struct {
	inputs map[string]string // given in `with:`
	env    map[string]string // the workflow's env:
	files  map[string]string // written into the workspace first
	debug  bool              // RUNNER_DEBUG=1
	// timeout bounds the process; the harness fails the test past it.
	timeout time.Duration
	// setup may change the workspace before the run (symlinks, folders).
	setup func(t *testing.T, workspace string)
	// inProcess runs command.Run in the test process, with the same
	// environment, files and folders, instead of the built binary: for
	// values no exec can carry (a NUL byte, a variable over Linux's 128 KiB),
	// and for retry cases, which get a virtual clock so they never sleep.
	inProcess bool
	// outputPath replaces GITHUB_OUTPUT's path (relative to the temp root).
	outputPath string
}

// run is what a step left behind.
type run struct {
	code     int
	stdout   string
	stderr   string
	outputs  map[string]string
	summary  string
	took     time.Duration
	requests []cloudflaretest.Request
}

// runStep runs the binary against fake (whose URL becomes api-url unless
// the step sets one).
func runStep(t *testing.T, fake *cloudflaretest.Server, s step) run {
	t.Helper()
	root := t.TempDir()
	workspace := filepath.Join(root, "workspace")
	fileCommands := filepath.Join(root, "file_commands")
	for _, d := range []string{workspace, fileCommands, filepath.Join(root, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range s.files {
		path := filepath.Join(workspace, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if s.setup != nil {
		s.setup(t, workspace)
	}
	outputFile := filepath.Join(fileCommands, "set_output")
	if s.outputPath != "" {
		outputFile = filepath.Join(root, s.outputPath)
	}
	summaryFile := filepath.Join(fileCommands, "step_summary")
	for _, f := range []string{outputFile, summaryFile} {
		if _, err := os.Stat(f); err == nil {
			continue // made by setup
		}
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	env := []string{
		"HOME=" + filepath.Join(root, "home"),
		"GITHUB_ACTIONS=true",
		"CI=true",
		"GITHUB_WORKSPACE=" + workspace,
		"GITHUB_OUTPUT=" + outputFile,
		"GITHUB_STEP_SUMMARY=" + summaryFile,
		"GITHUB_ENV=" + filepath.Join(fileCommands, "set_env"),
		"GITHUB_PATH=" + filepath.Join(fileCommands, "add_path"),
		"GITHUB_STATE=" + filepath.Join(fileCommands, "save_state"),
		"RUNNER_TEMP=" + filepath.Join(root, "runner_temp"),
	}
	if s.debug {
		env = append(env, "RUNNER_DEBUG=1")
	}
	given := map[string]string{}
	for k, v := range s.inputs {
		given[k] = v
	}
	if _, ok := given["api-url"]; !ok && fake != nil {
		given["api-url"] = fake.BaseURL()
	}
	for name, in := range readActionYML(t).Inputs {
		v, ok := given[name]
		if !ok && in.Default != nil {
			v = *in.Default
		}
		delete(given, name)
		env = append(env, "INPUT_"+strings.ToUpper(name)+"="+v)
	}
	if len(given) > 0 {
		t.Fatalf("the step gives inputs action.yml does not declare: %v", given)
	}
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}

	timeout := s.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if s.inProcess {
		r := runInProcess(t, env, workspace, timeout)
		return finishRun(t, r, outputFile, summaryFile, fake)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Env = env
	cmd.Dir = workspace
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("the action did not end within %s\nstdout:\n%s", timeout, r.stdout)
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return finishRun(t, r, outputFile, summaryFile, fake)
}

func finishRun(t *testing.T, r run, outputFile, summaryFile string, fake *cloudflaretest.Server) run {
	t.Helper()
	if out, err := os.ReadFile(outputFile); err == nil {
		r.outputs = parseOutputs(t, string(out))
	}
	sum, _ := os.ReadFile(summaryFile)
	r.summary = string(sum)
	if fake != nil {
		r.requests = fake.Requests()
	}
	return r
}

// runInProcess runs command.Run with the environment env, a virtual clock
// (sleeps pass at once) and a constant one-second backoff.
func runInProcess(t *testing.T, env []string, workspace string, timeout time.Duration) run {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	start := time.Now()
	go func() {
		done <- command.Run(context.Background(), command.Env{
			Getenv: func(k string) string { return vars[k] }, Stdout: &stdout, Stderr: &stderr,
			WorkDir: workspace, Version: "e2e", Clock: clocktest.New(time.Now(), true),
			NewBackOff: func() purge.BackOff { return backoff.NewConstantBackOff(time.Second) },
		})
	}()
	select {
	case code := <-done:
		return run{code: code, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	case <-time.After(timeout):
		t.Fatalf("the action did not end within %s", timeout)
		return run{}
	}
}

// parseOutputs reads GITHUB_OUTPUT: name=value or name<<DELIM ... DELIM.
func parseOutputs(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("GITHUB_OUTPUT: %s has no closing delimiter", name)
			}
			out[name] = strings.Join(value, "\n")
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT: bad line %q", line)
		}
		out[name] = value
	}
	return out
}

// annotation is one ::error/::warning line, decoded.
type annotation struct {
	level, title, message string
}

func (r run) annotations(level string) []annotation {
	var out []annotation
	for _, line := range strings.Split(r.stdout, "\n") {
		if !strings.HasPrefix(line, "::"+level) {
			continue
		}
		rest := strings.TrimPrefix(line, "::"+level)
		props, msg, _ := strings.Cut(rest, "::")
		a := annotation{level: level, message: unescapeData(msg)}
		for _, kv := range strings.Split(strings.TrimSpace(props), ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == "title" {
				a.title = unescapeProperty(v)
			}
		}
		out = append(out, a)
	}
	return out
}

func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func unescapeProperty(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}

// assertSecretsOnlyMasked checks that each secret appears in the log only
// as the whole of an ::add-mask:: line, that the mask lines come before
// anything else, and that no output or summary holds it.
func assertSecretsOnlyMasked(t *testing.T, r run, secrets ...string) {
	t.Helper()
	lines := strings.Split(r.stdout, "\n")
	masks := 0
	for i, line := range lines {
		if strings.HasPrefix(line, "::add-mask::") {
			if i != masks {
				t.Errorf("mask line %d comes after other output", i+1)
			}
			masks++
			continue
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("secret %q printed in log line %d: %q", s, i+1, line)
			}
		}
	}
	for _, s := range secrets {
		if !strings.Contains(r.stdout, "::add-mask::"+s+"\n") {
			t.Errorf("secret %q was never masked", s)
		}
		if strings.Contains(r.stderr, s) || strings.Contains(r.summary, s) {
			t.Errorf("secret %q in stderr or the step summary", s)
		}
		for k, v := range r.outputs {
			if strings.Contains(v, s) {
				t.Errorf("secret %q in output %s", s, k)
			}
		}
	}
}
