package containertest

import (
	"errors"
	"fmt"
	"strings"
)

// dockerInstruction is one Dockerfile instruction, continuation lines joined.
type dockerInstruction struct {
	Line int    // 1-based line where it starts
	Cmd  string // upper-cased: FROM, RUN, COPY, ...
	Args string // the rest, as written, continuations joined by one space
}

// dockerStage is a FROM and the instructions under it.
type dockerStage struct {
	From  dockerInstruction
	Image string // the base image or stage it starts from, as written
	Name  string // the AS name, if any
	Body  []dockerInstruction
}

// parseDockerfile splits a Dockerfile into its stages; only ARG may come
// before the first FROM. It is the repository's one Dockerfile parser,
// shared by the Dockerfile rules test (dockerfile_test.go, run by every
// `go test`) and BuildFinalStage (build.go, through finalStageCopies),
// which the container test (container_test.go, build tag container) and
// the act test (internal/acttest, build tag act) build the image with.
//
// It reads what this Dockerfile uses: instructions, `\` line continuations,
// comment and blank lines (also inside a continued instruction), FROM with
// flags (--platform=...) and an AS name, and image references with a tag
// and a digest (splitImageRef). It does not know heredocs, a changed
// escape character or variable expansion. It is hand-written because the
// real tools are not at hand: hadolint cannot be installed on the machines
// the tests run on, and BuildKit's parser
// (github.com/moby/buildkit/frontend/dockerfile/parser) would be a heavy
// dependency for a few dozen lines of reading.
func parseDockerfile(text string) ([]dockerStage, error) {
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
				return nil, fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
			}
			continue
		}
		stages[len(stages)-1].Body = append(stages[len(stages)-1].Body, in)
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM in the Dockerfile")
	}
	return stages, nil
}

// splitImageRef splits an image reference, name[:tag][@digest], into its
// parts: "golang:1.26.8-bookworm@sha256:abc" gives "golang",
// "1.26.8-bookworm", "sha256:abc". A colon before the last slash belongs
// to a registry's port, not to the tag.
func splitImageRef(ref string) (name, tag, digest string) {
	name, digest, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

// finalStageCopies reads the Dockerfile's last stage and returns the stage
// its COPY --from instructions name and the paths they copy (without the
// leading slash). Every COPY of the final stage must be COPY --from=STAGE
// SRC DST, all from the same stage.
func finalStageCopies(dockerfile string) (stage string, sources []string, err error) {
	stages, err := parseDockerfile(dockerfile)
	if err != nil {
		return "", nil, err
	}
	for _, in := range stages[len(stages)-1].Body {
		if in.Cmd != "COPY" {
			continue
		}
		from := ""
		var args []string
		for _, f := range strings.Fields(in.Args) {
			if v, ok := strings.CutPrefix(f, "--from="); ok {
				from = v
			} else if !strings.HasPrefix(f, "--") {
				args = append(args, f)
			}
		}
		if from == "" || len(args) != 2 {
			return "", nil, fmt.Errorf("line %d: final stage: want COPY --from=STAGE SRC DST, got COPY %s", in.Line, in.Args)
		}
		if stage != "" && from != stage {
			return "", nil, fmt.Errorf("line %d: final stage copies from %s and %s, want one stage", in.Line, stage, from)
		}
		stage = from
		sources = append(sources, strings.TrimPrefix(args[0], "/"))
	}
	if stage == "" {
		return "", nil, errors.New("the final stage copies nothing from an earlier stage")
	}
	return stage, sources, nil
}
