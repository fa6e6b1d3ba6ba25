package action

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
)

// maxAnnotations is how many error annotations the runner keeps per step.
const maxAnnotations = 10

// InvalidInputs writes one annotation per bad input, titled "Invalid
// input NAME"; past the runner's ten, the rest share the last one.
// Outside Actions each is one line: "error: zone-id: is required; ...".
func (r *Reporter) InvalidInputs(problems []problem.Problem) {
	r.stopped("error", problems, "Invalid input ", "Invalid inputs", "Nothing was sent: fix the input(s) above.")
}

// StoppedBeforePurge reports what stopped the run after its inputs were
// accepted and before anything was purged: lookups that were refused,
// found nothing or too much, failed or were stopped, or changes that
// could not be read. One annotation each, titled with the input that
// asked for it. Soft (on-error: warn) makes them warnings and writes the
// outputs of a run that purged nothing, results holding zones (nothing
// done in them); it reports whether they could be written.
func (r *Reporter) StoppedBeforePurge(problems []problem.Problem, soft bool, zones []Zone) bool {
	if !soft {
		r.stopped("error", problems, "", "Stopped before the purge", "Nothing was purged.")
		return true
	}
	r.stopped("warning", problems, "", "Stopped before the purge", "Nothing was purged; on-error: warn, so the step does not fail.")
	return r.setOutputs(nil, 0, zones) && r.setCheckOutputs(Checks{})
}

// stopped reports problems that ended the run before any purge: one
// annotation of level each, titled prefix+input (past the runner's ten,
// the rest share the last, titled "HEADING (N more)"), a closing log line
// and a summary list under the heading.
func (r *Reporter) stopped(level string, problems []problem.Problem, prefix, heading, closing string) {
	for i, p := range problems {
		if !r.inActions {
			r.annotate(level, p.Input, p.Message)
			continue
		}
		if i == maxAnnotations-1 && len(problems) > maxAnnotations {
			rest := make([]string, 0, len(problems)-i)
			for _, q := range problems[i:] {
				rest = append(rest, fmt.Sprintf("input %s: %s", q.Input, q.Message))
			}
			r.annotate(level, fmt.Sprintf("%s (%d more)", heading, len(rest)), strings.Join(rest, "\n"))
			break
		}
		title := prefix + p.Input
		if p.Title != "" {
			title = p.Title
		}
		r.annotate(level, title, p.Message)
	}
	r.Infof("%s", closing)
	var md strings.Builder
	fmt.Fprintf(&md, "### Cloudflare cache purge: %s\n\n%s\n\n", strings.ToLower(heading), closing)
	for _, p := range problems {
		fmt.Fprintf(&md, "- `%s`: %s\n", p.Input, r.Markdown(p.Message))
	}
	r.AddSummary(md.String())
}

// DryRun is what a dry run would send.
type DryRun struct {
	Noun      string // "purge" or "invalidation"
	Zones     []Zone // what the run would touch, nothing done
	Scope     string
	PurgeType string
	Targets   int
	Count     int // requests
	// Requests yields them one at a time: a dry run of a million URLs
	// prints each body as it is made rather than holding them all.
	Requests iter.Seq[DryRequest]
	// Gets are the requests to the site the checks would send (GetCount
	// of them), printed the same way.
	GetCount int
	Gets     iter.Seq[DryGet]
}

// DryRequest is one request a dry run prints.
type DryRequest struct {
	URL  string
	Body string
}

// DryRun prints every request the run would send, and reports whether the
// outputs could be written. The outputs are empty: nothing was purged.
func (r *Reporter) DryRun(d DryRun) bool {
	r.Group(fmt.Sprintf("Dry run: %d request(s) for %s, purge type %s (nothing is sent)", d.Count, d.Scope, d.PurgeType))
	i := 0
	for req := range d.Requests {
		i++
		r.Infof("[%d/%d] POST %s", i, d.Count, req.URL)
		r.Infof("%s", req.Body)
	}
	r.EndGroup()
	r.dryGets(d.GetCount, d.Gets)
	ok := r.setOutputs(nil, 0, d.Zones) && r.setCheckOutputs(Checks{})
	r.AddSummary(fmt.Sprintf("### Cloudflare cache "+d.Noun+": dry run\n\n"+
		"Nothing was sent. %d request(s) planned for %s, purge type `%s`, %d target(s).\n",
		d.Count, r.Markdown(d.Scope), r.Markdown(d.PurgeType), d.Targets))
	return ok
}

