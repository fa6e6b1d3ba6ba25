package actiontest

import (
	"fmt"
	"regexp"
	"strings"
)

// What the steps of a composite action see, read from actions/runner
// (commit 258d6c857db3519913f7deb6004b60172f8043ae, 2026-08-17), in the
// order the runner does it. Composite plays exactly this; the line numbers
// are of that commit.
//
//  1. The workflow's `uses:` is parsed by
//     src/Sdk/DTPipelines/Pipelines/ObjectTemplating/PipelineTemplateConverter.cs
//     lines 606-653: `./PATH` is a local action (repository type "self", no
//     name, no ref); `OWNER/REPO[/PATH]@REF` a remote one, Name OWNER/REPO
//     and Ref REF.
//  2. Running the composite action itself, src/Runner.Worker/ActionRunner.cs
//     lines 143-153 set github.action_repository and github.action_ref to
//     that Name and Ref for a remote action and to null for a local one; a
//     null string context reads as "" (StringContextData.cs lines 21-31).
//  3. src/Runner.Worker/Handlers/CompositeActionHandler.cs lines 98-103
//     make the `inputs` context of the with: values (defaults applied,
//     ActionRunner.cs 206-218); lines 143-161 give each child step its own
//     context, made from the composite's (CreateEmbeddedChild, which
//     copies its contexts: ExecutionContext.cs lines 428-431): `steps` of
//     this action only, a shallow copy of the composite's github context,
//     and github.action_path set to the action's folder.
//  4. CompositeActionHandler.cs lines 250-296 build the child's env
//     context (the job's env, then the env given to the composite step)
//     and evaluate the child's `env:` there, before the child runs: its
//     expressions still see the composite's github.action_repository and
//     github.action_ref.
//  5. The child step is itself run by ActionRunner.RunAsync: a `run:` step
//     is not a repository reference, so lines 143-153 set
//     github.action_repository and github.action_ref to null in the child's
//     copy. Only then are its inputs evaluated (line 184), the `run:` script
//     among them: in `run:`, github.action_repository is "".
//  6. The process environment (ActionRunner.cs lines 239-252, then
//     src/Runner.Worker/Handlers/ScriptHandler.cs lines 287-300): the env
//     context, then every github context key of GitHubContext.cs's
//     allow-list (lines 9-67) as GITHUB_<KEY> and every runner context key
//     as RUNNER_<KEY> (RunnerContext.cs), written over the env. So
//     GITHUB_ACTION_REPOSITORY and GITHUB_ACTION_REF are present and empty
//     in every composite step, whatever the workflow's env says, and
//     GITHUB_ACTION_PATH is the action's folder. A composite step gets no
//     INPUT_* variables (only Handler.AddInputsToEnvironment, which the
//     node and container handlers call, makes them).
//  7. `shell: bash` runs `bash --noprofile --norc -e -o pipefail FILE`
//     (ScriptHandlerHelpers.cs line 18).
//  8. The action's outputs are evaluated after the steps, in the
//     composite's own context (CompositeActionHandler.cs lines 169-172,
//     183-224).
//
// Not modelled (the action does not use them): if:, working-directory,
// continue-on-error, uses: steps, pre and post, shells other than bash.
//
// A job output (needs.JOB.outputs.NAME) that contains any value masked in
// the job is dropped with "Skip output 'NAME' since it may contain
// secret." (src/Runner.Worker/JobExtension.cs lines 801-814); step outputs
// are not filtered.

// actionRef is what the runner knows of the action from `uses:`.
type actionRef struct {
	Local      bool
	Repository string // OWNER/REPO; "" for a local action
	Ref        string // "" for a local action
}

var usesSegment = regexp.MustCompile(`^[^/\\@]+$`)

// parseUses reads a workflow's `uses:` as PipelineTemplateConverter.cs
// does (step 1), for actions in a repository: docker:// is not one.
func parseUses(uses string) (actionRef, error) {
	if strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, `.\`) {
		return actionRef{Local: true}, nil
	}
	path, ref, ok := strings.Cut(uses, "@")
	segments := strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '\\' })
	if !ok || strings.Contains(ref, "@") || ref == "" || len(segments) < 2 ||
		!usesSegment.MatchString(segments[0]) || !usesSegment.MatchString(segments[1]) {
		return actionRef{}, fmt.Errorf("uses: %q: want ./PATH or OWNER/REPO[/PATH]@REF", uses)
	}
	return actionRef{Repository: segments[0] + "/" + segments[1], Ref: ref}, nil
}

// contexts are the expression contexts of one evaluation. Only the keys
// listed here exist: any other expression fails the test, so the action
// cannot use what the harness does not play.
type contexts struct {
	github, runner, inputs map[string]string
	steps                  map[string]map[string]string
}

// compositeGitHub is the composite action's github context (step 2).
func compositeGitHub(ref actionRef) map[string]string {
	return map[string]string{"action_repository": ref.Repository, "action_ref": ref.Ref}
}

// childEnvGitHub is a child step's github context while its env: is
// evaluated (steps 3 and 4): the composite's, with action_path.
func childEnvGitHub(composite map[string]string, actionPath string) map[string]string {
	c := map[string]string{"action_path": actionPath}
	for k, v := range composite {
		c[k] = v
	}
	return c
}

// childRunGitHub is a child step's github context once it runs (step 5):
// action_repository and action_ref are cleared.
func childRunGitHub(env map[string]string) map[string]string {
	c := map[string]string{}
	for k, v := range env {
		c[k] = v
	}
	c["action_repository"], c["action_ref"] = "", ""
	return c
}

// processEnv is a child step's process environment (step 6): the
// runner's own (inherited), the env context, then the contexts written
// over it as GITHUB_<KEY> and RUNNER_<KEY>.
func processEnv(inherited, envContext map[string]string, github, runner map[string]string) map[string]string {
	env := map[string]string{}
	for _, m := range []map[string]string{inherited, envContext} {
		for k, v := range m {
			env[k] = v
		}
	}
	for k, v := range github {
		env["GITHUB_"+strings.ToUpper(k)] = v
	}
	for k, v := range runner {
		env["RUNNER_"+strings.ToUpper(k)] = v
	}
	return env
}

// lookup evaluates one expression of the forms the action uses.
func (c contexts) lookup(expr string) (string, error) {
	parts := strings.Split(expr, ".")
	var (
		v  string
		ok bool
	)
	switch {
	case len(parts) == 2 && parts[0] == "inputs":
		v, ok = c.inputs[parts[1]]
	case len(parts) == 2 && parts[0] == "github":
		v, ok = c.github[parts[1]]
	case len(parts) == 2 && parts[0] == "runner":
		v, ok = c.runner[parts[1]]
	case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
		var outputs map[string]string
		if outputs, ok = c.steps[parts[1]]; ok {
			v = outputs[parts[3]] // an output a step did not set is ""
		}
	}
	if !ok {
		return "", fmt.Errorf("the composite harness does not know the expression ${{ %s }} here", expr)
	}
	return v, nil
}
