// Package action is the runner side of a run: masking secrets, log lines
// and groups, annotations, step outputs and the job summary. It renders
// plain values it is handed and knows nothing of how they were made: it
// imports only safetext and go-githubactions.
//
// Every text it is handed is treated as possibly holding a secret or
// text from outside: it is redacted first, on the raw text, and only then
// folded to one line, shortened or escaped (package safetext).
//
// Outside GitHub Actions (GITHUB_ACTIONS is not "true") it prints no
// workflow commands: plain lines, errors and warnings on stderr, outputs
// as name=value, no summary.
package action

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"

	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// maxLine is the most runes one log line or annotation line shows of a
// text from outside.
const maxLine = 1000

// Reporter writes to the runner, or to a terminal outside Actions.
type Reporter struct {
	getenv    func(string) string
	inActions bool
	debug     bool

	mu       sync.Mutex // workers log at once: one line at a time
	stdout   io.Writer
	stderr   io.Writer
	gh       *githubactions.Action // writes through the lock and the redactor
	redactor safetext.Redactor
	masked   map[string]bool // what Mask has printed a mask line for
}

// New returns a reporter writing to stdout and stderr, and to the files
// the environment names.
func New(stdout, stderr io.Writer, getenv func(string) string) *Reporter {
	r := &Reporter{
		getenv:    getenv,
		inActions: getenv("GITHUB_ACTIONS") == "true",
		stdout:    stdout,
		stderr:    stderr,
	}
	r.debug = r.inActions || getenv("RUNNER_DEBUG") == "1"
	r.gh = githubactions.New(githubactions.WithWriter(redactingWriter{r}), githubactions.WithGetenv(getenv))
	return r
}

// redactingWriter is the last guard: whatever go-githubactions writes is
// redacted again on its way out. The reporter's lock is held by the
// caller.
type redactingWriter struct{ r *Reporter }

func (w redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.r.stdout, w.r.redactor.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Mask registers the secrets with the runner (the first lines printed) and
// blanks them in everything printed afterwards. Outside GitHub Actions
// there is no runner to hide them, so no mask line is printed: it would
// show the secret in clear.
func (r *Reporter) Mask(secrets []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	masker := githubactions.New(githubactions.WithWriter(r.stdout), githubactions.WithGetenv(r.getenv))
	for _, s := range secrets {
		// A secret with a line break is masked line by line too, because
		// the runner masks each log line on its own.
		parts := append([]string{s}, strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")...)
		for _, p := range parts {
			// One mask line each: a one-line secret is its own only line,
			// and a secret may be handed in twice.
			if p = strings.TrimSpace(p); p != "" && !r.masked[p] {
				if r.masked == nil {
					r.masked = map[string]bool{}
				}
				r.masked[p] = true
				if r.inActions {
					masker.AddMask(p)
				}
				r.redactor.Add(p)
			}
		}
	}
}

// line makes one line of text safe to print: redacted, then folded and cut.
func (r *Reporter) line(s string) string {
	return safetext.OneLine(r.redactor.Redact(s), maxLine)
}

// lines is line for each line of a message.
func (r *Reporter) lines(s string) string {
	s = r.redactor.Redact(s)
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = safetext.OneLine(p, maxLine)
	}
	return strings.Join(parts, "\n")
}

// Infof prints a log line.
func (r *Reporter) Infof(format string, args ...any) {
	text := r.line(fmt.Sprintf(format, args...))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inActions {
		r.gh.Infof("%s", text)
		return
	}
	fmt.Fprintln(r.stdout, text)
}

// Debugf prints a line shown only with step debug logging on. Outside
// Actions it prints nothing unless RUNNER_DEBUG=1, since there is no
// runner to hide it.
func (r *Reporter) Debugf(format string, args ...any) {
	if !r.debug {
		return
	}
	text := r.line(fmt.Sprintf(format, args...))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inActions {
		r.gh.Debugf("%s", text)
		return
	}
	fmt.Fprintln(r.stderr, "debug: "+text)
}

// Group starts a collapsible log section; EndGroup ends it. Outside
// Actions the title is a plain line.
func (r *Reporter) Group(title string) {
	title = r.line(title)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inActions {
		r.gh.Group(title)
		return
	}
	fmt.Fprintln(r.stdout, title)
}

// EndGroup ends the section Group started.
func (r *Reporter) EndGroup() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inActions {
		r.gh.EndGroup()
	}
}

// Error writes an error annotation. The runner keeps at most 10 a step,
// so callers combine related problems into one.
func (r *Reporter) Error(title, message string) { r.annotate("error", title, message) }

// Warning writes a warning annotation.
func (r *Reporter) Warning(title, message string) { r.annotate("warning", title, message) }

// Notice writes a notice annotation: something the user should know that
// is not a problem.
func (r *Reporter) Notice(title, message string) { r.annotate("notice", title, message) }

func (r *Reporter) annotate(level, title, message string) {
	title, message = r.line(title), r.lines(message)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.inActions {
		// "error: zone-id: is required; ..." reads like any CLI.
		if title != "" {
			title += ": "
		}
		fmt.Fprintf(r.stderr, "%s: %s%s\n", level, title, strings.ReplaceAll(message, "\n", "\n  "))
		return
	}
	gh := r.gh.WithFieldsMap(map[string]string{"title": title})
	switch level {
	case "error":
		gh.Errorf("%s", message)
	case "notice":
		gh.Noticef("%s", message)
	default:
		gh.Warningf("%s", message)
	}
}

// SetOutput writes one step output, and reports whether it could. Outside
// Actions (no GITHUB_OUTPUT) it prints name=value instead.
//
// It writes the file itself rather than through go-githubactions, whose
// one fixed heredoc delimiter a value could hold on a line of its own,
// ending the block early (the runner then rejects the whole file): here
// each value gets a random delimiter, as the runner's own toolkit does.
func (r *Reporter) SetOutput(name, value string) bool {
	value = r.redactor.Redact(value)
	path := r.getenv("GITHUB_OUTPUT")
	if path == "" {
		r.mu.Lock()
		fmt.Fprintf(r.stdout, "%s=%s\n", name, strings.ReplaceAll(value, "\n", " "))
		r.mu.Unlock()
		return true
	}
	delim := delimiter(value)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		r.Error("Could not write the step outputs", err.Error())
		return false
	}
	return true
}

// delimiter is a heredoc delimiter that value does not hold.
func delimiter(value string) string {
	for {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		d := "ghadelimiter_" + hex.EncodeToString(b)
		if !strings.Contains(value, d) {
			return d
		}
	}
}

// AddSummary appends markdown to the job summary, when there is one. The
// markdown must already be safe: built with Markdown for every text from
// outside. A summary that cannot be written only warns: the step's work
// is done.
func (r *Reporter) AddSummary(markdown string) {
	if !r.inActions || r.getenv("GITHUB_STEP_SUMMARY") == "" {
		return
	}
	markdown = r.redactor.Redact(markdown)
	defer func() {
		// go-githubactions panics when the file cannot be written.
		if p := recover(); p != nil {
			r.Warning("Could not write GITHUB_STEP_SUMMARY", fmt.Sprint(p))
		}
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gh.AddStepSummary(markdown)
}

// Markdown makes one line of text safe for the summary: redacted first,
// then folded, cut and escaped.
func (r *Reporter) Markdown(s string) string { return safetext.Markdown(r.line(s)) }
