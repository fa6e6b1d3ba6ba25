package actiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/command"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// Version is the version the test runners stamp on the action, as the
// User-Agent shows it.
const Version = "test"

// InProcess runs command.Run in the test's process: fast, and inside a
// testing/synctest bubble with virtual time when the fake API is
// in-memory (cloudflaretest.NewInMemory).
type InProcess struct {
	// Context, if set, is the run's context (a test may cancel it).
	Context    context.Context
	HTTPClient *http.Client
	// NewBackOff gives retry delays; nil means a constant second, so a
	// test knows how long retries wait.
	NewBackOff func() purge.BackOff
}

// Visible: in-process, the action sees the folders themselves.
func (InProcess) Visible(_ Folders, dir string) string { return dir }

// Run runs the action.
func (p InProcess) Run(t testing.TB, f Folders, env map[string]string, args []string) Ran {
	t.Helper()
	ctx := p.Context
	if ctx == nil {
		ctx = context.Background()
	}
	newBackOff := p.NewBackOff
	if newBackOff == nil {
		newBackOff = func() purge.BackOff { return constantBackOff(time.Second) }
	}
	var stdout, stderr bytes.Buffer
	code := command.Run(ctx, command.Env{
		Args:       args,
		Getenv:     func(k string) string { return env[k] },
		Stdout:     &stdout,
		Stderr:     &stderr,
		WorkDir:    f.Workspace,
		ActionYML:  ActionYML(t),
		HTTPClient: p.HTTPClient,
		NewBackOff: newBackOff,
		Version:    Version,
	})
	return Ran{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

type constantBackOff time.Duration

func (c constantBackOff) NextBackOff() time.Duration { return time.Duration(c) }
func (constantBackOff) Reset()                       {}

// Binary runs the built action as a process, in real time, with exactly
// the step's environment (nothing inherited).
type Binary struct {
	Path string
	// Timeout bounds the process; the test fails past it (default 30s).
	Timeout time.Duration
	// Started, if set, is called with the process once it runs (to send
	// it a signal).
	Started func(*exec.Cmd)
}

// Visible: a process sees the folders themselves.
func (Binary) Visible(_ Folders, dir string) string { return dir }

// Run runs the binary in the workspace.
func (b Binary) Run(t testing.TB, f Folders, env map[string]string, args []string) Ran {
	t.Helper()
	timeout := b.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Path, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	slices.Sort(cmd.Env)
	cmd.Dir = f.Workspace
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if b.Started != nil {
		b.Started(cmd)
	}
	err := cmd.Wait()
	r := Ran{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("the action did not end within %s\nstdout:\n%s", timeout, r.Stdout)
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		r.Code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// Build builds the action's binary into dir, as the Dockerfile does
// (-trimpath, the version stamped), and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "cloudflare-purge-action")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags", "-X main.version="+Version, ".")
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
}

// WatchPeak reads a running process's peak resident memory (VmHWM, Linux)
// every few milliseconds until it is gone, and returns the last reading,
// in bytes; 0 where /proc has no such file. (The rusage of a child counts
// the memory of the test process it was forked from, so it cannot serve.)
func WatchPeak(pid int) int64 {
	var peak int64
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return peak
		}
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var kib int64
				if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil && kib<<10 > peak {
					peak = kib << 10
				}
			}
		}
		if strings.Contains(string(data), "State:\tZ") {
			return peak
		}
		time.Sleep(2 * time.Millisecond)
	}
}