// Result is how a run ended, in numbers and words.
type Result struct {
	Noun      string // "purge" or "invalidation", for titles
	Verb      string // "purged" or "invalidated"
	Scope     string // e.g. "zone 023e…", "environment e1 of zone 023e…", "3 zones"
	PurgeType string
	Zones     []Zone   // one per zone, in input order
	Targets   int      // targets asked for, over every zone
	Done      int      // targets the API confirmed
	IDs       []string // of the requests that succeeded, zone by zone, in order
	Requests  int
	Failed    int // requests that did not succeed
	Attempts  int
	Took      time.Duration
	// LearnedBatchSize is the request size Cloudflare was found to take
	// after it refused a larger one: the rest of the run went at it (0:
	// nothing was refused for its size).
	LearnedBatchSize int
	// Failure, when requests failed: a title, one line per distinct
	// error, and a hint of what to do.
	FailureTitle string
	Failures     []string
	Hint         string
	// Checks are the requests to the site around the purge (checks.go).
	Checks Checks
	// NotSent, when set, says why nothing was sent (wait-for never
	// matched): the summary then reports only that and the checks.
	NotSent string
	// ChecksFailed says what verify: fail found that fails the step
	// ("stale URLs", "broken URLs", "stale and broken URLs"), "" when
	// nothing: the summary's heading says so.
	ChecksFailed string
}

// Zone is what a run did in one zone: the results output's object.
type Zone struct {
	ID            string   `json:"zone-id"`
	Name          string   `json:"zone"`           // "" when not looked up
	EnvironmentID string   `json:"environment-id"` // "" for the zone itself
	IDs           []string `json:"purge-ids"`
	Count         int      `json:"count"`  // targets confirmed
	Failed        int      `json:"failed"` // targets not done
	// URLs of the zone verify judged fresh, stale and broken, and warm
	// warmed.
	Verified int `json:"verified"`
	Stale    int `json:"stale"`
	Broken   int `json:"broken"`
	Warmed   int `json:"warmed"`
}

// Finish writes the outputs and the job summary of a run that sent its
// requests, and a log line when all went through. It reports whether the
// outputs were written. A failure's annotation is Failed's (Result.Failure
// says what it is), so that on-error is applied in one place.
func (r *Reporter) Finish(res Result) bool {
	outputsOK := r.setOutputs(res.IDs, res.Done, res.Zones) && r.setCheckOutputs(res.Checks)
	if res.NotSent != "" {
		r.AddSummary(fmt.Sprintf("### Cloudflare cache %s: nothing sent\n\n%s\n", res.Noun, r.Markdown(res.NotSent)) + r.checksMarkdown(res.Checks))
		return outputsOK
	}
	if res.Failed == 0 {
		r.Infof("%s %d target(s) of %s in %d request(s), %s.", capitalize(res.Verb), res.Done, res.Scope, res.Requests, res.Took.Round(time.Millisecond))
	}
	var md strings.Builder
	// The heading says how the step ended.
	status := "succeeded"
	switch {
	case res.Failed > 0:
		status = "failed"
	case res.ChecksFailed != "":
		status = "done, but verify found " + res.ChecksFailed
	}
	fmt.Fprintf(&md, "### Cloudflare cache %s %s\n\n| | |\n|---|---|\n", res.Noun, status)
	fmt.Fprintf(&md, "| Scope | %s |\n| Purge type | `%s` |\n", r.Markdown(res.Scope), r.Markdown(res.PurgeType))
	fmt.Fprintf(&md, "| Targets | %d (%d %s) |\n", res.Targets, res.Done, res.Verb)
	fmt.Fprintf(&md, "| Requests | %d (%d succeeded, %d attempts) |\n", res.Requests, res.Requests-res.Failed, res.Attempts)
	if n := res.LearnedBatchSize; n > 0 {
		fmt.Fprintf(&md, "| Batch size | %d a request after Cloudflare refused a larger one: set `batch-size: %d` |\n", n, n)
	}
	fmt.Fprintf(&md, "| Duration | %s |\n", res.Took.Round(time.Millisecond))
	if len(res.IDs) > 0 {
		fmt.Fprintf(&md, "| IDs | %s |\n", r.idList(res.IDs))
	}
	if len(res.Zones) > 1 {
		fmt.Fprintf(&md, "\n| Zone | Zone ID | Targets %s | Not %s | IDs |\n|---|---|---|---|---|\n", res.Verb, res.Verb)
		for _, z := range res.Zones {
			name := "—" // given by ID and not looked up
			if z.Name != "" {
				name = r.Markdown(z.Name)
			}
			fmt.Fprintf(&md, "| %s | `%s` | %d | %d | %s |\n", name, r.Markdown(z.ID), z.Count, z.Failed, r.idList(z.IDs))
		}
	}
	if len(res.Failures) > 0 {
		md.WriteString("\n**Errors**\n\n")
		for _, f := range res.Failures {
			fmt.Fprintf(&md, "- %s\n", r.Markdown(f))
		}
	}
	md.WriteString(r.checksMarkdown(res.Checks))
	r.AddSummary(md.String())
	return outputsOK
}

