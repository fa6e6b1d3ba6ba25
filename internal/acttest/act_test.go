//go:build act

package acttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/containertest"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

const (
	// actionImage is the image act runs for `uses: ./`, and builds first
	// unless it exists and --rebuild=false is given: execAsDocker in act's
	// pkg/runner/action.go names it "act-" + the action's path ("./") with
	// every character but letters and digits made "-", + "-dockeraction",
	// dashes trimmed on the left, lower-cased. podman stores a short name
	// under localhost/, and finds it there when act asks for the short one.
	actionImage = "act-dockeraction:latest"
	// jobImage is what .ci/act.sh imports for the job (-P ubuntu-latest=).
	jobImage = "localhost/act-job:latest"
	// secretName is the secret the workflows pass as api-token. act reads
	// its value from its own environment (-s NAME), never a command line.
	secretName = "ACTTEST_CF_TOKEN"
	// token shares no run of safetext.MinRun characters with anything
	// else act prints (paths, names), so any such run is a leak.
	token  = "Tq8vZr2LmX4wPb7nKd3"
	zoneID = "023e105f4ecef8ad9ca31a8372d0c353"
	// version is the release binary/action.yml fetches.
	version = "v0.0.0-act"
	// marker starts the line the report step prints.
	marker = "ACTTEST-REPORT|"
	// setUpDeadline bounds the image build and the six release binaries
	// (a few minutes with a cold Go build cache), actDeadline one act run.
	setUpDeadline = 10 * time.Minute
	actDeadline   = 4 * time.Minute
)

var (
	repo     string // the temporary copy with the release commit, act's workdir
	releases string // the release binaries and checksums.txt
)

func TestMain(m *testing.M) {
	code, err := setUp(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acttest:", err)
		code = 1
	}
	os.Exit(code)
}

