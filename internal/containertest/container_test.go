//go:build container

package containertest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

const (
	// maxImageBytes bounds the image, so that pulling it costs a user's
	// job next to nothing: 8 MB was the first target; reading sitemaps
	// (encoding/xml, compress/gzip) and the token check took it to
	// 8.2 MB, and 9 MB leaves room without letting it drift unseen.
	maxImageBytes = 9_000_000
	binaryName    = BinaryName
	builtTag      = "localhost/cloudflare-purge-action:containertest"
	token         = "containertest-secret-token-Zx81"
	zoneID        = "023e105f4ecef8ad9ca31a8372d0c353"
	runnerUID     = 1001 // the runner's user on GitHub's hosted runners
	cmdDeadline   = 3 * time.Minute
)

var (
	engine = "podman"
	image  string
	root   string
)

// TestMain builds the image once (unless CONTAINERTEST_IMAGE names one)
// and removes it afterwards.
func TestMain(m *testing.M) {
	if e := os.Getenv("CONTAINERTEST_ENGINE"); e != "" {
		engine = e
	}
	var err error
	if root, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		fmt.Fprintln(os.Stderr, "containertest:", err)
		os.Exit(1)
	}
	image = os.Getenv("CONTAINERTEST_IMAGE")
	built := image == ""
	if built {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), cmdDeadline)
		err := BuildFinalStage(ctx, engine, root, builtTag, "containertest", os.Stdout)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "containertest: building the image:", err)
			os.Exit(1)
		}
		image = builtTag
		fmt.Printf("containertest: built %s from the Dockerfile's final stage with %s in %s\n", image, engine, time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	if built {
		_ = exec.Command(engine, "rmi", "--force", image).Run() // best effort: the next run overwrites the tag anyway
	}
	os.Exit(code)
}

func engineOutput(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdDeadline)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, engine, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", engine, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func TestImageSize(t *testing.T) {
	size, err := strconv.ParseInt(engineOutput(t, "image", "inspect", "--format", "{{.Size}}", image), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %d bytes (%.2f MB, %.2f MiB)", size, float64(size)/1e6, float64(size)/(1<<20))
	if size >= maxImageBytes {
		t.Errorf("image is %d bytes, want under %d", size, maxImageBytes)
	}
}

// TestImageConfig checks what the runner relies on: root, no working
// directory of the image's own, an exec-form entrypoint at an absolute
// path, and no CMD that would become the action's arguments.
func TestImageConfig(t *testing.T) {
	var cfg struct {
		User       string
		WorkingDir string
		Entrypoint []string
		Cmd        []string
	}
	if err := json.Unmarshal([]byte(engineOutput(t, "image", "inspect", "--format", "{{json .Config}}", image)), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.User != "" && cfg.User != "root" && cfg.User != "0" && cfg.User != "0:0" {
		t.Errorf("User = %q, want root: the runner's file-command files belong to another user", cfg.User)
	}
	if cfg.WorkingDir != "" && cfg.WorkingDir != "/" {
		t.Errorf("WorkingDir = %q, want none: the runner sets --workdir", cfg.WorkingDir)
	}
	if want := []string{"/" + binaryName}; !slices.Equal(cfg.Entrypoint, want) {
		t.Errorf("Entrypoint = %q, want %q", cfg.Entrypoint, want)
	}
	if len(cfg.Cmd) > 0 {
		t.Errorf("Cmd = %q, want none", cfg.Cmd)
	}
}

// TestImageHoldsOnlyBinaryAndCABundle reads every layer of the saved image.
func TestImageHoldsOnlyBinaryAndCABundle(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "image.tar")
	engineOutput(t, "save", "--output", archive, image)
	files, err := imageFiles(archive)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	want := []string{binaryName, "etc/ssl/certs/ca-certificates.crt"}
	if !slices.Equal(names, want) {
		t.Fatalf("image files = %q, want only %q", names, want)
	}
	if files[binaryName].Mode&0o111 == 0 {
		t.Errorf("%s mode %o, want executable", binaryName, files[binaryName].Mode)
	}
	if files["etc/ssl/certs/ca-certificates.crt"].Size < 10_000 {
		t.Errorf("CA bundle is %d bytes, want a real bundle", files["etc/ssl/certs/ca-certificates.crt"].Size)
	}
}

