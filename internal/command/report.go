package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// This file turns jobs and results into the plain values the reporter
// prints: what to say, not how to print it.

// plan is what a run will do, as resolved (one job a zone), and how to
// say it.
type plan struct {
	*resolve.Plan
	cfg   *config.Config
	words words
}

// words are what the log says for the run's mode.
type words struct {
	ing, ed, noun string // "Purging", "purged", "purge"
}

func wordsFor(op cloudflare.Operation) words {
	if op == cloudflare.Invalidate {
		return words{"Invalidating", "invalidated", "invalidation"}
	}
	return words{"Purging", "purged", "purge"}
}

// scope says where the run acts: one zone or environment, or how many.
func (p *plan) scope() string {
	if len(p.Zones) != 1 {
		return fmt.Sprintf("%d zones", len(p.Zones))
	}
	if p.Environment != nil {
		return fmt.Sprintf("%s of %s", p.Environment.Label(), p.Zones[0].Label())
	}
	return p.Zones[0].Label()
}

// title heads the log group of a run.
func (p *plan) title() string {
	if p.cfg.PurgeType == cloudflare.Everything {
		return fmt.Sprintf("%s everything cached for %s", p.words.ing, p.scope())
	}
	targets, requests := 0, 0
	for _, j := range p.Jobs {
		targets += j.Count()
		requests += len(j.Batches)
	}
	return fmt.Sprintf("%s %s of %s in %d request(s)", p.words.ing, countOf(targets, p.cfg.PurgeType), p.scope(), requests)
}

// countOf counts targets of a purge type: "1 tag", "2 tags", "1 prefix".
func countOf(n int, typ cloudflare.PurgeType) string {
	if n != 1 {
		return fmt.Sprintf("%d %s", n, typ)
	}
	one := map[cloudflare.PurgeType]string{cloudflare.Files: "file", cloudflare.Tags: "tag", cloudflare.Hosts: "host", cloudflare.Prefixes: "prefix"}[typ]
	if one == "" {
		one = string(typ)
	}
	return "1 " + one
}

// progress is the log line of one finished batch: n/N, the zone when
// there are several, items, attempts, and the ID or why it failed.
func (p *plan) progress(res purge.BatchResult, n, total int) string {
	var parts []string
	if res.Purged > 0 {
		parts = append(parts, fmt.Sprintf("%s, ID %s", p.words.ed, strings.Join(res.IDs, ", ")))
	}
	if len(res.Rejected) > 0 {
		parts = append(parts, fmt.Sprintf("%d rejected by Cloudflare", len(res.Rejected)))
	}
	if res.Err != nil {
		parts = append(parts, "FAILED: "+res.Err.Error())
	}
	status := strings.Join(parts, "; ")
	where := ""
	if len(p.Zones) > 1 {
		where = p.Zones[res.Job].Label() + ": "
	}
	return fmt.Sprintf("[%d/%d] %s%d item(s), %s: %s", n, total, where, res.Batch.Count(), plural(res.Attempts, "attempt"), status)
}

// zoneResults are the results output's objects, before any request.
func (p *plan) zoneResults() []action.Zone {
	envID := ""
	if p.Environment != nil {
		envID = p.Environment.ID.String()
	}
	out := make([]action.Zone, len(p.Zones))
	for i, z := range p.Zones {
		out[i] = action.Zone{ID: z.ID.String(), Name: z.Name, EnvironmentID: envID}
	}
	return out
}

func (p *plan) dryRun() action.DryRun {
	d := action.DryRun{Noun: p.words.noun, Zones: p.zoneResults(), Scope: p.scope(), PurgeType: string(p.cfg.PurgeType)}
	for _, j := range p.Jobs {
		d.Targets += j.Count()
		d.Count += len(j.Batches)
	}
	d.Requests = func(yield func(action.DryRequest) bool) {
		for _, j := range p.Jobs {
			url, err := cloudflare.Endpoint(p.cfg.APIURL, j.Scope, j.Operation)
			if err != nil {
				url = "(not sent: " + err.Error() + ")"
			}
			for _, b := range j.Batches {
				body, err := json.Marshal(b.Body())
				if err != nil {
					body = []byte("(cannot encode: " + err.Error() + ")")
				}
				if !yield(action.DryRequest{URL: url, Body: string(body)}) {
					return
				}
			}
		}
	}
	return d
}

