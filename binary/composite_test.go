// Package binary holds the tests of the second entry point, binary/action.yml: a
// composite action that downloads the release binary for the runner's OS
// and architecture, verifies it against the checksums committed beside it,
// and runs it with the same inputs as the container action. The tests run
// it as the runner runs a composite action (actiontest.Composite, which
// plays the runner's source: GITHUB_ACTION_REPOSITORY empty in every step,
// github.action_repository only in env: expressions of a remote uses:),
// against the fake API and either a loopback release server reached
// through CFPURGE_DOWNLOAD_URL or, for the default download location, a
// stub curl on PATH that records the URL and never reaches the network;
// every refusal must end with an error annotation. They also check that it
// declares exactly the root action.yml's inputs and outputs.
//
// It has tests only, beside what they test; they import actiontest and
// cloudflaretest.
package binary

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

const (
	zone    = "023e105f4ecef8ad9ca31a8372d0c353"
	token   = "cfut_Bq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_9d1c"
	version = "v0.0.0-test"
)

// binary is the action built for this machine, as the release script
// builds it; asset is its release asset name.
var (
	binary []byte
	asset  = assetOf(version)
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "compositetest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	path, err := actiontest.Build(dir)
	if err == nil {
		binary, err = os.ReadFile(path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the action:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// actionFolder lays out binary/ as a release commit of version has it:
// action.yml and fetch.sh from this checkout, VERSION, checksums.txt
// naming this machine's binary (and a Windows one), and the extra files
// (REPOSITORY).
func actionFolder(t *testing.T, version string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"action.yml", "fetch.sh"} {
		data, err := os.ReadFile(filepath.Join(actiontest.RepoRoot(), "binary", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(binary)
	files := map[string]string{
		"checksums.txt": fmt.Sprintf("%s  %s\n%s  cloudflare-purge-action_%s_windows_amd64.exe\n", hex.EncodeToString(sum[:]), assetOf(version), strings.Repeat("0", 64), version),
		"VERSION":       version + "\n",
	}
	maps.Copy(files, extra)
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// assetOf is the release asset of version for this machine.
func assetOf(version string) string {
	return fmt.Sprintf("cloudflare-purge-action_%s_linux_%s", version, runtime.GOARCH)
}

// release is a loopback release server serving the asset (or other
// bytes) at /VERSION/ASSET, reached through CFPURGE_DOWNLOAD_URL, and an
// action folder whose checksums.txt and VERSION name it.
type release struct {
	url, dir string
	hits     atomic.Int32
}

func newRelease(t *testing.T, served []byte) *release {
	t.Helper()
	r := &release{dir: actionFolder(t, version, map[string]string{"REPOSITORY": "cfpurge/cloudflare-purge-action\n"})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if req.URL.Path != "/"+version+"/"+asset || served == nil {
			http.NotFound(w, req)
			return
		}
		_, _ = w.Write(served) // a client that hung up is the test's to report
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *release) runner(arch string, steps func(id string, env []string)) actiontest.Composite {
	return actiontest.Composite{Dir: r.dir, Uses: "cfpurge/cloudflare-purge-action/binary@" + version, Arch: arch, Steps: steps}
}

func step(fake *cloudflaretest.Server, r *release, kv ...string) actiontest.Step {
	in := map[string]string{"zone-id": zone, "api-token": token, "api-url": fake.BaseURL()}
	for i := 0; i < len(kv); i += 2 {
		in[kv[i]] = kv[i+1]
	}
	return actiontest.Step{Inputs: in, Env: map[string]string{"CFPURGE_DOWNLOAD_URL": r.url}, Files: map[string]string{"urls.txt": "https://www.example.com/b\n"}}
}

// Both entry points give the same outputs and send the same requests for
// the same inputs.
func TestBinaryActionDoesWhatTheContainerActionDoes(t *testing.T) {
	t.Parallel()
	r := newRelease(t, binary)
	bin := filepath.Join(t.TempDir(), "cloudflare-purge-action")
	if err := os.WriteFile(bin, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][]string{
		{"purge-type", "files", "targets", "https://www.example.com/a", "targets-file", "urls.txt"},
		{"purge-type", "tags", "targets", "a\nb\nc", "batch-size", "2", "mode", "invalidate", "concurrency", "1"}, // one at a time: the fake numbers IDs by arrival
		{"purge-type", "everything", "dry-run", "true"},
	} {
		var envs = map[string][]string{}
		composite, direct := cloudflaretest.New(), cloudflaretest.New()
		got := actiontest.Run(t, r.runner("", func(id string, env []string) { envs[id] = env }), step(composite, r, kv...))
		want := actiontest.Run(t, actiontest.Binary{Path: bin}, step(direct, r, kv...))
		composite.Close()
		direct.Close()
		if got.Code != 0 || want.Code != 0 {
			t.Fatalf("%v: exit %d (binary action) and %d (as the container runs it)\n%s%s", kv, got.Code, want.Code, got.Stdout, got.Stderr)
		}
		// The api-url differs (two fakes): compare what does not depend on it.
		if !reflect.DeepEqual(got.Outputs, want.Outputs) || len(got.Outputs) != 8 {
			t.Errorf("%v: outputs\n%v\nwant %v", kv, got.Outputs, want.Outputs)
		}
		if a, b := bodies(composite.Requests()), bodies(direct.Requests()); !slices.Equal(a, b) {
			t.Errorf("%v: requests %q, want %q", kv, a, b)
		}
		actiontest.AssertSecretsOnlyMasked(t, got, false, token)
		// The token goes to the binary's step only, through its
		// environment; the download step gets no input at all.
		for id, env := range envs {
			holds := slices.ContainsFunc(env, func(kv string) bool { return strings.Contains(kv, token) })
			if holds != (id == "run") {
				t.Errorf("%v: step %s env holds the token: %v", kv, id, holds)
			}
			if id == "fetch" && slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "INPUT_") }) {
				t.Errorf("%v: the download step is given inputs", kv)
			}
		}
	}
	if n := r.hits.Load(); n != 3 {
		t.Errorf("release server saw %d downloads, want one a run", n)
	}
}

func bodies(reqs []cloudflaretest.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Path[strings.Index(r.Path, "/zones/"):]+" "+string(r.Body))
	}
	return out
}

// A binary that is not the one checksums.txt names, a missing asset, and
// a runner the release has no binary for all fail with a clear error, and
// run nothing.
func TestBinaryActionRunsNothingUnverified(t *testing.T) {
	t.Parallel()
	tampered := append([]byte{}, binary...)
	tampered[len(tampered)/2] ^= 0xff
	for _, tt := range []struct {
		name      string
		served    []byte
		os, arch  string
		msg       string
		downloads int32
	}{
		{"tampered asset", tampered, "", "", "does not match checksums.txt", 1},
		{"missing asset", nil, "", "", "could not download ", 1},
		{"unknown architecture", binary, "", "X86", "runner architecture 'X86' is not supported", 0},
		{"unknown OS", binary, "FreeBSD", "", "runner OS 'FreeBSD' is not supported", 0},
		{"no binary for this OS in checksums.txt", binary, "macOS", "", "checksums.txt has no SHA-256 for cloudflare-purge-action_" + version + "_darwin_", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRelease(t, tt.served)
			fake := cloudflaretest.New()
			defer fake.Close()
			runner := r.runner(tt.arch, nil)
			runner.OS = tt.os
			res := actiontest.Run(t, runner, step(fake, r, "purge-type", "everything"))
			if res.Code == 0 || len(fake.Requests()) != 0 {
				t.Fatalf("exit %d, %d requests: want a failure and nothing sent\n%s", res.Code, len(fake.Requests()), res.Stdout)
			}
			if !res.HasAnnotation("error", "Cloudflare purge action (binary)", tt.msg) {
				t.Errorf("annotations %+v, want one saying %q", res.Annotations("error"), tt.msg)
			}
			if n := r.hits.Load(); n != tt.downloads {
				t.Errorf("%d downloads, want %d", n, tt.downloads)
			}
			if strings.Contains(res.Stdout+res.Stderr, token) {
				t.Error("the token was printed")
			}
		})
	}
}

// curlStub is a curl on a PATH of its own: it records the URL of each
// call and writes the built binary to its --output, whatever the URL, so
// nothing reaches the network and the test reads where the download went.
type curlStub struct{ dir, log string }

func newCurlStub(t *testing.T) curlStub {
	t.Helper()
	dir := t.TempDir()
	bin, log := filepath.Join(dir, "served"), filepath.Join(dir, "urls.log")
	if err := os.WriteFile(bin, binary, 0o644); err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`#!%s
out= url=
while [ $# -gt 0 ]; do
	case $1 in
	--output) out=$2; shift 2 ;;
	--proto | --proto-redir | --retry) shift 2 ;;
	-*) shift ;;
	*) url=$1; shift ;;
	esac
done
printf '%%s\n' "$url" >>'%s'
'%s' '%s' >"$out"
`, bash, log, cat, bin)
	if err := os.WriteFile(filepath.Join(dir, "curl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return curlStub{dir: dir, log: log}
}

// urls are the URLs curl was called with, in order.
func (c curlStub) urls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(c.log)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// envOf reads one variable of a step's environment.
func envOf(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// As the runner runs it, binary/action.yml downloads from the releases of
// the repository named in uses: (github.action_repository, which only the
// download step's env: sees), or for a local uses: ./binary from the
// repository the release commit records; the version is always the one
// binary/VERSION names. No step has a GITHUB_ACTION_REPOSITORY, and none
// is given CFPURGE_DOWNLOAD_URL.
func TestBinaryActionDownloadsFromTheReleaseOfTheRepositoryInUses(t *testing.T) {
	t.Parallel()
	const v = "v9.8.7"
	for _, tt := range []struct {
		name, uses string
		env        map[string]string // the workflow's env:
		wantRepo   string            // the fetch step's ACTION_REPOSITORY
		want       string
	}{
		{"remote, release tag", "acme/cf-purge/binary@v9.8.7", nil, "acme/cf-purge", "https://github.com/acme/cf-purge/releases/download/v9.8.7/" + assetOf(v)},
		{"remote, major tag", "acme/cf-purge/binary@v9", nil, "acme/cf-purge", "https://github.com/acme/cf-purge/releases/download/v9.8.7/" + assetOf(v)},
		{"a fork's release", "someone/fork/binary@v9.8.7", nil, "someone/fork", "https://github.com/someone/fork/releases/download/v9.8.7/" + assetOf(v)},
		{"local, the workflow's env names another repository", "./binary", map[string]string{"GITHUB_ACTION_REPOSITORY": "evil/repo"}, "", "https://github.com/acme/cf-purge/releases/download/v9.8.7/" + assetOf(v)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := actionFolder(t, v, map[string]string{"REPOSITORY": "acme/cf-purge\n"})
			curl := newCurlStub(t)
			fake := cloudflaretest.New()
			defer fake.Close()
			envs := map[string][]string{}
			runner := actiontest.Composite{Dir: dir, Uses: tt.uses, Steps: func(id string, env []string) { envs[id] = env }}
			env := map[string]string{"PATH": curl.dir + string(os.PathListSeparator) + os.Getenv("PATH")}
			maps.Copy(env, tt.env)
			res := actiontest.Run(t, runner, actiontest.Step{
				Inputs: map[string]string{"zone-id": zone, "api-token": token, "api-url": fake.BaseURL(), "purge-type": "tags", "targets": "a"},
				Env:    env,
			})
			if res.Code != 0 {
				t.Fatalf("exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
			}
			if got := curl.urls(t); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("downloads %q, want %q", got, tt.want)
			}
			if len(fake.Requests()) != 1 || res.Outputs["count"] != "1" {
				t.Errorf("%d requests, count %q: the verified binary did not run the purge", len(fake.Requests()), res.Outputs["count"])
			}
			if len(envs) != 2 {
				t.Fatalf("steps %v, want fetch and run", slices.Collect(maps.Keys(envs)))
			}
			for id, env := range envs {
				for _, name := range []string{"GITHUB_ACTION_REPOSITORY", "GITHUB_ACTION_REF"} {
					if v, ok := envOf(env, name); !ok || v != "" {
						t.Errorf("step %s: %s=%q (set %v), want present and empty as the runner sets it", id, name, v, ok)
					}
				}
				if v, _ := envOf(env, "GITHUB_ACTION_PATH"); v != dir {
					t.Errorf("step %s: GITHUB_ACTION_PATH=%q, want %q", id, v, dir)
				}
				if _, ok := envOf(env, "CFPURGE_DOWNLOAD_URL"); ok {
					t.Errorf("step %s has CFPURGE_DOWNLOAD_URL", id)
				}
			}
			if got, _ := envOf(envs["fetch"], "ACTION_REPOSITORY"); got != tt.wantRepo {
				t.Errorf("the download step's ACTION_REPOSITORY is %q, want %q", got, tt.wantRepo)
			}
		})
	}
}

// Every refusal of the download step ends with an error annotation saying
// why, downloads nothing and runs nothing.
func TestBinaryActionRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	// Only the tools binary/action.yml needs besides curl and a SHA-256 tool.
	tools := t.TempDir()
	for _, name := range []string{"bash", "tr", "awk", "mktemp", "chmod", "rm", "sed"} {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(tools, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name, uses string
		files      map[string]string // beside VERSION and checksums.txt
		version    string
		tools      string // "": this machine's PATH; "no SHA-256": no sha256sum, shasum, certutil; "no curl": neither
		env        map[string]string
		msg        string
	}{
		{"no curl", "acme/cf-purge/binary@v9.8.7", nil, "v9.8.7", "no curl", nil,
			"curl is not on PATH"},
		{"no SHA-256 tool", "acme/cf-purge/binary@v9.8.7", nil, "v9.8.7", "no SHA-256", nil,
			"none of sha256sum, shasum or certutil is on PATH"},
		{"no download location", "./binary", nil, "v9.8.7", "", map[string]string{"GITHUB_ACTION_REPOSITORY": "acme/cf-purge"},
			"no download location: github.action_repository is empty (a local uses: ./binary) and there is no binary/REPOSITORY"},
		{"REPOSITORY not a repository", "./binary", map[string]string{"REPOSITORY": "acme/..\n"}, "v9.8.7", "", nil,
			"'acme/..' (from binary/REPOSITORY) is not a GitHub repository"},
		{"anything unforeseen: no temporary folder", "acme/cf-purge/binary@v9.8.7", nil, "v9.8.7", "", map[string]string{"RUNNER_TEMP": "/nonexistent/runner_temp"},
			`mktemp -d "$tmp/cloudflare-purge-action.XXXXXX")` + "` failed (exit 1); nothing was run"},
		{"VERSION not a version", "acme/cf-purge/binary@v9.8.7", nil, "9.8.7/../x", "", nil,
			"binary/VERSION says '9.8.7/../x', not a release version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := actionFolder(t, tt.version, tt.files)
			curl := newCurlStub(t)
			fake := cloudflaretest.New()
			defer fake.Close()
			path := curl.dir + string(os.PathListSeparator) + os.Getenv("PATH")
			switch tt.tools {
			case "no SHA-256":
				path = curl.dir + string(os.PathListSeparator) + tools
			case "no curl":
				path = tools
			}
			env := map[string]string{"PATH": path}
			maps.Copy(env, tt.env)
			res := actiontest.Run(t, actiontest.Composite{Dir: dir, Uses: tt.uses}, actiontest.Step{
				Inputs: map[string]string{"zone-id": zone, "api-token": token, "api-url": fake.BaseURL(), "purge-type": "everything"},
				Env:    env,
			})
			if res.Code == 0 || len(fake.Requests()) != 0 || len(curl.urls(t)) != 0 {
				t.Fatalf("exit %d, %d requests, downloads %q: want a failure, nothing downloaded or sent\n%s%s", res.Code, len(fake.Requests()), curl.urls(t), res.Stdout, res.Stderr)
			}
			if !res.HasAnnotation("error", "Cloudflare purge action (binary)", tt.msg) {
				t.Errorf("annotations %+v, want one saying %q\n%s", res.Annotations("error"), tt.msg, res.Stderr)
			}
		})
	}
}

// actionYML is what both action.yml files must agree on.
type actionYML struct {
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
}

func TestBothActionsDeclareTheSameInputsAndOutputs(t *testing.T) {
	t.Parallel()
	read := func(path string) actionYML {
		data, err := os.ReadFile(filepath.Join(actiontest.RepoRoot(), path))
		if err != nil {
			t.Fatal(err)
		}
		var a actionYML
		if err := yaml.Unmarshal(data, &a); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return a
	}
	root, binary := read("action.yml"), read("binary/action.yml")
	if len(root.Inputs) < 10 || !reflect.DeepEqual(root.Inputs, binary.Inputs) {
		t.Errorf("inputs differ:\naction.yml        %+v\nbinary/action.yml %+v", root.Inputs, binary.Inputs)
	}
	if len(root.Outputs) < 4 || !reflect.DeepEqual(root.Outputs, binary.Outputs) {
		t.Errorf("outputs differ:\naction.yml        %+v\nbinary/action.yml %+v", root.Outputs, binary.Outputs)
	}
}