// imageFiles lists the regular files and links of an image saved with
// `save` (docker-archive or Docker's OCI-compatible layout: both have a
// manifest.json naming the layers), applying whiteouts layer by layer.
func imageFiles(archive string) (map[string]*tar.Header, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			entries[path.Clean(h.Name)] = data
		}
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(manifest) != 1 {
		return nil, fmt.Errorf("manifest.json: want one image, got %d", len(manifest))
	}
	files := map[string]*tar.Header{}
	for _, layer := range manifest[0].Layers {
		data, ok := entries[path.Clean(layer)]
		if !ok {
			return nil, fmt.Errorf("layer %s missing from the archive", layer)
		}
		var r io.Reader = bytes.NewReader(data)
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			if r, err = gzip.NewReader(r); err != nil {
				return nil, err
			}
		}
		lr := tar.NewReader(r)
		for {
			h, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", layer, err)
			}
			name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
			dir, base := path.Split(name)
			switch {
			case base == ".wh..wh..opq":
				for n := range files {
					if strings.HasPrefix(n, dir) {
						delete(files, n)
					}
				}
			case strings.HasPrefix(base, ".wh."):
				delete(files, dir+strings.TrimPrefix(base, ".wh."))
			case h.Typeflag != tar.TypeDir:
				files[name] = h
			}
		}
	}
	return files, nil
}

// containerRunner runs the image as the runner does: the step's
// environment passed through the engine's environment rather than its
// command line, the workspace, file-command, home, workflow and
// runner-temp folders mounted at the runner's paths and owned by the
// runner's user, --workdir /github/workspace, --rm. --network host is the
// one addition: it lets the container reach the fake API on this
// machine's loopback.
type containerRunner struct{}

// mounts are where the runner mounts a step's folders.
func mounts(f actiontest.Folders) [][2]string {
	return [][2]string{
		{f.Workspace, "/github/workspace"},
		{f.FileCommands, "/github/file_commands"},
		{f.Home, "/github/home"},
		{f.Workflow, "/github/workflow"},
		{f.RunnerTemp, "/github/runner_temp"},
	}
}

// Visible is where the container mounts dir.
func (containerRunner) Visible(f actiontest.Folders, dir string) string {
	for _, m := range mounts(f) {
		if m[0] == dir {
			return m[1]
		}
	}
	panic("containertest: " + dir + " is not one of the step's mounted folders")
}

