// Package report turns what a run resolved and did into what the user
// reads: the words of the run's mode, the log group's title and each
// batch's line, the results output's objects, the dry run's requests, the
// summary of the purge and why it failed, the table of changed paths, and
// the warnings of targets left out or answers that confirmed with
// errors. It says what to say; package action says it (log, annotations,
// outputs, summary).
//
// It imports action, cloudflare, config, purge, resolve and safetext.
package report

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
	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// Plan is what a run will do, as resolved (one job a zone), and how to
// say it.
type Plan struct {
	*resolve.Plan
	cfg   *config.Config
	Words Words
	// Explain, if set, says why Cloudflare refused zone's purge on the
	// credentials (asking it about the token), or "": its words replace
	// the generic hint.
	Explain func(err error, zone resolve.Zone) string
}

// New says p, resolved from cfg.
func New(p *resolve.Plan, cfg *config.Config) *Plan {
	return &Plan{Plan: p, cfg: cfg, Words: wordsFor(cfg.Operation)}
}

// Words are what the log says for the run's mode.
type Words struct {
	Ing, Ed, Noun string // "Purging", "purged", "purge"
}

func wordsFor(op cloudflare.Operation) Words {
	if op == cloudflare.Invalidate {
		return Words{"Invalidating", "invalidated", "invalidation"}
	}
	return Words{"Purging", "purged", "purge"}
}

// Scope says where the run acts: one zone or environment, or how many.
func (p *Plan) Scope() string {
	if len(p.Zones) != 1 {
		return fmt.Sprintf("%d zones", len(p.Zones))
	}
	if p.Environment != nil {
		return fmt.Sprintf("%s of %s", p.Environment.Label(), p.Zones[0].Label())
	}
	return p.Zones[0].Label()
}

