package containertest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Dockerfile's rules for a GitHub container action (GitHub's
// "Dockerfile support for GitHub Actions") and for this image, checked by
// every `go test` because hadolint is not available everywhere CI runs.
// These tests need no container engine (no build tag); they read the
// Dockerfile with parseDockerfile (dockerfile.go), the parser the
// container test uses too.

// repoRoot is the repository root, seen from this package's folder.
const repoRoot = "../.."

func readDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(data))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages
}

// builderStage returns the golang builder stage (not the final one).
func builderStage(t *testing.T, stages []dockerStage) *dockerStage {
	t.Helper()
	var builder *dockerStage
	for i := range stages[:len(stages)-1] {
		if name, _, _ := splitImageRef(stages[i].Image); name == "golang" {
			builder = &stages[i]
		}
	}
	if builder == nil {
		t.Fatal("no golang builder stage")
	}
	return builder
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
	if len(dests) != 2 || !slices.ContainsFunc(dests, func(d string) bool { return strings.HasSuffix(d, "ca-certificates.crt") }) {
		t.Errorf("final stage copies %q, want the binary and /etc/ssl/certs/ca-certificates.crt", dests)
	}

	// The container and act tests stand in for the stage the final stage
	// copies from (BuildFinalStage, build.go): what it copies must be
	// readable that way, from the builder.
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	from, sources, err := finalStageCopies(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if builder := builderStage(t, stages); from != builder.Name {
		t.Errorf("final stage copies from %q, want the builder stage %q", from, builder.Name)
	}
	if len(sources) != 2 {
		t.Errorf("final stage copies %q, want the binary and the CA bundle", sources)
	}
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
	stages := readDockerfile(t)
	last := stages[len(stages)-1]
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
	if !slices.Contains(dests, argv[0]) {
		t.Errorf("line %d: ENTRYPOINT %q is not a file the final stage copies (%q)", in.Line, argv[0], dests)
	}
}

// TestDockerfileBuilder checks the builder's pin and the build flags the
// container and act tests reproduce on the host (BuildFinalStage, build.go).
func TestDockerfileBuilder(t *testing.T) {
	stages := readDockerfile(t)
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+\.\d+)\s*$`).FindSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line with a full version (go 1.x.y)")
	}
	builder := builderStage(t, stages)
	_, tag, digest := splitImageRef(builder.Image)
	// The builder uses the Go release go.mod names: the toolchain CI tests with.
	if want := string(goLine[1]); tag != want && !strings.HasPrefix(tag, want+"-") {
		t.Errorf("line %d: builder FROM %s has tag %q, want %s (go.mod's go line), with a variant suffix at most", builder.From.Line, builder.Image, tag, want)
	}
	// And it is pinned by digest: a tag can be moved, a digest cannot.
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		t.Errorf("line %d: builder FROM %s is not pinned by digest; want golang:TAG@sha256:<64 hex digits>", builder.From.Line, builder.Image)
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
	// The variable -X main.version sets must exist: the linker ignores an
	// -X for a missing variable, and the binary would say "dev".
	if !mainDeclaresStringVar(t, "version") {
		t.Error("package main (the repository root) declares no package-level string variable version for -X main.version")
	}
}

// mainDeclaresStringVar reports whether package main, the repository
// root's non-test Go files, declares a package-level variable name of type
// string (-X can set only those): `var name string` or `var name = "..."`.
func mainDeclaresStringVar(t *testing.T, name string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "main" {
			continue
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != gotoken.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if id.Name != name {
						continue
					}
					if typ, ok := vs.Type.(*ast.Ident); ok {
						return typ.Name == "string"
					}
					if vs.Type == nil && i < len(vs.Values) {
						lit, ok := vs.Values[i].(*ast.BasicLit)
						return ok && lit.Kind == gotoken.STRING
					}
					return false
				}
			}
		}
	}
	return false
}

func TestParseDockerfile(t *testing.T) {
	stages, err := parseDockerfile("# syntax=docker/dockerfile:1\nARG X=1\nFROM --platform=$BUILDPLATFORM golang:1 AS build\nRUN a \\\n  # note\n  b\nFROM scratch\nENTRYPOINT [\"/x\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].Name != "build" || stages[0].Image != "golang:1" || stages[1].Image != "scratch" {
		t.Fatalf("stages = %+v", stages)
	}
	if got := stages[0].Body[0]; got.Cmd != "RUN" || got.Args != "a b" || got.Line != 4 {
		t.Errorf("RUN = %+v, want a b at line 4", got)
	}

	for _, bad := range []string{"", "# only a comment\n", "RUN x\nFROM scratch\n"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("parseDockerfile(%q): no error", bad)
		}
	}
}

func TestSplitImageRef(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0f", 32)
	for _, c := range []struct{ ref, name, tag, digest string }{
		{"scratch", "scratch", "", ""},
		{"golang:1.26.8-bookworm", "golang", "1.26.8-bookworm", ""},
		{"golang:1.26.8-bookworm@" + digest, "golang", "1.26.8-bookworm", digest},
		{"golang@" + digest, "golang", "", digest},
		{"registry.example:5000/team/golang:1.26", "registry.example:5000/team/golang", "1.26", ""},
		{"registry.example:5000/team/golang", "registry.example:5000/team/golang", "", ""},
	} {
		name, tag, d := splitImageRef(c.ref)
		if name != c.name || tag != c.tag || d != c.digest {
			t.Errorf("splitImageRef(%q) = %q, %q, %q, want %q, %q, %q", c.ref, name, tag, d, c.name, c.tag, c.digest)
		}
	}
}

func TestFinalStageCopies(t *testing.T) {
	stage, sources, err := finalStageCopies("FROM golang:1 AS build\nRUN x\nFROM scratch\nCOPY --from=build /a/b /b\nCOPY --chmod=755 --from=build /c /c\nENTRYPOINT [\"/c\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	if stage != "build" || !slices.Equal(sources, []string{"a/b", "c"}) {
		t.Errorf("finalStageCopies = %q, %q, want build, [a/b c]", stage, sources)
	}
	for _, bad := range []string{
		"FROM scratch\nCOPY a /a\n", // from the build context
		"FROM a AS x\nFROM b AS y\nFROM scratch\nCOPY --from=x /a /a\nCOPY --from=y /b /b\n", // two stages
		"FROM a AS x\nFROM scratch\nENTRYPOINT [\"/a\"]\n",                                   // copies nothing
	} {
		if _, _, err := finalStageCopies(bad); err == nil {
			t.Errorf("finalStageCopies(%q): no error", bad)
		}
	}
}

// The Dockerfile builds from a context that .dockerignore trims to what
// the Go build needs; a file the code embeds must be in it, or the build
// fails ("pattern action.yml: no matching files found").
func TestDockerignoreKeepsEmbeddedFiles(t *testing.T) {
	t.Parallel()
	ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for line := range strings.Lines(string(ignore)) {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "!"); ok {
			kept[name] = true
		}
	}
	mains, err := filepath.Glob(filepath.Join("..", "..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	embeds := 0
	for _, path := range mains {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(src)) {
			if pattern, ok := strings.CutPrefix(strings.TrimSpace(line), "//go:embed "); ok {
				embeds++
				if !kept[pattern] {
					t.Errorf("%s embeds %s, which .dockerignore leaves out of the build context (add !%s)", filepath.Base(path), pattern, pattern)
				}
			}
		}
	}
	if embeds == 0 {
		t.Error("main.go embeds nothing: the check found no //go:embed line to check")
	}
}