// summarize counts what the results say, zone by zone. A batch counts
// as failed when any of its targets was not purged: rejected on its own
// by Cloudflare, or in a part that failed for another reason.
func (p *plan) summarize(results []purge.BatchResult, took time.Duration) action.Result {
	res := action.Result{
		Noun:      p.words.noun,
		Verb:      p.words.ed,
		Scope:     p.scope(),
		PurgeType: string(p.cfg.PurgeType),
		Zones:     p.zoneResults(),
		Requests:  len(results),
		Took:      took,
	}
	var failed []purge.BatchResult
	var rejected []string
	for _, r := range results {
		z := &res.Zones[r.Job]
		res.Targets += r.Batch.Count()
		res.Attempts += r.Attempts
		res.IDs = append(res.IDs, r.IDs...)
		z.IDs = append(z.IDs, r.IDs...)
		res.Done += r.Purged
		z.Count += r.Purged
		z.Failed += r.Batch.Count() - r.Purged
		if r.Err != nil {
			failed = append(failed, r)
		}
		for _, rej := range r.Rejected {
			rejected = append(rejected, fmt.Sprintf("%srejected %s: %v", p.where(r.Job, ", "), safetext.Quote(rej.Target.Value), rej.Err))
		}
		if r.Err != nil || len(r.Rejected) > 0 {
			res.Failed++
		}
	}
	res.Failures = append(p.groupFailures(failed), capLines(rejected, maxFailureLines)...)
	switch {
	case len(failed) > 0:
		why, hint := explain(stoppedBy(failed))
		if apiErr, ok := errors.AsType[*cloudflare.APIError](stoppedBy(failed)); ok && apiErr.Status == http.StatusNotFound && p.cfg.Operation == cloudflare.Invalidate {
			why = "the invalidate_cache endpoint was not found (HTTP 404)"
			hint = "This API has no invalidation route for this zone or environment: use mode: purge."
		}
		res.FailureTitle = fmt.Sprintf("Cloudflare %s failed: %s", p.words.noun, why)
		res.Hint = hint
	case len(rejected) > 0:
		res.FailureTitle = fmt.Sprintf("Cloudflare %s failed: %d target(s) rejected", p.words.noun, len(rejected))
		res.Hint = fmt.Sprintf("Every other target was %s. Fix or remove the rejected ones.", p.words.ed)
	}
	return res
}

// where names a job's zone, when there are several, followed by sep.
func (p *plan) where(job int, sep string) string {
	if len(p.Zones) < 2 {
		return ""
	}
	return p.Zones[job].Label() + sep
}

// capLines keeps the first max-1 lines and says how many more there were.
func capLines(lines []string, max int) []string {
	if len(lines) <= max {
		return lines
	}
	return append(lines[:max-1:max-1], fmt.Sprintf("and %d more", len(lines)-max+1))
}

// groupFailures lists failed batches, one line per distinct error (and
// zone), so a hundred batches stopped for one reason make one line, not a
// hundred.
func (p *plan) groupFailures(failed []purge.BatchResult) []string {
	type key struct {
		job  int
		kind string // the message with its durations blanked
	}
	var order []key
	batches := map[key][]int{}
	first := map[key]string{} // the first message of each kind, shown
	for _, f := range failed {
		msg := f.Err.Error()
		k := key{f.Job, numbers.ReplaceAllString(msg, "#")}
		if _, ok := batches[k]; !ok {
			order = append(order, k)
			first[k] = msg
		}
		batches[k] = append(batches[k], f.Batch.Index+1)
	}
	lines := make([]string, 0, min(len(order), maxFailureLines))
	for i, k := range order {
		if i == maxFailureLines-1 && len(order) > maxFailureLines {
			lines = append(lines, fmt.Sprintf("and %d more different errors", len(order)-i))
			break
		}
		msg := first[k]
		if n := len(batches[k]); n > 1 && msg != k.kind {
			msg += fmt.Sprintf(" (and %d alike but for their numbers)", n-1)
		}
		lines = append(lines, fmt.Sprintf("%srequest %s of %d: %s", p.where(k.job, ", "), ranges(batches[k]), len(p.Jobs[k.job].Batches), msg))
	}
	return lines
}