// Title heads the log group of a run.
func (p *Plan) Title() string {
	if p.PurgeType == cloudflare.Everything {
		return fmt.Sprintf("%s everything cached for %s", p.Words.Ing, p.Scope())
	}
	targets, requests := 0, 0
	for _, j := range p.Jobs {
		targets += j.Count()
		requests += len(j.Batches)
	}
	return fmt.Sprintf("%s %s of %s in %d request(s)", p.Words.Ing, countOf(targets, p.PurgeType), p.Scope(), requests)
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

// Progress is the log line of one finished batch: n/N, the zone when
// there are several, items, attempts, and the ID or why it failed.
func (p *Plan) Progress(res purge.BatchResult, n, total int) string {
	var parts []string
	if res.Purged > 0 {
		parts = append(parts, fmt.Sprintf("%s, ID %s", p.Words.Ed, strings.Join(res.IDs, ", ")))
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

// ZoneResults are the results output's objects, before any request.
func (p *Plan) ZoneResults() []action.Zone {
	envID := p.cfg.EnvironmentID.String() // "" for the zone, or a name not looked up
	if p.Environment != nil {
		envID = p.Environment.ID.String()
	}
	out := make([]action.Zone, len(p.Zones))
	for i, z := range p.Zones {
		out[i] = action.Zone{ID: z.ID.String(), Name: z.Name, EnvironmentID: envID}
	}
	return out
}

func (p *Plan) DryRun() action.DryRun {
	d := action.DryRun{Noun: p.Words.Noun, Zones: p.ZoneResults(), Scope: p.Scope(), PurgeType: string(p.PurgeType)}
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

// Summarize counts what the outcome's results say, zone by zone, and
// carries the batch size it learned. A batch counts as failed when any of
// its targets was not purged: rejected on its own by Cloudflare, or in a
// part that failed for another reason.
func (p *Plan) Summarize(out purge.Outcome, took time.Duration) action.Result {
	res := action.Result{
		Noun:             p.Words.Noun,
		Verb:             p.Words.Ed,
		Scope:            p.Scope(),
		PurgeType:        string(p.PurgeType),
		Zones:            p.ZoneResults(),
		Requests:         len(out.Results),
		Took:             took,
		LearnedBatchSize: out.LearnedBatchSize,
	}
	var failed []purge.BatchResult
	var rejected []string
	for _, r := range out.Results {
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
	res.Failures = append(p.groupFailures(failed), CapLines(rejected, MaxFailureLines)...)
	switch {
	case len(failed) > 0:
		stopper := stoppedBy(failed)
		why, hint := explain(stopper.Err)
		if p.Explain != nil {
			if words := p.Explain(stopper.Err, p.Zones[stopper.Job]); words != "" {
				hint = words
			}
		}
		if apiErr, ok := errors.AsType[*cloudflare.APIError](stopper.Err); ok && apiErr.Status == http.StatusNotFound && p.cfg.Operation == cloudflare.Invalidate {
			why = "the invalidate_cache endpoint was not found (HTTP 404)"
			hint = "This API has no invalidation route for this zone or environment: use mode: purge."
		}
		res.FailureTitle = fmt.Sprintf("Cloudflare %s failed: %s", p.Words.Noun, why)
		res.Hint = hint
	case len(rejected) > 0:
		res.FailureTitle = fmt.Sprintf("Cloudflare %s failed: %d target(s) rejected", p.Words.Noun, len(rejected))
		res.Hint = fmt.Sprintf("Every other target was %s. Fix or remove the rejected ones.", p.Words.Ed)
	}
	return res
}

// where names a job's zone, when there are several, followed by sep.
func (p *Plan) where(job int, sep string) string {
	if len(p.Zones) < 2 {
		return ""
	}
	return p.Zones[job].Label() + sep
}

// CapLines keeps the first max-1 lines and says how many more there were.
func CapLines(lines []string, max int) []string {
	if len(lines) <= max {
		return lines
	}
	return append(lines[:max-1:max-1], fmt.Sprintf("and %d more", len(lines)-max+1))
}

// groupFailures lists failed batches, one line per distinct error (and
// zone), so a hundred batches stopped for one reason make one line, not a
// hundred.
func (p *Plan) groupFailures(failed []purge.BatchResult) []string {
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
	lines := make([]string, 0, min(len(order), MaxFailureLines))
	for i, k := range order {
		if i == MaxFailureLines-1 && len(order) > MaxFailureLines {
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

// MaxFailureLines bounds the failure lines of the annotation and summary:
// the runner shows 4,096 characters of an annotation, and a purge of
// thousands of requests could fail in as many different ways.
const MaxFailureLines = 20

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

// stoppedBy is the failed batch the headline names: one refused on the
// credentials when there was one, since that stopped the run (the
// batches it kept from being sent fail with purge.ErrStopped, whichever
// came first), else the first.
func stoppedBy(failed []purge.BatchResult) purge.BatchResult {
	for _, f := range failed {
		if apiErr, ok := errors.AsType[*cloudflare.APIError](f.Err); ok && apiErr.AuthFailure() {
			return f
		}
	}
	return failed[0]
}

// explain says in a few words why the purge failed, for the title, and
// what to do about the most common failures.
func explain(err error) (why, hint string) {
	apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
	_, isRefused := errors.AsType[*outbound.RefusedError](err)
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
	case isRefused:
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

// WarnOnce says, as a warning, the errors[] of an answer that confirmed
// all the same ("success": true): what was asked stands, and what
// Cloudflare said beside it is the user's to read. Each distinct set of
// errors is said once, however many answers carry it; the Reporter
// redacts and escapes it.
func WarnOnce(rep *action.Reporter) func(string, []cloudflare.ErrorItem) {
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

// maxTableRows bounds the log's table of changed paths; the rest are
// counted.
const maxTableRows = 1000

// Changes logs how purge-type changed was resolved: every changed path
// and what it purges, each line starting with the quoted path (redacted
// first), so no file name can start a workflow command; and, when
// everything is purged instead, a notice saying why.
func (p *Plan) Changes(rep *action.Reporter, secrets *resolve.Secrets) {
	ch := p.Plan.Changes
	if ch == nil {
		return
	}
	if ch.FromTrees {
		rep.Infof("GitHub's comparison lists %d files, its most, so the trees of changed-since and GITHUB_SHA were compared instead.", changed.CompareFilesCap)
	}
	if len(ch.Rows) > 0 {
		skipped := 0
		for _, row := range ch.Rows {
			if row.Skipped != "" {
				skipped++
			}
		}
		rep.Group(fmt.Sprintf("Changed files (%s): %d path(s), %d not purged", ch.Source, len(ch.Rows), skipped))
		for i, row := range ch.Rows {
			if i == maxTableRows {
				rep.Infof("and %d more path(s)", len(ch.Rows)-i)
				break
			}
			what := "not purged: " + row.Skipped
			if row.Skipped == "" {
				what = strings.Join(row.URLs, " ")
			}
			rep.Infof("%s -> %s", secrets.Quote(row.Path), what)
		}
		rep.EndGroup()
	}
	if ch.Everything != "" && p.Nothing == "" {
		title := "Purging everything"
		if p.cfg.DryRun {
			title = "Dry run: would purge everything"
		}
		rep.Notice(title, "purge-type changed purges everything instead of the changed files: "+ch.Everything)
	}
}

// Withheld lists, in one warning, the targets not purged and the URLs
// not checked because they held a secret.
func (p *Plan) Withheld(rep *action.Reporter) {
	if len(p.NotPurged)+len(p.NotChecked) == 0 {
		return
	}
	var lines []string
	for _, v := range p.NotPurged {
		lines = append(lines, "not purged: "+v)
	}
	for _, v := range p.NotChecked {
		lines = append(lines, "not checked: "+v)
	}
	rep.Warning("Not sent: held a secret", fmt.Sprintf(
		"%d target(s) and %d URL(s) to check hold a secret (api-token, api-key, CLOUDFLARE_API_TOKEN or github-token), so no request carries them; the rest go on.\n%s\n"+
			"A secret in a file name, a target or an input is no longer secret: rename the file, and roll the secret.",
		len(p.NotPurged), len(p.NotChecked), strings.Join(CapLines(lines, MaxFailureLines), "\n")))
}

// SitemapRead logs how the sitemap input was read (in a dry run too: it
// is the one request a dry run makes), and warns once of the URLs it
// skipped and of a bound that cut the checks.
func (p *Plan) SitemapRead(rep *action.Reporter) {
	sm := p.Plan.Sitemap
	if sm == nil {
		return
	}
	res := sm.Result
	dry := ""
	if p.cfg.DryRun {
		dry = " (a dry run reads it: the one request it makes)"
	}
	rep.Infof("Sitemap %s%s: %d URL(s) from %d sitemap file(s); %d older than sitemap-since left out, %d listed twice, %d skipped, %d of hosts no listed zone owns.",
		sm.URL, dry, len(res.URLs), len(res.Sitemaps), res.Older, res.Duplicates, res.SkippedCount, len(sm.Unowned))
	var lines []string
	for _, s := range res.Skipped {
		lines = append(lines, fmt.Sprintf("%s in %s: %s", s.Loc, s.Sitemap, s.Why))
	}
	if more := res.SkippedCount - len(res.Skipped); more > 0 {
		lines = append(lines, fmt.Sprintf("and %d more", more))
	}
	for _, u := range sm.Unowned {
		lines = append(lines, u+": on a host no listed zone owns; never sent")
	}
	if len(lines) > 0 {
		rep.Warning("Sitemap: URLs skipped", fmt.Sprintf("%d URL(s) of the sitemap were not taken:\n%s",
			res.SkippedCount+len(sm.Unowned), strings.Join(CapLines(lines, MaxFailureLines), "\n")))
	}
	if sm.Cut != nil {
		rep.Warning("Sitemap: cut", fmt.Sprintf("the sitemap went past a bound (%s): everything is purged all the same; only the checks are cut to the %d URL(s) read.",
			strings.ReplaceAll(sm.Cut.Error(), "\n", "; "), len(res.URLs)))
	}
}
