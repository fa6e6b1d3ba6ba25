package actiontest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// Step is one use of the action in a workflow.
type Step struct {
	Inputs map[string]string // `with:`; an input not named gets action.yml's default
	Env    map[string]string // the workflow's `env:`
	Files  map[string]string // written into the workspace first
	Debug  bool              // step debug logging (RUNNER_DEBUG=1)
	// GitHubToken is github.token, which an input's default
	// ${{ github.token }} evaluates to (empty unless a test sets it).
	GitHubToken string
	// Setup may change the workspace before the run (links, folders).
	Setup func(t testing.TB, workspace string)
	// OutputPath replaces GITHUB_OUTPUT's path (relative to Folders.Root).
	OutputPath string
	// Local runs the action as a person would outside Actions: Args as
	// flags, no GITHUB_* variables, no inputs, only Env.
	Local bool
	Args  []string
}

// Folders are a step's folders on this machine.
type Folders struct {
	Root, Workspace, FileCommands, Home, Workflow, RunnerTemp string
}

// Ran is what a Runner saw of one run.
type Ran struct {
	Code           int
	Stdout, Stderr string
}

// Runner runs the action once.
type Runner interface {
	// Visible is where the action sees dir, one of f's folders: the
	// folder itself, or where a container mounts it.
	Visible(f Folders, dir string) string
	// Run runs the action in f.Workspace with exactly env and args.
	Run(t testing.TB, f Folders, env map[string]string, args []string) Ran
}

// Result is what a step left behind.
type Result struct {
	Ran
	Folders Folders
	Outputs map[string]string
	Summary string
}

// RepoRoot is the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ActionYML is the repository's action.yml, loaded as the runner loads
// it (Load): a file the runner would refuse fails the test here, before
// any run.
func ActionYML(t testing.TB) []byte {
	t.Helper()
	return MustLoad(t, filepath.Join(RepoRoot(), "action.yml"))
}

// Spec is action.yml's table of inputs.
func Spec(t testing.TB) config.Spec {
	t.Helper()
	spec, err := config.ParseSpec(ActionYML(t))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// Run lays out the step, runs it with r and reads back what it left.
func Run(t testing.TB, r Runner, s Step) Result {
	t.Helper()
	root := t.TempDir()
	f := Folders{
		Root:         root,
		Workspace:    filepath.Join(root, "workspace"),
		FileCommands: filepath.Join(root, "file_commands"),
		Home:         filepath.Join(root, "home"),
		Workflow:     filepath.Join(root, "workflow"),
		RunnerTemp:   filepath.Join(root, "runner_temp"),
	}
	for _, d := range []string{f.Workspace, f.FileCommands, f.Home, f.Workflow, f.RunnerTemp} {
		mkdir(t, d)
	}
	for name, text := range s.Files {
		path := filepath.Join(f.Workspace, name)
		mkdir(t, filepath.Dir(path))
		write(t, path, text)
	}
	write(t, filepath.Join(f.Workflow, "event.json"), "{}")
	if s.Setup != nil {
		s.Setup(t, f.Workspace)
	}
	outputFile := filepath.Join(f.FileCommands, "set_output_1")
	if s.OutputPath != "" {
		outputFile = filepath.Join(root, s.OutputPath)
	}
	summaryFile := filepath.Join(f.FileCommands, "step_summary_1")
	fileCommands := map[string]string{
		"GITHUB_OUTPUT": outputFile, "GITHUB_STEP_SUMMARY": summaryFile,
		"GITHUB_ENV": filepath.Join(f.FileCommands, "set_env_1"), "GITHUB_PATH": filepath.Join(f.FileCommands, "add_path_1"),
		"GITHUB_STATE": filepath.Join(f.FileCommands, "save_state_1"),
	}

	env := map[string]string{"HOME": r.Visible(f, f.Home)}
	if !s.Local {
		for name, path := range fileCommands {
			if _, err := os.Stat(path); err != nil { // unless Setup made it
				write(t, path, "")
			}
			env[name] = r.Visible(f, filepath.Dir(path)) + "/" + filepath.Base(path)
		}
		env["GITHUB_ACTIONS"] = "true"
		env["CI"] = "true"
		env["GITHUB_WORKSPACE"] = r.Visible(f, f.Workspace)
		env["GITHUB_EVENT_PATH"] = r.Visible(f, f.Workflow) + "/event.json"
		env["RUNNER_TEMP"] = r.Visible(f, f.RunnerTemp)
		given := map[string]string{}
		for k, v := range s.Inputs {
			given[k] = v
		}
		for _, in := range Spec(t).Inputs {
			v, ok := given[in.Name]
			if !ok {
				v = evalDefault(t, in, s.GitHubToken)
			}
			delete(given, in.Name)
			env["INPUT_"+strings.ToUpper(strings.ReplaceAll(in.Name, " ", "_"))] = v
		}
		if len(given) > 0 {
			t.Fatalf("the step gives inputs action.yml does not declare: %v", given)
		}
	}
	if s.Debug {
		env["RUNNER_DEBUG"] = "1"
	}
	for k, v := range s.Env {
		env[k] = v
	}

	res := Result{Ran: r.Run(t, f, env, s.Args), Folders: f}
	if !s.Local {
		if out, err := os.ReadFile(outputFile); err == nil {
			if res.Outputs, err = ParseOutputs(string(out)); err != nil {
				t.Fatalf("GITHUB_OUTPUT: %v\n%s", err, out)
			}
		}
		sum, _ := os.ReadFile(summaryFile)
		res.Summary = string(sum)
	}
	return res
}

// evalDefault is an input's default as the runner gives it: its
// expressions evaluated (ActionRunner.cs, EvaluateDefaultInput). The
// harness knows github.token alone; any other expression fails the test,
// so a default cannot grow past what is played.
func evalDefault(t testing.TB, in config.Input, gitHubToken string) string {
	t.Helper()
	return expression.ReplaceAllStringFunc(in.Default, func(m string) string {
		if e := expression.FindStringSubmatch(m)[1]; e != "github.token" {
			t.Fatalf("input %s: the harness does not evaluate the default's ${{ %s }}", in.Name, e)
		}
		return gitHubToken
	})
}

func mkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ParseOutputs reads a GITHUB_OUTPUT file as the runner does: name=value
// lines and name<<DELIM ... DELIM blocks.
func ParseOutputs(text string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				return nil, fmt.Errorf("%s: no closing %s", name, delim)
			}
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("output %s written twice", name)
			}
			out[name] = strings.Join(value, "\n")
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %q is neither name=value nor name<<DELIM", line)
		}
		out[name] = value
	}
	return out, nil
}

