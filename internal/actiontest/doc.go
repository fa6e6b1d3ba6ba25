// Package actiontest plays the GitHub runner for tests: it loads
// action.yml as the runner does, lays out a step's folders and files,
// exports every input as INPUT_<NAME>, runs the action through a Runner
// (in-process, the built binary, a container, or the composite steps of
// binary/action.yml) and reads back what the runner would: exit code, log,
// annotations, step outputs and job summary. Every test that plays the
// runner goes through it, so there is one loader and one reader of
// action.yml, one GITHUB_OUTPUT parser and one secret check.
//
// # The model of the runner
//
// Each behaviour below is taken from the actions/runner source (commit
// 258d6c857db3519913f7deb6004b60172f8043ae, 2026-08-17), not from what
// seems likely: a harness kinder than the runner hides the bug users hit
// first, as a description holding ${{ github.sha }} once did (every job
// using the action failed at "Set up job" while every test here passed).
//
//   - Loading the metadata (load.go, schema.go): src/Runner.Worker/
//     ActionManifestManager.cs reads action.yml with the template schema
//     src/Runner.Worker/action_yaml.json; TemplateReader.cs parses every
//     `${{ }}` of every scalar against the field's contexts. Load refuses,
//     with file, line and field, an expression where none is allowed, a
//     named-value or function the field does not allow, an empty or
//     unclosed one. ActionYML and Composite load through it, so no test
//     runs an action the runner would refuse.
//   - Input variables (actiontest.go Run): src/Runner.Worker/Handlers/
//     Handler.cs AddInputsToEnvironment: INPUT_ + the name with spaces as
//     _, upper-cased, hyphens kept; called by the container and node
//     handlers only, so a composite step gets none.
//   - Defaults (Run, evalDefault): src/Runner.Worker/ActionRunner.cs
//     (lines 206-218) gives every declared input not in `with:` its
//     default, evaluated (EvaluateDefaultInput); an input with neither is
//     exported empty. `required:` is never enforced. The harness evaluates
//     ${{ github.token }} to Step.GitHubToken and fails on any other.
//   - Output and summary files (Run, ParseOutputs): src/Runner.Worker/
//     FileCommandManager.cs: set_output_* and step_summary_* files under
//     the file-commands folder, named by GITHUB_OUTPUT and
//     GITHUB_STEP_SUMMARY; name=value lines and name<<DELIM blocks
//     (SetOutputFileCommand, lines 328-420).
//   - Annotations and masks (Annotations, AssertSecretsOnlyMasked):
//     src/Runner.Worker/ActionCommandManager.cs: ::error/::warning/::notice
//     with escaped data and properties, ::add-mask:: (an empty value only
//     warns).
//   - The container (internal/containertest): src/Runner.Worker/Handlers/
//     ContainerActionHandler.cs mounts the workspace, file commands, home,
//     workflow and runner temp under /github/ (lines 193-203) and runs the
//     image with --workdir /github/workspace and the variables above.
//   - A composite action's steps (composite.go, compositemodel.go): what
//     each step's env:, run: and process environment see, step by step,
//     with the files and lines they come from.
//
// Knowingly not modelled: node actions, pre and post steps, a step's if:
// and continue-on-error (the action uses none), the 128 KiB limit of one
// variable (the action reads long lists from a file), job outputs
// dropped for holding a masked value (JobExtension.cs; step outputs are
// not), the limits of annotations per step and of the summary's size, and
// the runner's own log of the step (its ##[group] lines).
//
// # act, a second opinion
//
// internal/acttest runs both entry points under act (nektos/act), an
// independent runner, through podman. act and the runner disagree on one
// thing the action depends on: act sets GITHUB_ACTION_REPOSITORY in a
// composite action's steps, while the runner empties it
// (compositemodel.go, step 6). The tests here follow the runner, since it
// is what users run; binary/fetch.sh reads the repository from its step's
// env: (github.action_repository), which both fill.
//
// It imports command (for the in-process runner) and config (to read
// action.yml's inputs); nothing in production imports it.
package actiontest
