package main

import (
	"encoding/json"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

// The Dockerfile's rules for a GitHub container action (GitHub's
// "Dockerfile support for GitHub Actions") and for this image, checked
// here because hadolint is not available everywhere CI runs. The parser is
// a few lines on purpose: this Dockerfile uses no heredocs or escapes, and
// a full parser (moby/buildkit) would be a heavy dependency for that.

// dockerInstruction is one Dockerfile instruction, continuation lines joined.
type dockerInstruction struct {
	Line int    // 1-based line where it starts
	Cmd  string // upper-cased: FROM, RUN, COPY, ...
	Args string // the rest, as written
}

// dockerStage is a FROM and the instructions under it.
type dockerStage struct {
	From  dockerInstruction
	Image string // the base image or stage it starts from
	Name  string // the AS name, if any
	Body  []dockerInstruction
}

func parseDockerfile(t *testing.T, text string) []dockerStage {
	t.Helper()
	var instrs []dockerInstruction
	var cur *dockerInstruction
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments may sit inside a continued instruction too
		}
		body, continued := strings.CutSuffix(line, `\`)
		if cur == nil {
			cmd, args, _ := strings.Cut(body, " ")
			instrs = append(instrs, dockerInstruction{Line: i + 1, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
			cur = &instrs[len(instrs)-1]
		} else {
			cur.Args = strings.TrimSpace(cur.Args + " " + strings.TrimSpace(body))
		}
		if !continued {
			cur = nil
		}
	}
	var stages []dockerStage
	for _, in := range instrs {
		if in.Cmd == "FROM" {
			var words []string
			for _, w := range strings.Fields(in.Args) {
				if !strings.HasPrefix(w, "--") { // --platform=...
					words = append(words, w)
				}
			}
			s := dockerStage{From: in}
			if len(words) > 0 {
				s.Image = words[0]
			}
			if len(words) == 3 && strings.EqualFold(words[1], "AS") {
				s.Name = words[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("line %d: %s before the first FROM", in.Line, in.Cmd)
			}
			continue
		}
		stages[len(stages)-1].Body = append(stages[len(stages)-1].Body, in)
	}
	if len(stages) == 0 {
		t.Fatal("no FROM in the Dockerfile")
	}
	return stages
}

func readDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return parseDockerfile(t, string(data))
}

func TestDockerfileFinalStageIsScratchWithBinaryAndCABundle(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stage(s), want a builder and a final stage", len(stages))
	}
	final := stages[len(stages)-1]
	if final.Image != "scratch" {
		t.Errorf("line %d: final stage FROM %s, want scratch", final.From.Line, final.Image)
	}
	var dests []string
	for _, in := range final.Body {
		switch in.Cmd {
		case "COPY":
			if !strings.Contains(in.Args, "--from=") {
				t.Errorf("line %d: final stage copies from the build context; want only the builder's outputs", in.Line)
			}
			f := strings.Fields(in.Args)
			dests = append(dests, f[len(f)-1])
		case "ENTRYPOINT", "LABEL", "ENV", "ARG", "EXPOSE":
		default:
			t.Errorf("line %d: %s in the final stage; want only COPY --from and ENTRYPOINT", in.Line, in.Cmd)
		}
	}
	if len(dests) != 2 || !dockerAny(dests, func(d string) bool { return strings.HasSuffix(d, "ca-certificates.crt") }) {
		t.Errorf("final stage copies %q, want the binary and /etc/ssl/certs/ca-certificates.crt", dests)
	}
}

func dockerAny(list []string, f func(string) bool) bool {
	for _, s := range list {
		if f(s) {
			return true
		}
	}
	return false
}

func TestDockerfileRunsAsRootWithoutWorkdir(t *testing.T) {
	stages := readDockerfile(t)
	for _, s := range stages {
		for _, in := range s.Body {
			if in.Cmd == "USER" {
				t.Errorf("line %d: USER %s; the action must run as root to write the runner's workspace and file-command files", in.Line, in.Args)
			}
		}
	}
	// WORKDIR is fine in the builder; in the final stage it would be
	// overridden by the runner's --workdir /github/workspace anyway, so
	// relying on it is a bug.
	for _, in := range stages[len(stages)-1].Body {
		if in.Cmd == "WORKDIR" {
			t.Errorf("line %d: WORKDIR in the final stage; the runner sets --workdir /github/workspace", in.Line)
		}
	}
}

func TestDockerfileEntrypointIsExecFormAbsolute(t *testing.T) {
	final := readDockerfile(t)
	last := final[len(final)-1]
	var entrypoints []dockerInstruction
	var dests []string
	for _, in := range last.Body {
		switch in.Cmd {
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, in)
		case "CMD":
			t.Errorf("line %d: CMD in the final stage would become the action's arguments", in.Line)
		case "COPY":
			f := strings.Fields(in.Args)
			dests = append(dests, f[len(f)-1])
		}
	}
	if len(entrypoints) != 1 {
		t.Fatalf("%d ENTRYPOINT(s) in the final stage, want 1", len(entrypoints))
	}
	in := entrypoints[0]
	var argv []string
	if err := json.Unmarshal([]byte(in.Args), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("line %d: ENTRYPOINT %s is not exec form (a JSON array): scratch has no shell", in.Line, in.Args)
	}
	if !path.IsAbs(argv[0]) {
		t.Errorf("line %d: ENTRYPOINT %q is not an absolute path", in.Line, argv[0])
	}
	if !dockerAny(dests, func(d string) bool { return d == argv[0] }) {
		t.Errorf("line %d: ENTRYPOINT %q is not a file the final stage copies (%q)", in.Line, argv[0], dests)
	}
}

// TestDockerfileBuilder checks the builder's pin and the build flags the
// container test (internal/containertest) reproduces on the host.
func TestDockerfileBuilder(t *testing.T) {
	stages := readDockerfile(t)
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+\.\d+)\s*$`).FindSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line with a full version (go 1.x.y)")
	}
	var builder *dockerStage
	for i := range stages[:len(stages)-1] {
		if strings.HasPrefix(stages[i].Image, "golang:") {
			builder = &stages[i]
		}
	}
	if builder == nil {
		t.Fatal("no golang: builder stage")
	}
	// The builder uses the Go release go.mod names: the toolchain CI tests with.
	if want := "golang:" + string(goLine[1]); builder.Image != want && !strings.HasPrefix(builder.Image, want+"-") && !strings.HasPrefix(builder.Image, want+"@") {
		t.Errorf("line %d: builder FROM %s, want %s (go.mod's go line), with a variant suffix at most", builder.From.Line, builder.Image, want)
	}

	var download, copyAll, build = -1, -1, -1
	var buildArgs, env string
	for i, in := range builder.Body {
		switch {
		case in.Cmd == "ENV":
			env += " " + in.Args
		case in.Cmd == "RUN" && strings.Contains(in.Args, "go mod download"):
			download = i
		case in.Cmd == "COPY" && strings.HasPrefix(in.Args, ". "):
			copyAll = i
		case in.Cmd == "RUN" && strings.Contains(in.Args, "go build"):
			build, buildArgs = i, in.Args
		}
	}
	if download < 0 || copyAll < 0 || download > copyAll {
		t.Errorf("want RUN go mod download before COPY . . (its own cached layer)")
	}
	if build < 0 {
		t.Fatal("no RUN go build in the builder")
	}
	if !strings.Contains(env+" "+buildArgs, "CGO_ENABLED=0") {
		t.Error("go build without CGO_ENABLED=0: the binary must be static to run on scratch")
	}
	for _, flag := range []string{"-trimpath", `-ldflags "-s -w -X main.version=`} {
		if !strings.Contains(buildArgs, flag) {
			t.Errorf("go build %q lacks %s", buildArgs, flag)
		}
	}
	_ = version // the variable -X main.version sets must exist
}

func TestParseDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "# syntax=docker/dockerfile:1\nARG X=1\nFROM --platform=$BUILDPLATFORM golang:1 AS build\nRUN a \\\n  # note\n  b\nFROM scratch\nENTRYPOINT [\"/x\"]\n")
	if len(stages) != 2 || stages[0].Name != "build" || stages[0].Image != "golang:1" || stages[1].Image != "scratch" {
		t.Fatalf("stages = %+v", stages)
	}
	if got := stages[0].Body[0]; got.Cmd != "RUN" || got.Args != "a b" || got.Line != 4 {
		t.Errorf("RUN = %+v, want a b at line 4", got)
	}
}
