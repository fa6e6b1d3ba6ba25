package containertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// BinaryName is the binary the Dockerfile's final stage copies and runs.
const BinaryName = "cloudflare-purge-action"

// BuildFinalStage builds the Dockerfile at root's final stage as written,
// with engine (podman or docker), and tags it tag. The stage it copies from
// (the Go builder, whose base image cannot be pulled everywhere the tests
// run) is replaced with --build-context by a folder holding what that
// stage would have made: the binary, built here with the Dockerfile's
// flags (static, -trimpath, -ldflags "-s -w -X main.version=VERSION"), and
// this machine's CA bundle, each at the path the final stage copies it
// from. The engine's output goes to log. The container test
// (container_test.go) and the act test (internal/acttest) both build the
// image this way.
func BuildFinalStage(ctx context.Context, engine, root, tag, version string, log io.Writer) error {
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return err
	}
	stage, sources, err := finalStageCopies(string(df))
	if err != nil {
		return err
	}
	standIn, err := os.MkdirTemp("", "containertest-stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(standIn)
	for _, src := range sources {
		dst := filepath.Join(standIn, filepath.FromSlash(src))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch {
		case path.Base(src) == BinaryName:
			// dockerfile_test.go checks that the Dockerfile builds with these flags.
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", dst, ".")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build: %w\n%s", err, out)
			}
		case strings.HasSuffix(src, ".crt"):
			ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
			if err != nil {
				return fmt.Errorf("this machine's CA bundle (Debian's ca-certificates): %w", err)
			}
			if err := os.WriteFile(dst, ca, 0o644); err != nil {
				return err
			}
		default:
			return fmt.Errorf("the final stage copies %s from stage %s: the test does not know how to stand in for it", src, stage)
		}
	}
	cmd := exec.CommandContext(ctx, engine, "build",
		"--build-context", stage+"="+standIn,
		"--build-arg", "TARGETOS=linux", "--build-arg", "TARGETARCH="+runtime.GOARCH,
		"--file", filepath.Join(root, "Dockerfile"), "--tag", tag, root)
	cmd.Stdout, cmd.Stderr = log, log
	return cmd.Run()
}