// numbers finds the durations and attempt counts in a message: failures
// that differ only in them (a wait of 47s and one of 48s) are one kind.
// Status and error codes are left alone: they tell different failures
// apart.
var numbers = regexp.MustCompile(`\b([0-9]+(\.[0-9]+)?(ns|µs|ms|h|m|s))+\b|after ([0-9]+ attempts|1 attempt)`)

// maxFailureLines bounds the failure lines of the annotation and summary:
// the runner shows 4,096 characters of an annotation, and a purge of
// thousands of requests could fail in as many different ways.
const maxFailureLines = 20

// ranges writes ascending numbers compactly: 1-3, 5, 7-9.
func ranges(ns []int) string {
	var parts []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", ns[i], ns[j]))
		} else {
			parts = append(parts, fmt.Sprint(ns[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// stoppedBy is the failure the headline names: an authentication
// failure when there was one, since it stopped the run (the batches it
// kept from being sent fail with purge.ErrStopped, whichever came
// first), else the first batch's.
func stoppedBy(failed []purge.BatchResult) error {
	for _, f := range failed {
		if apiErr, ok := errors.AsType[*cloudflare.APIError](f.Err); ok && apiErr.AuthFailure() {
			return f.Err
		}
	}
	return failed[0].Err
}

// explain says in a few words why the purge failed, for the title, and
// what to do about the most common failures.
func explain(err error) (why, hint string) {
	apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
	switch {
	case isAPI && apiErr.AuthFailure():
		return fmt.Sprintf("authentication error (HTTP %d)", apiErr.Status),
			"Check that the token is valid and has the Zone > Cache Purge permission for this zone (or that api-email and api-key belong together)."
	case isAPI && apiErr.RateLimited():
		return fmt.Sprintf("rate limited (HTTP %d)", apiErr.Status),
			"Cloudflare's purge rate limit was hit: set the plan input to pace requests, lower concurrency, or raise timeout."
	case purge.TimedOut(err):
		return "timeout", "Raise the timeout input, or set plan so requests are paced from the start."
	case errors.Is(err, context.Canceled):
		return "cancelled", "The run was stopped (the job was cancelled, or the runner sent SIGTERM)."
	case isAPI:
		return fmt.Sprintf("HTTP %d", apiErr.Status), ""
	case isRefused(err):
		return "a request held a secret",
			"Its targets were not sent: together they hold a secret (api-token, api-key, CLOUDFLARE_API_TOKEN or github-token). Roll the secret, and change the targets."
	}
	return "request error", ""
}

// plural counts n things: "1 attempt", "2 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// warnOnce says, as a warning, the errors[] of an answer that confirmed
// all the same ("success": true): what was asked stands, and what
// Cloudflare said beside it is the user's to read. Each distinct set of
// errors is said once, however many answers carry it; the Reporter
// redacts and escapes it.
func warnOnce(rep *action.Reporter) func(string, []cloudflare.ErrorItem) {
	var mu sync.Mutex
	said := map[string]bool{}
	return func(request string, errs []cloudflare.ErrorItem) {
		texts := make([]string, len(errs))
		for i, e := range errs {
			texts[i] = e.String()
		}
		text := strings.Join(texts, "; ")
		mu.Lock()
		first := !said[text]
		said[text] = true
		mu.Unlock()
		if first {
			rep.Warning("Cloudflare answered with errors", fmt.Sprintf("Cloudflare confirmed %s but its answer also lists errors: %s", request, text))
		}
	}
}
