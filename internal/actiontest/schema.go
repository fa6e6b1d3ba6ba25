package actiontest

// The one table of where the runner lets a `${{ }}` expression stand in an
// action's metadata, and which contexts and functions it may use there.
//
// Taken from actions/runner src/Runner.Worker/action_yaml.json at commit
// 258d6c857db3519913f7deb6004b60172f8043ae (2026-08-17), the template
// schema ActionManifestManager.cs loads every action.yml with. There a
// definition's "context" list is what an expression in it may name, and a
// nested definition inherits its parent's list (TemplateReader.cs,
// DefinitionInfo); a scalar under a definition with no list may hold no
// expression at all (TemplateReader.cs Validate: ExpressionNotAllowed,
// after the parse has already refused the named-value: "Unrecognized
// named-value: 'github'"). Every field this table does not name is such a
// field: name, description, author, branding, every input's and output's
// description, required, runs.using, runs.image, runs.entrypoint, a
// step's id, uses and shell.
//
// One deliberate difference: that commit types a composite run step's
// `shell` as string-steps-context, while runners of 2022 and before (the
// file's history, e.g. commit 0009633e85f45368a0944a4872b1edbc8ae78f48)
// type it non-empty-string, with no context. Self-hosted and GHES runners
// lag, so the table takes the older, stricter rule for shell.

// contextsOf are the lists of action_yaml.json, by its definition names.
var (
	inputDefaultContext  = []string{"github", "strategy", "matrix", "job", "runner", "hashFiles(1,255)"}
	outputValueContext   = []string{"github", "strategy", "matrix", "steps", "inputs", "job", "runner", "env"}
	containerRunsContext = []string{"inputs"}
	stringStepsContext   = []string{"github", "inputs", "strategy", "matrix", "steps", "job", "runner", "env", "hashFiles(1,255)"}
	stepIfContext        = []string{"github", "inputs", "strategy", "matrix", "steps", "job", "runner", "env",
		"always(0,0)", "failure(0,0)", "cancelled(0,0)", "success(0,0)", "hashFiles(1,255)"}
)

// fieldRule: the fields a path pattern names (segments, "*" for any key
// or item) and the contexts an expression there may use.
type fieldRule struct {
	using    string // "" for every action, else runs.using's kind: docker, composite
	path     []string
	contexts []string
}

var fieldRules = []fieldRule{
	{"", []string{"inputs", "*", "default"}, inputDefaultContext},
	{"", []string{"outputs", "*", "value"}, outputValueContext},
	// container-runs: args (container-runs-context), env (container-runs-env).
	{"docker", []string{"runs", "args", "*"}, containerRunsContext},
	{"docker", []string{"runs", "env", "*"}, containerRunsContext},
	// composite-runs: run-step and uses-step.
	{"composite", []string{"runs", "steps", "*", "name"}, stringStepsContext},
	{"composite", []string{"runs", "steps", "*", "run"}, stringStepsContext},
	{"composite", []string{"runs", "steps", "*", "working-directory"}, stringStepsContext},
	{"composite", []string{"runs", "steps", "*", "env", "*"}, stringStepsContext},
	{"composite", []string{"runs", "steps", "*", "with", "*"}, stringStepsContext},
	{"composite", []string{"runs", "steps", "*", "continue-on-error"}, stringStepsContext},
	{"composite", []string{"runs", "steps", "*", "if"}, stepIfContext},
}

// wellKnownFunctions may be called wherever an expression may stand
// (actions/runner src/Sdk/DTExpressions2/Expressions2/ExpressionConstants.cs,
// same commit), with their least and most arguments; the runner matches
// function and named-value names without regard to case.
var wellKnownFunctions = map[string][2]int{
	"case": {3, 255}, "contains": {2, 2}, "endswith": {2, 2}, "format": {1, 255},
	"join": {1, 2}, "startswith": {2, 2}, "tojson": {1, 1}, "fromjson": {1, 1},
}

// contextsAt is what an expression at path (in an action whose runs.using
// is using) may use, or nil where the runner allows no expression.
func contextsAt(using string, path []string) []string {
	for _, r := range fieldRules {
		if r.using != "" && r.using != using {
			continue
		}
		if matchPath(r.path, path) {
			return r.contexts
		}
	}
	return nil
}

func matchPath(pattern, path []string) bool {
	if len(pattern) != len(path) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != path[i] {
			return false
		}
	}
	return true
}