// Run runs the image once with exactly env (and args after the image).
func (containerRunner) Run(t testing.TB, f actiontest.Folders, env map[string]string, args []string) actiontest.Ran {
	t.Helper()
	if os.Geteuid() == 0 {
		// As on a hosted runner, the mounted files belong to the runner's
		// user, not to the container's root.
		for _, m := range mounts(f) {
			err := filepath.WalkDir(m[0], func(p string, _ os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, runnerUID, runnerUID)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	runArgs := []string{"run", "--workdir", "/github/workspace", "--rm"}
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	cmdEnv := os.Environ()
	for _, name := range names {
		runArgs = append(runArgs, "-e", name)
		cmdEnv = append(cmdEnv, name+"="+env[name])
	}
	for _, m := range mounts(f) {
		runArgs = append(runArgs, "-v", m[0]+":"+m[1])
	}
	runArgs = append(runArgs, "--network", "host", image)
	runArgs = append(runArgs, args...)
	if strings.Contains(strings.Join(runArgs, " "), token) {
		t.Errorf("the token is on the engine's command line")
	}

	ctx, cancel := context.WithTimeout(context.Background(), cmdDeadline)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, engine, runArgs...)
	cmd.Env = cmdEnv
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ran := actiontest.Ran{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s run did not end within %s\nstdout:\n%s\nstderr:\n%s", engine, cmdDeadline, ran.Stdout, ran.Stderr)
	}
	exit, exited := errors.AsType[*exec.ExitError](err)
	switch {
	case exited:
		ran.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s run: %v\n%s", engine, err, ran.Stderr)
	}
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", ran.Code, ran.Stdout, ran.Stderr)
	return ran
}

func TestPurgeWritesOutputs(t *testing.T) {
	fake := cloudflaretest.New()
	defer fake.Close()

	res := actiontest.Run(t, containerRunner{}, actiontest.Step{
		Inputs: map[string]string{
			"api-token":    token,
			"zone-id":      zoneID,
			"purge-type":   "files",
			"targets":      "https://example.com/a.css",
			"targets-file": "urls.txt", // relative to the workspace, read through --workdir
			"api-url":      fake.BaseURL(),
		},
		Files: map[string]string{"urls.txt": "https://example.com/b.js\nhttps://example.com/c.png\n"},
	})

	if res.Code != 0 {
		t.Fatalf("exit %d, want 0", res.Code)
	}
	actiontest.AssertSecretsOnlyMasked(t, res, false, token)
	want := map[string]string{
		"purge-id":  cloudflaretest.ID(0),
		"purge-ids": fmt.Sprintf("[%q]", cloudflaretest.ID(0)),
		"count":     "3",
	}
	for name, v := range want {
		if res.Outputs[name] != v {
			t.Errorf("output %s = %q, want %q", name, res.Outputs[name], v)
		}
	}
	if res.Summary == "" {
		t.Error("nothing written to GITHUB_STEP_SUMMARY")
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/client/v4/zones/"+zoneID+"/purge_cache" {
		t.Errorf("request %s %s, want POST /client/v4/zones/%s/purge_cache", r.Method, r.Path, zoneID)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q, want the token", got)
	}
	if r.Items() != 3 {
		t.Errorf("request body %s: want 3 files", r.Body)
	}
}

func TestFailedPurgeExits1WithAnnotation(t *testing.T) {
	fake := cloudflaretest.New(cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
		return cloudflaretest.Fail(403, 10000, "Authentication error")
	}))
	defer fake.Close()

	res := actiontest.Run(t, containerRunner{}, actiontest.Step{Inputs: map[string]string{
		"api-token":  token,
		"zone-id":    zoneID,
		"purge-type": "everything",
		"api-url":    fake.BaseURL(),
	}})

	if res.Code != 1 {
		t.Fatalf("exit %d, want 1", res.Code)
	}
	actiontest.AssertSecretsOnlyMasked(t, res, false, token)
	named403 := false
	for _, a := range res.Annotations("error") {
		named403 = named403 || strings.Contains(a.Title, "403")
	}
	if !named403 {
		t.Errorf("no ::error annotation with HTTP 403 in its title: %+v", res.Annotations("error"))
	}
	if res.Outputs["count"] != "0" {
		t.Errorf("output count = %q, want 0", res.Outputs["count"])
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("fake got %d requests, want 1 (a 403 is not retried)", n)
	}
}

func TestInvalidInputExits1BeforeAnyRequest(t *testing.T) {
	fake := cloudflaretest.New()
	defer fake.Close()

	// zone-id is required by action.yml, but the runner never enforces
	// that: the runner exports it empty, and the action must refuse.
	res := actiontest.Run(t, containerRunner{}, actiontest.Step{Inputs: map[string]string{
		"api-token":  token,
		"purge-type": "everything",
		"api-url":    fake.BaseURL(),
	}})

	if res.Code != 1 {
		t.Fatalf("exit %d, want 1", res.Code)
	}
	actiontest.AssertSecretsOnlyMasked(t, res, false, token)
	if !res.HasAnnotation("error", "Invalid input zone-id", "is required") {
		t.Errorf("no ::error annotation titled with zone-id saying it is required in stdout:\n%s", res.Stdout)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake got %d requests, want none", n)
	}
}
