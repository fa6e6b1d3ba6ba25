package compositetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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
	asset  = fmt.Sprintf("cloudflare-purge-action_%s_linux_%s", version, runtime.GOARCH)
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

// release is a loopback release server serving the asset (or other
// bytes) at /VERSION/ASSET, and an action folder whose checksums.txt and
// VERSION name it, as a release commit has them.
type release struct {
	url, dir string
	hits     atomic.Int32
}

func newRelease(t *testing.T, served []byte) *release {
	t.Helper()
	r := &release{dir: t.TempDir()}
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
	for _, name := range []string{"action.yml", "fetch.sh"} {
		data, err := os.ReadFile(filepath.Join(actiontest.RepoRoot(), "binary", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(binary)
	checksums := fmt.Sprintf("%s  %s\n%s  cloudflare-purge-action_%s_windows_amd64.exe\n", hex.EncodeToString(sum[:]), asset, strings.Repeat("0", 64), version)
	for name, text := range map[string]string{"checksums.txt": checksums, "VERSION": version + "\n"} {
		if err := os.WriteFile(filepath.Join(r.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *release) runner(arch string, steps func(id string, env []string)) actiontest.Composite {
	return actiontest.Composite{Dir: r.dir, Arch: arch, Repository: "cfpurge/cloudflare-purge-action", Steps: steps}
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
		if !reflect.DeepEqual(got.Outputs, want.Outputs) || len(got.Outputs) != 7 {
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
		{"missing asset", nil, "", "", "could not download " + asset, 1},
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