// Failure is the problem of a run whose requests failed, or nil: titled
// FailureTitle, one line per distinct error, and the hint.
func (res Result) Failure() *problem.Error {
	if res.Failed == 0 || res.NotSent != "" {
		return nil
	}
	// Each failure is one line of the message, whatever line breaks the
	// server's text held (the reporter redacts, then cuts each line).
	failures := make([]string, len(res.Failures))
	for i, f := range res.Failures {
		failures[i] = strings.Join(strings.FieldsFunc(f, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	}
	msg := fmt.Sprintf("%d of %d request(s) failed; %d of %d target(s) not %s.\n%s",
		res.Failed, res.Requests, res.Targets-res.Done, res.Targets, res.Verb, strings.Join(failures, "\n"))
	if res.Hint != "" {
		msg += "\n" + res.Hint
	}
	return &problem.Error{Kind: problem.PurgeFailed, Problems: []problem.Problem{{Input: "purge", Title: res.FailureTitle, Message: msg}}}
}

// Failed writes the annotations of a run that failed after its inputs
// were accepted (a purge, the checks, a wait-for), its outputs and
// summary already written: errors, or with soft (on-error: warn)
// warnings that say the step does not fail.
func (r *Reporter) Failed(problems []problem.Problem, soft bool) {
	for _, p := range problems {
		title := p.Title
		if title == "" {
			title = p.Input
		}
		if soft {
			r.Warning(title, p.Message+"\non-error: warn, so the step does not fail.")
			continue
		}
		r.Error(title, p.Message)
	}
}

// idList shows the first fifty IDs in code spans, then how many more.
func (r *Reporter) idList(ids []string) string {
	const shown = 50
	list := make([]string, 0, shown)
	for _, id := range ids[:min(len(ids), shown)] {
		list = append(list, "`"+r.Markdown(id)+"`")
	}
	s := strings.Join(list, ", ")
	if len(ids) > shown {
		s += fmt.Sprintf(" and %d more", len(ids)-shown)
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// setOutputs writes purge-id, purge-ids, count and results.
func (r *Reporter) setOutputs(ids []string, count int, zones []Zone) bool {
	if ids == nil {
		ids = []string{}
	}
	first := ""
	if len(ids) > 0 {
		first = ids[0]
	}
	if zones == nil {
		zones = []Zone{}
	}
	for i := range zones {
		if zones[i].IDs == nil {
			zones[i].IDs = []string{}
		}
	}
	idsJSON, _ := json.Marshal(ids)     // a []string always marshals
	zonesJSON, _ := json.Marshal(zones) // and so do these plain structs
	return r.SetOutput("purge-id", first) &&
		r.SetOutput("purge-ids", string(idsJSON)) &&
		r.SetOutput("count", fmt.Sprint(count)) &&
		r.SetOutput("results", string(zonesJSON))
}