// Annotation is one ::error, ::warning or ::notice line, decoded.
type Annotation struct {
	Level, Title, Message string
}

// Annotations lists the run's annotations of one level ("error").
func (r Result) Annotations(level string) []Annotation {
	var out []Annotation
	for _, line := range strings.Split(r.Stdout, "\n") {
		rest, ok := strings.CutPrefix(line, "::"+level)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != ':') {
			continue
		}
		props, msg, _ := strings.Cut(rest, "::")
		a := Annotation{Level: level, Message: unescapeData(msg)}
		for _, kv := range strings.Split(strings.TrimSpace(props), ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == "title" {
				a.Title = unescapeProperty(v)
			}
		}
		out = append(out, a)
	}
	return out
}

// HasAnnotation reports whether an annotation of level has exactly title
// and a message holding msg.
func (r Result) HasAnnotation(level, title, msg string) bool {
	for _, a := range r.Annotations(level) {
		if a.Title == title && strings.Contains(a.Message, msg) {
			return true
		}
	}
	return false
}

func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func unescapeProperty(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}

// AssertSecretsOnlyMasked checks every sink for each secret: in Actions
// it appears in the log only as the whole of an ::add-mask:: line, those
// lines come first, and no run of safetext.MinRun characters of it is in
// any other log line, stderr, an output or the summary. Outside Actions
// (local) there is no mask line either.
func AssertSecretsOnlyMasked(t testing.TB, r Result, local bool, secrets ...string) {
	t.Helper()
	lines := strings.Split(r.Stdout, "\n")
	masks := 0
	for i, line := range lines {
		if strings.HasPrefix(line, "::add-mask::") && !local {
			if i != masks {
				t.Errorf("mask line %d comes after other output", i+1)
			}
			masks++
			continue
		}
		for _, s := range secrets {
			if run := leakedRun(line, s); run != "" {
				t.Errorf("log line %d holds %q of a secret: %q", i+1, run, line)
			}
		}
	}
	for _, s := range secrets {
		if !local && !strings.Contains(r.Stdout, "::add-mask::"+s+"\n") {
			t.Errorf("secret %q was never masked", s)
		}
		sinks := map[string]string{"stderr": r.Stderr, "the step summary": r.Summary}
		for k, v := range r.Outputs {
			sinks["output "+k] = v
		}
		for where, text := range sinks {
			if run := leakedRun(text, s); run != "" {
				t.Errorf("%s holds %q of a secret", where, run)
			}
		}
	}
}

// leakedRun is the first run of safetext.MinRun bytes of secret found in
// text (the whole secret when it is shorter), or "".
func leakedRun(text, secret string) string {
	if len(secret) < safetext.MinRun {
		if strings.Contains(text, secret) {
			return secret
		}
		return ""
	}
	for i := 0; i+safetext.MinRun <= len(secret); i++ {
		if run := secret[i : i+safetext.MinRun]; strings.Contains(text, run) {
			return run
		}
	}
	return ""
}