// setUp checks what .ci/act.sh prepares, makes the repository copy, the
// action's image and the release, runs the tests and cleans up.
func setUp(m *testing.M) (int, error) {
	if os.Getenv("DOCKER_HOST") == "" {
		return 1, errors.New("DOCKER_HOST is not set: run the act tests through bash .ci/act.sh, which starts the podman service act talks to")
	}
	for _, tool := range []string{"act", "podman", "git", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 1, fmt.Errorf("%s is not on PATH: run the act tests through bash .ci/act.sh", tool)
		}
	}
	if err := exec.Command("podman", "image", "exists", jobImage).Run(); err != nil {
		return 1, fmt.Errorf("no job image %s (bash .ci/act.sh makes it): %w", jobImage, err)
	}
	tmp, err := os.MkdirTemp("", "acttest-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	repo, releases = filepath.Join(tmp, "repo"), filepath.Join(tmp, "releases")

	start := time.Now()
	if err := copyRepository(actiontest.RepoRoot(), repo); err != nil {
		return 1, fmt.Errorf("copying the repository: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setUpDeadline)
	defer cancel()
	// From here on the image exists: remove it whatever happens, so that
	// no later run can find a stale one (each run builds its own anyway).
	defer func() { _ = exec.Command("podman", "rmi", "--force", "localhost/"+actionImage).Run() }()
	if err := containertest.BuildFinalStage(ctx, "podman", repo, "localhost/"+actionImage, "acttest", os.Stdout); err != nil {
		return 1, fmt.Errorf("building %s: %w", actionImage, err)
	}
	fmt.Printf("acttest: built %s in %s\n", actionImage, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	if err := releaseCommit(ctx, repo, releases); err != nil {
		return 1, fmt.Errorf("making the release commit: %w", err)
	}
	fmt.Printf("acttest: release commit %s with the six binaries in %s\n", version, time.Since(start).Round(time.Millisecond))
	return m.Run(), nil
}

// run runs name with args in dir and returns its standard output.
func run(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out), nil
}

// gitEnv commits as a fixed author and ignores the machine's git config
// (commit signing, hooks paths).
var gitEnv = []string{
	"GIT_AUTHOR_NAME=acttest", "GIT_AUTHOR_EMAIL=acttest@localhost",
	"GIT_COMMITTER_NAME=acttest", "GIT_COMMITTER_EMAIL=acttest@localhost",
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
}

// copyRepository copies the working tree's tracked and untracked, not
// ignored files (what `git status` would commit) into a new repository at
// dst and commits them: the tests run the code at hand, changes not yet
// committed included, and act reads a commit and a branch as it would in
// a checkout.
func copyRepository(src, dst string) error {
	ctx := context.Background()
	list, err := run(ctx, src, nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return err
	}
	for _, name := range strings.Split(strings.TrimRight(list, "\x00"), "\x00") {
		from := filepath.Join(src, name)
		info, err := os.Lstat(from)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted, not yet committed
		}
		if err != nil {
			return err
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if info.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(from)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		// github.repository, as act reads it from the remote; nothing is fetched.
		{"remote", "add", "origin", "https://github.com/cfpurge/cloudflare-purge-action.git"},
		{"add", "--all"},
		{"commit", "--quiet", "--no-verify", "--message", "acttest: the working tree"},
	} {
		if _, err := run(ctx, dst, gitEnv, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

// releaseCommit makes, on top of the copy, the release commit RELEASE.md
// describes for binary/action.yml: binary/VERSION, binary/checksums.txt
// made by .ci/release-binaries.sh (all six binaries, as a release has
// them: with the Go build cache warm, as after .ci/run's release step,
// that is only six links, about 10 s on two cores; cold, a few minutes)
// and binary/REPOSITORY. It leaves out the release commit's switch of
// action.yml to the registry image: `uses: ./` must run the Dockerfile's
// image built here, and nothing may be pulled.
func releaseCommit(ctx context.Context, repo, out string) error {
	if _, err := run(ctx, repo, nil, "bash", ".ci/release-binaries.sh", version, out); err != nil {
		return err
	}
	sums, err := os.ReadFile(filepath.Join(out, "checksums.txt"))
	if err != nil {
		return err
	}
	for name, text := range map[string]string{
		"VERSION":       version + "\n",
		"checksums.txt": string(sums),
		"REPOSITORY":    "cfpurge/cloudflare-purge-action\n",
	} {
		if err := os.WriteFile(filepath.Join(repo, "binary", name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"add", "binary/VERSION", "binary/checksums.txt", "binary/REPOSITORY"},
		{"commit", "--quiet", "--no-verify", "--message", "Release " + version + " (binary/ only)"},
	} {
		if _, err := run(ctx, repo, gitEnv, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

// workflow is a job that checks out the repository (act copies the local
// folder instead: "Skipping local actions/checkout because workdir was
// already copied"), runs the action as uses, with the token from the
// secret, and then prints the action's outcome and outputs on one line.
// The values pass through env:, so the JSON of results needs no quoting.
func workflow(name, uses, env, with string) string {
	return fmt.Sprintf(`name: %s
on: push
jobs:
  purge:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: purge
        uses: %s%s
        with:
          api-token: ${{ secrets.%s }}
          zone-id: %s
%s
      - name: report
        if: always()
        shell: bash
        env:
          OUTCOME: ${{ steps.purge.outcome }}
          PURGE_ID: ${{ steps.purge.outputs.purge-id }}
          COUNT: ${{ steps.purge.outputs.count }}
          RESULTS: ${{ steps.purge.outputs.results }}
        run: echo "%s$OUTCOME|$PURGE_ID|$COUNT|$RESULTS"
`, name, uses, env, secretName, zoneID, with, marker)
}

// containerWorkflow runs `uses: ./`: a files purge through the fake at api.
func containerWorkflow(name, api string) string {
	return workflow(name, "./", "", fmt.Sprintf(`          purge-type: files
          targets: |
            https://example.com/a.css
            https://example.com/b.js
          api-url: %s`, api))
}

// binaryWorkflow runs `uses: ./binary`, downloading from download: a tags
// purge through the fake at api.
func binaryWorkflow(name, api, download string) string {
	return workflow(name, "./binary", fmt.Sprintf(`
        env:
          CFPURGE_DOWNLOAD_URL: %s`, download), fmt.Sprintf(`          purge-type: tags
          targets: acttest-a, acttest-b
          api-url: %s`, api))
}

// actRun is one run of act.
type actRun struct {
	Code   int
	Output string // stdout and stderr, in order
}

// runAct runs the workflow text with act in dir and returns its output.
// -v: act's debug lines are the only place it says whether it built the
// action's image. act replaces every secret's value with *** in every
// line it logs, debug dumps of the environment included, so the token
// check covers them too.
func runAct(t *testing.T, dir, file, text string) actRun {
	t.Helper()
	path := filepath.Join(dir, ".github", "workflows", file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"push",
		"--workflows", ".github/workflows/" + file,
		"--platform", "ubuntu-latest=" + jobImage,
		"--pull=false",                   // the images are local; there is no registry to ask
		"--rebuild=false",                // use actionImage, do not build the Dockerfile
		"--container-daemon-socket", "-", // no Docker socket in the job container
		"--no-cache-server",
		"--rm", // remove the job's container and volumes when the job failed too
		"--secret", secretName,
		"-v",
	}
	if strings.Contains(strings.Join(args, " "), token) {
		t.Fatal("the token is on act's command line")
	}
	// A home of its own: no actrc or Docker config of this machine's user
	// changes the run, and act's caches start empty.
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), actDeadline)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "act", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		secretName+"="+token,
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		// act asks api.nektosact.com for notices on every run unless told
		// not to: nothing may leave this machine.
		"ACT_DISABLE_VERSION_CHECK=1",
	)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	res := actRun{Output: out.String()}
	if ctx.Err() != nil {
		t.Fatalf("act did not end within %s\n%s", actDeadline, res.Output)
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		res.Code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("act: %v\n%s", err, res.Output)
	}
	t.Logf("act %s: exit %d after %s", file, res.Code, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("act's output:\n%s", res.Output)
		}
	})
	return res
}

// report is what the report step printed.
type report struct {
	Outcome, PurgeID, Count string
	Results                 []struct {
		ZoneID   string   `json:"zone-id"`
		PurgeIDs []string `json:"purge-ids"`
		Count    int      `json:"count"`
		Failed   int      `json:"failed"`
	}
}

// reportLine finds the report step's line in act's output: act prints a
// step's output lines as "[workflow/job]   | line" (its debug dump of the
// step's script holds the marker too, but not after "| ").
func reportLine(t *testing.T, r actRun) report {
	t.Helper()
	var found []string
	for line := range strings.Lines(r.Output) {
		if _, rest, ok := strings.Cut(line, "| "+marker); ok {
			found = append(found, strings.TrimRight(rest, "\r\n"))
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %q line in act's output, found %d: %q", marker, len(found), found)
	}
	f := strings.SplitN(found[0], "|", 4)
	if len(f) != 4 {
		t.Fatalf("report line %q: want outcome|purge-id|count|results", found[0])
	}
	rep := report{Outcome: f[0], PurgeID: f[1], Count: f[2]}
	if f[3] == "" {
		return rep // the action did not run, or wrote no results
	}
	if err := json.Unmarshal([]byte(f[3]), &rep.Results); err != nil {
		t.Fatalf("output results %q is not the JSON array of action.yml: %v", f[3], err)
	}
	return rep
}

// assertPurged checks the report of a successful purge of n targets, the
// fake's first answer.
func assertPurged(t *testing.T, rep report, n int) {
	t.Helper()
	if rep.Outcome != "success" {
		t.Errorf("steps.purge.outcome = %q, want success", rep.Outcome)
	}
	if want := cloudflaretest.ID(0); rep.PurgeID != want {
		t.Errorf("output purge-id = %q, want %q (the fake's answer)", rep.PurgeID, want)
	}
	if want := fmt.Sprint(n); rep.Count != want {
		t.Errorf("output count = %q, want %s", rep.Count, want)
	}
	if len(rep.Results) != 1 {
		t.Fatalf("output results has %d zones, want 1: %+v", len(rep.Results), rep.Results)
	}
	z := rep.Results[0]
	if z.ZoneID != zoneID || z.Count != n || z.Failed != 0 || !slices.Equal(z.PurgeIDs, []string{cloudflaretest.ID(0)}) {
		t.Errorf("output results[0] = %+v, want zone %s, count %d, failed 0, purge-ids [%s]", z, zoneID, n, cloudflaretest.ID(0))
	}
}

// assertOneRequest checks that the fake got exactly one purge: POST to
// the zone with the token, and a body of key: want.
func assertOneRequest(t *testing.T, fake *cloudflaretest.Server, key string, want []string) {
	t.Helper()
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the fake got %d purge requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/client/v4/zones/"+zoneID+"/purge_cache" {
		t.Errorf("request %s %s, want POST /client/v4/zones/%s/purge_cache", r.Method, r.Path, zoneID)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q, want the secret's token", got)
	}
	var body map[string][]string
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || !slices.Equal(body[key], want) {
		t.Errorf("request body %s, want {%q: %q}", r.Body, key, want)
	}
	if n := len(fake.Lookups()); n != 0 {
		t.Errorf("the fake got %d lookups, want none (a zone-id needs none)", n)
	}
}

// assertLocalCheckout checks that act replaced actions/checkout by a copy
// of the local folder rather than fetching the action.
func assertLocalCheckout(t *testing.T, r actRun) {
	t.Helper()
	if !strings.Contains(r.Output, "Skipping local actions/checkout because workdir was already copied") ||
		!strings.Contains(r.Output, "Success - Main actions/checkout@v4") {
		t.Error("act did not replace actions/checkout@v4 by a copy of the local folder")
	}
}

// assertQuiet checks act's output for the token (the whole of it, or any
// run of safetext.MinRun of its characters: act masks only the whole
// value) and for attempts to reach the network, which act logs. When the
// action ran, act must have shown the token masked (***).
func assertQuiet(t *testing.T, r actRun, ran bool) {
	t.Helper()
	for i := 0; i+safetext.MinRun <= len(token); i++ {
		if run := token[i : i+safetext.MinRun]; strings.Contains(r.Output, run) {
			t.Errorf("act's output holds %q of the token", run)
			break
		}
	}
	if ran && !strings.Contains(r.Output, "***") {
		t.Error("act's output never shows the masked token (***): was the secret passed?")
	}
	for line := range strings.Lines(r.Output) {
		if strings.Contains(line, "dial tcp") || strings.Contains(line, "no such host") {
			t.Errorf("act tried the network: %s", strings.TrimSpace(line))
		}
	}
}

var existsLine = regexp.MustCompile(`image '([^']+)' for architecture '[^']*' (already exists|will be built from context)`)

// TestContainerAction runs `uses: ./` and checks that act ran the image
// TestMain built rather than building the Dockerfile, and what it did.
func TestContainerAction(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()

	r := runAct(t, repo, "acttest-container.yml", containerWorkflow("acttest container", fake.BaseURL()))

	// act's debug line says whether it found the image under the name it
	// derives or builds it; with act v0.2.89 it says
	// "[acttest container/purge] [DEBUG] image 'act-dockeraction:latest'
	// for architecture '' already exists": act ran the image built here.
	// A build could not work here (the builder's base image cannot be
	// pulled, and .ci/act.sh runs this without a network), but it must not
	// go unnoticed: the test fails on this line whatever else happened.
	m := existsLine.FindAllStringSubmatch(r.Output, -1)
	if len(m) != 1 || m[0][1] != actionImage || m[0][2] != "already exists" {
		t.Errorf("want act's one debug line \"image '%s' for architecture '' already exists\" (it used the image built here), got %q", actionImage, m)
	}
	if r.Code != 0 {
		t.Fatalf("act exit %d, want 0", r.Code)
	}
	assertLocalCheckout(t, r)
	assertPurged(t, reportLine(t, r), 2)
	assertOneRequest(t, fake, "files", []string{"https://example.com/a.css", "https://example.com/b.js"})
	assertQuiet(t, r, true)
}

// downloads serves the release binaries under /download/VERSION/ on
// loopback, as a mirror of GitHub's release downloads, and records what
// was asked.
type downloads struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func serveDownloads(dir string) *downloads {
	d := &downloads{}
	files := http.StripPrefix("/download/"+version+"/", http.FileServer(http.Dir(dir)))
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.paths = append(d.paths, r.Method+" "+r.URL.Path)
		d.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	return d
}

func (d *downloads) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.paths)
}

// TestBinaryAction runs `uses: ./binary` of the release commit: fetch.sh
// downloads the binary for the job's OS and architecture from the
// loopback mirror (CFPURGE_DOWNLOAD_URL), checks it against the committed
// checksums.txt, and the binary purges.
func TestBinaryAction(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	mirror := serveDownloads(releases)
	defer mirror.Close()

	r := runAct(t, repo, "acttest-binary.yml", binaryWorkflow("acttest binary", fake.BaseURL(), mirror.URL+"/download"))

	if r.Code != 0 {
		t.Fatalf("act exit %d, want 0", r.Code)
	}
	asset := fmt.Sprintf("cloudflare-purge-action_%s_linux_%s", version, runtime.GOARCH)
	if got, want := mirror.requests(), []string{"GET /download/" + version + "/" + asset}; !slices.Equal(got, want) {
		t.Errorf("the mirror got %q, want %q", got, want)
	}
	if !strings.Contains(r.Output, "Verified "+asset+" ("+version+", SHA-256 ") {
		t.Errorf("no line of fetch.sh saying it verified %s", asset)
	}
	assertLocalCheckout(t, r)
	assertPurged(t, reportLine(t, r), 2)
	assertOneRequest(t, fake, "tags", []string{"acttest-a", "acttest-b"})
	assertQuiet(t, r, true)
}

// TestPlantedExpressionFailsTheRun plants ${{ github.sha }} in an input's
// description, in a copy of the repository, and runs the same workflows:
// the GitHub runner refuses to load such an action, act refuses it as well
// (in its own words), and the run must fail before the action does
// anything: a load failure fails CI.
func TestPlantedExpressionFailsTheRun(t *testing.T) {
	t.Parallel()
	const described = "description: Account email for legacy Global API Key auth (with api-key)."
	const planted = "description: Account email for legacy Global API Key auth (with api-key) at ${{ github.sha }}."
	for _, c := range []struct{ name, file, uses string }{
		{"container", "action.yml", "./"},
		{"binary", "binary/action.yml", "./binary"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := cloudflaretest.New()
			defer fake.Close()
			mirror := serveDownloads(releases)
			defer mirror.Close()

			dir := filepath.Join(t.TempDir(), "repo")
			if out, err := exec.Command("cp", "-a", repo, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			path := filepath.Join(dir, filepath.FromSlash(c.file))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			before, _, ok := strings.Cut(string(data), described)
			if !ok {
				t.Fatalf("%s has no line %q to plant the expression in", c.file, described)
			}
			line := strings.Count(before, "\n") + 1
			if err := os.WriteFile(path, []byte(strings.Replace(string(data), described, planted, 1)), 0o644); err != nil {
				t.Fatal(err)
			}

			text := containerWorkflow("acttest planted container", fake.BaseURL())
			if c.name == "binary" {
				text = binaryWorkflow("acttest planted binary", fake.BaseURL(), mirror.URL+"/download")
			}
			r := runAct(t, dir, "acttest-planted.yml", text)

			if r.Code == 0 {
				t.Fatalf("act exit 0 with ${{ github.sha }} in an input description of %s, want a failure", c.file)
			}
			// act's schema check of action.yml says where, and act fails
			// the step that uses the action.
			want := regexp.MustCompile(fmt.Sprintf(`(?m)Line: %d Column \d+: expressions are not allowed here$`, line))
			if !want.MatchString(r.Output) {
				t.Errorf("act's output does not refuse %s at line %d: want a line matching %s", c.file, line, want)
			}
			if !strings.Contains(r.Output, "Failure - Main "+c.uses+" [") {
				t.Errorf("act's output does not say that the step uses: %s failed", c.uses)
			}
			// Like the GitHub runner for a local action (a remote one it
			// loads in "Set up job", failing the job before any step), act
			// reads action.yml when the step comes: the checkout step ran,
			// this step failed, and the report step (if: always()) still
			// ran and saw the failure.
			if rep := reportLine(t, r); rep.Outcome != "failure" {
				t.Errorf("steps.purge.outcome = %q, want failure", rep.Outcome)
			}
			if n := len(fake.Requests()) + len(fake.Lookups()); n != 0 {
				t.Errorf("the fake got %d requests, want none: the action must not have run", n)
			}
			if got := mirror.requests(); len(got) != 0 {
				t.Errorf("the mirror got %q, want nothing: the action must not have run", got)
			}
			assertQuiet(t, r, false)
		})
	}
}
