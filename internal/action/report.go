// Package action is the GitHub side of a run: masking secrets, log lines
// and groups, annotations, step outputs and the job summary. Everything it
// prints goes through a writer that blanks the secrets, so a secret that
// slips into a message still never reaches the log.
package action

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// Reporter writes to the runner.
type Reporter struct {
	gh      *githubactions.Action
	out     io.Writer // raw, for the mask lines only
	getenv  func(string) string
	secrets []string
}

// New returns a reporter writing workflow commands to w and file commands
// to the files the environment names.
func New(w io.Writer, getenv func(string) string) *Reporter {
	r := &Reporter{out: w, getenv: getenv}
	r.gh = githubactions.New(githubactions.WithWriter(&redactor{w: w, r: r}), githubactions.WithGetenv(getenv))
	return r
}

// Mask registers the secrets with the runner (the first lines printed) and
// blanks them in everything printed afterwards. Outside GitHub Actions
// there is no runner to hide them, so no mask line is printed: it would
// show the secret in clear.
func (r *Reporter) Mask(secrets []string) {
	inActions := r.getenv("GITHUB_ACTIONS") == "true"
	masker := githubactions.New(githubactions.WithWriter(r.out), githubactions.WithGetenv(r.getenv))
	for _, s := range secrets {
		// A secret with a line break is masked line by line too, because
		// the runner masks each log line on its own.
		parts := append([]string{s}, strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")...)
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(r.secrets, p) {
				if inActions {
					masker.AddMask(p)
				}
				r.secrets = append(r.secrets, p)
			}
		}
	}
}

// redact blanks every secret in s.
func (r *Reporter) redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

type redactor struct {
	w io.Writer
	r *Reporter
}

func (x *redactor) Write(p []byte) (int, error) {
	if _, err := io.WriteString(x.w, x.r.redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Infof prints a log line. Text from outside (API answers) must already
// be one line (cloudflare.Sanitize): a line break could start a workflow
// command.
func (r *Reporter) Infof(format string, args ...any) {
	r.gh.Infof("%s", fmt.Sprintf(format, args...))
}

// Debugf prints a line shown only with step debug logging on. Outside
// Actions it prints nothing unless RUNNER_DEBUG=1, since there is no
// runner to hide it.
func (r *Reporter) Debugf(format string, args ...any) {
	if r.getenv("GITHUB_ACTIONS") != "true" && r.getenv("RUNNER_DEBUG") != "1" {
		return
	}
	r.gh.Debugf("%s", fmt.Sprintf(format, args...))
}

// Group starts a collapsible log section; EndGroup ends it.
func (r *Reporter) Group(title string) { r.gh.Group(title) }

// EndGroup ends the section Group started.
func (r *Reporter) EndGroup() { r.gh.EndGroup() }

// Error writes an error annotation. The runner keeps at most 10 a step,
// so callers combine related problems into one.
func (r *Reporter) Error(title, message string) {
	r.gh.WithFieldsMap(map[string]string{"title": title}).Errorf("%s", message)
}

// Warning writes a warning annotation.
func (r *Reporter) Warning(title, message string) {
	r.gh.WithFieldsMap(map[string]string{"title": title}).Warningf("%s", message)
}

// Outputs are the step's outputs.
type Outputs struct {
	PurgeIDs []string // in batch order
	Count    int
}

// SetOutputs writes purge-id, purge-ids and count, and reports whether it
// could. Outside Actions (no GITHUB_OUTPUT) it prints them instead, since
// go-githubactions would panic writing to a file that is not named.
func (r *Reporter) SetOutputs(o Outputs) bool {
	ids := o.PurgeIDs
	if ids == nil {
		ids = []string{}
	}
	first := ""
	if len(ids) > 0 {
		first = ids[0]
	}
	idsJSON, _ := json.Marshal(ids) // a []string always marshals
	outputs := [][2]string{{"purge-id", first}, {"purge-ids", string(idsJSON)}, {"count", fmt.Sprint(o.Count)}}
	for _, kv := range outputs {
		// IDs are checked by the client (letters, digits, -_.:), so no
		// value can hold a line break that would end the heredoc early.
		if r.getenv("GITHUB_OUTPUT") == "" {
			r.Infof("output %s=%s", kv[0], kv[1])
			continue
		}
		if !r.fileCommand("GITHUB_OUTPUT", func() { r.gh.SetOutput(kv[0], r.redact(kv[1])) }) {
			return false
		}
	}
	return true
}

// fileCommand runs a go-githubactions file command, which panics when the
// file cannot be written, and reports whether it worked. A lost output is
// an error (later steps would read empty values); a lost summary only a
// warning.
func (r *Reporter) fileCommand(file string, write func()) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			if file == "GITHUB_OUTPUT" {
				r.Error("Could not write the step outputs", OneLine(fmt.Sprint(p)))
				return
			}
			r.Warning("Could not write "+file, OneLine(fmt.Sprint(p)))
		}
	}()
	write()
	return true
}

// AddSummary appends markdown to the job summary, when there is one.
func (r *Reporter) AddSummary(markdown string) {
	if r.getenv("GITHUB_STEP_SUMMARY") == "" {
		return
	}
	_ = r.fileCommand("GITHUB_STEP_SUMMARY", func() { r.gh.AddStepSummary(r.redact(markdown)) })
}

// OneLine makes outside text safe for a log line or annotation.
func OneLine(s string) string { return cloudflare.Sanitize(s, 1000) }
