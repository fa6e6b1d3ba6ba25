// Package checks runs the requests to the user's site around a purge,
// over a resolved plan: wait-for before it (the new build is served),
// verify and warm after it, every step optional, all inside timeout. It
// decides what to request (verify-urls, else the targets of a files
// purge), when each URL was purged (purge.BatchResult.Confirmed) and in
// which zone's results it counts (resolve.Owner), and reports what it
// found; package site makes the requests and judges the answers.
//
// It imports action, cloudflare, config, problem, purge, report, resolve,
// retry, site and targets.
package checks

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/report"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// maxRows is how many URLs the verify table of the summary shows.
const maxRows = 50

// siteRequestTime is what the time-budget check counts for one request to
// the site: a page is a fraction of it, and it leaves room for a stale
// URL's retries.
const siteRequestTime = time.Second

// Checks are one run's checks: what to request and what came of it.
type Checks struct {
	cfg   *config.Config
	plan  *report.Plan
	rep   *action.Reporter
	site  *site.Client
	steps action.Checks
}

// New makes the checks of plan, requested through client.
func New(cfg *config.Config, plan *report.Plan, rep *action.Reporter, client *site.Client) *Checks {
	return &Checks{cfg: cfg, plan: plan, rep: rep, site: client}
}

// checking reports whether verify or warm will request the URLs to check.
func (pl *Checks) checking() bool { return pl.cfg.Verify != config.VerifyNone || pl.cfg.Warm }

// checkList is the URLs verify and warm request: verify-urls, else the
// targets of a files purge.
func (pl *Checks) checkList() []cloudflare.Target {
	switch {
	case !pl.checking():
		return nil
	case pl.plan.VerifyURLs != nil:
		return pl.plan.VerifyURLs
	case pl.plan.PurgeType == cloudflare.Files:
		return pl.plan.Targets
	}
	return nil
}

// Budget shares timeout between wait-for, the purge and the checks
// (purge.SplitTimeout): the checks need one request a URL, Concurrency at
// a time, once for verify and once for warm.
func (pl *Checks) Budget(timeout time.Duration) (purge.Budget, error) {
	passes := 0
	if pl.cfg.Verify != config.VerifyNone {
		passes++
	}
	if pl.cfg.Warm {
		passes++
	}
	n := len(pl.checkList())
	rounds := (n + pl.cfg.Concurrency - 1) / pl.cfg.Concurrency
	need := time.Duration(rounds*passes) * siteRequestTime
	return purge.SplitTimeout(pl.plan.Jobs, pl.cfg.Plan.Limits(), timeout, need, n, pl.cfg.Concurrency, pl.cfg.WaitFor != "")
}

// Wait polls wait-for until it serves the new build, until deadline
// (the run's start plus Budget's Wait). Its error, when it never did, is
// a problem.Stopped naming wait-for; the outputs and summary are then
// NotSent's.
func (pl *Checks) Wait(ctx context.Context, deadline time.Time) error {
	if pl.cfg.WaitFor == "" {
		return nil
	}
	what := "a 2xx answer"
	if pl.cfg.WaitForText != "" {
		what = "a 2xx answer holding wait-for-text"
	}
	pl.rep.Group(fmt.Sprintf("wait-for: waiting for %s from %s", what, pl.cfg.WaitFor))
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	res, err := pl.site.Wait(wctx, pl.cfg.WaitFor, pl.cfg.WaitForText, func(p site.Poll) {
		pl.rep.Infof("poll %d: %s; next in %s", p.N, p.Last, p.Next)
	})
	pl.steps.Wait = &action.Wait{URL: pl.cfg.WaitFor, Polls: res.Polls, Took: res.Took, Matched: err == nil}
	if err == nil {
		pl.rep.Infof("poll %d matched after %s: the new build is served.", res.Polls, res.Took.Round(time.Second))
	}
	pl.rep.EndGroup()
	if err == nil {
		return nil
	}
	why := "the time left for waiting ran out (timeout, less the purge's and the checks' needs)"
	if err := ctx.Err(); err != nil {
		why = retry.Interrupted(err).Error()
	}
	return problem.New(problem.Stopped, "wait-for", "%s did not serve %s: %s after %d poll(s) in %s; the last answer: %s. Nothing was purged.\n%s",
		pl.cfg.WaitFor, what, why, res.Polls, res.Took.Round(time.Second), res.Last,
		"Check that the deploy finished and that the URL serves wait-for-text, or raise timeout.")
}

// NotSent is the result of a run that wait-for stopped: nothing sent.
func (pl *Checks) NotSent() action.Result {
	p := pl.plan
	return action.Result{Noun: p.Words.Noun, Verb: p.Words.Ed, Scope: p.Scope(), PurgeType: string(p.PurgeType), Zones: p.ZoneResults(),
		NotSent: "wait-for never served the new build within the time left for it, so nothing was " + p.Words.Ed + ".", Checks: pl.steps}
}

// confirmations are when Cloudflare confirmed the purge of each target,
// by zone ID and target key, and the earliest of each zone, read from
// the purge's results.
type confirmations struct {
	byTarget map[string]time.Time // zone ID + target key -> T
	byZone   map[string]time.Time // zone ID -> the earliest T
}

func (pl *Checks) confirmations(results []purge.BatchResult) confirmations {
	c := confirmations{byTarget: map[string]time.Time{}, byZone: map[string]time.Time{}}
	for _, r := range results {
		if r.First.IsZero() {
			continue
		}
		zone := pl.plan.Zones[r.Job].ID.String()
		if t, ok := c.byZone[zone]; !ok || r.First.Before(t) {
			c.byZone[zone] = r.First
		}
		for i, at := range r.Confirmed {
			k := zone + "\x00" + targetKey(r.Batch.Targets[i])
			if _, ok := c.byTarget[k]; !ok && !at.IsZero() {
				c.byTarget[k] = at
			}
		}
	}
	return c
}

// targetKey names a files target with its cache-key headers; header
// names are case-insensitive.
func targetKey(t cloudflare.Target) string {
	var b strings.Builder
	b.WriteString(t.Value)
	for _, name := range slices.Sorted(maps.Keys(t.Headers)) {
		fmt.Fprintf(&b, "\x00%s=%s", strings.ToLower(name), t.Headers[name])
	}
	return b.String()
}

// zoneOf is the index of the zone whose results count a URL: the zone
// that owns its host, by the rule that routes targets (resolve.Owner),
// whichever zone purged it; or -1, a host no listed zone owns, counted
// in the totals alone. A single zone whose name is unknown (given by ID,
// not looked up) counts every URL: nothing says a host is not its own.
func (pl *Checks) zoneOf(t cloudflare.Target) int {
	if len(pl.plan.Zones) == 1 && pl.plan.Zones[0].Name == "" {
		return 0
	}
	return resolve.Owner(targets.Host(cloudflare.Files, t), pl.plan.Zones)
}

// toCheck is every URL to check with its T and zone; a URL whose purge
// Cloudflare did not confirm has no T, and is not requested.
func (pl *Checks) toCheck(sent confirmations) (checked []site.Target, notPurged []cloudflare.Target) {
	purged := map[string]bool{} // the targets of a files purge
	if pl.plan.PurgeType == cloudflare.Files {
		for _, t := range pl.plan.Targets {
			purged[targetKey(t)] = true
		}
	}
	var earliest time.Time
	for _, t := range sent.byZone {
		if earliest.IsZero() || t.Before(earliest) {
			earliest = t
		}
	}
	for _, t := range pl.checkList() {
		zone := pl.zoneOf(t)
		// Only the headers a request sends: what the log and summary
		// show of a URL is what the site was asked.
		headers, _ := site.SplitHeaders(t.Headers)
		st := site.Target{URL: t.Value, Headers: headers, Zone: zone}
		found := false
		for _, z := range pl.plan.Zones {
			if at, ok := sent.byTarget[z.ID.String()+"\x00"+targetKey(t)]; ok {
				st.Purged, found = at, true
				break
			}
		}
		switch {
		case found:
		case purged[targetKey(t)]:
			notPurged = append(notPurged, t) // its request failed
			continue
		case zone >= 0:
			st.Purged = sent.byZone[pl.plan.Zones[zone].ID.String()]
		default:
			st.Purged = earliest
		}
		if st.Purged.IsZero() {
			notPurged = append(notPurged, t)
			continue
		}
		checked = append(checked, st)
	}
	return checked, notPurged
}

// After runs verify and warm once the purge is done (results say when
// each target's purge was confirmed), adds what they found to res, and
// returns a problem.ChecksFailed when verify: fail found stale URLs.
func (pl *Checks) After(ctx context.Context, results []purge.BatchResult, res *action.Result) error {
	if !pl.checking() {
		return nil
	}
	pl.noteWithheld()
	list, notPurged := pl.toCheck(pl.confirmations(results))
	if len(notPurged) > 0 {
		pl.rep.Warning("Not checked: not purged", fmt.Sprintf("%d URL(s) to check were not checked, because Cloudflare did not confirm their purge: %s",
			len(notPurged), strings.Join(report.CapLines(values(notPurged), report.MaxFailureLines), ", ")))
	}
	var err error
	if pl.cfg.Verify != config.VerifyNone {
		err = pl.verify(ctx, list, res)
	}
	if pl.cfg.Warm {
		pl.warm(ctx, list, res)
	}
	res.Checks = pl.steps
	if err != nil {
		res.ChecksFailed = found(pl.steps.Verify)
	}
	return err
}

// noteWithheld says once, by name alone, which headers of the URLs to
// check the requests to the site leave out (site.Withheld): a user who
// put a credential there learns why the site did not see it.
func (pl *Checks) noteWithheld() {
	seen := map[string]bool{}
	var names []string
	for _, t := range pl.checkList() {
		_, withheld := site.SplitHeaders(t.Headers)
		for _, name := range withheld {
			if l := strings.ToLower(name); !seen[l] {
				seen[l] = true
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	pl.rep.Notice("Headers not sent to the site", fmt.Sprintf(
		"The URLs to check are requested without their header(s) %s: credentials (Authorization, Proxy-Authorization, Cookie, X-Auth-*, CF-Access-*) never go to the site, and User-Agent and Host are the action's own. A copy cached by such a header is checked as a request without it sees it.",
		strings.Join(names, ", ")))
}

func values(ts []cloudflare.Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Value
	}
	return out
}

// label names a URL to check with its cache-key headers.
func label(t site.Target) string {
	if len(t.Headers) == 0 {
		return t.URL
	}
	parts := make([]string, 0, len(t.Headers))
	for _, name := range slices.Sorted(maps.Keys(t.Headers)) {
		parts = append(parts, name+": "+t.Headers[name])
	}
	return t.URL + " (" + strings.Join(parts, ", ") + ")"
}

// verify requests every URL and judges it: fresh, stale (a copy cached
// before the purge), broken (an origin error: 5xx, or no answer) or not
// checked. Stale and broken URLs fail the step with verify: fail (a
// problem.ChecksFailed) and warn with verify: warn.
func (pl *Checks) verify(ctx context.Context, list []site.Target, res *action.Result) error {
	pl.rep.Group(fmt.Sprintf("verify: requesting %d URL(s), %d at a time, to see that the edge no longer serves a copy cached before the %s", len(list), pl.site.Concurrency(), pl.plan.Words.Noun))
	checks := pl.site.Verify(ctx, list)
	v := &action.Verify{}
	// The summary shows stale and broken URLs first, then those not
	// checked, then fresh ones, at most maxRows in all.
	var rows [3][]action.CheckRow
	keep := func(kind int, row action.CheckRow) {
		if len(rows[kind]) < maxRows {
			rows[kind] = append(rows[kind], row)
		}
	}
	var stale, broken, unchecked []string
	for _, c := range checks {
		row := checkRow(c)
		switch c.Verdict {
		case site.Fresh:
			v.Fresh++
			pl.count(res, c.Target.Zone, func(z *action.Zone) { z.Verified++ })
			pl.rep.Debugf("fresh: %s: %s, Age %s", row.URL, row.Status, row.Age)
			keep(2, row)
		case site.Stale:
			v.Stale++
			pl.count(res, c.Target.Zone, func(z *action.Zone) { z.Stale++ })
			line := fmt.Sprintf("%s: %s, Age %s, %d request(s); %s %s ago", row.URL, row.Status, row.Age, c.Attempts, pl.plan.Words.Ed, c.Response.At.Sub(c.Target.Purged).Round(time.Second))
			stale = append(stale, line)
			pl.rep.Infof("STALE %s", line)
			keep(0, row)
		case site.Broken:
			v.Broken++
			pl.count(res, c.Target.Zone, func(z *action.Zone) { z.Broken++ })
			line := fmt.Sprintf("%s: %s, %d request(s)", row.URL, c.Why, c.Attempts)
			broken = append(broken, line)
			pl.rep.Infof("BROKEN (origin error) %s", line)
			keep(0, row)
		default:
			v.Unchecked++
			unchecked = append(unchecked, row.URL+": "+c.Why)
			pl.rep.Infof("not checked: %s: %s", row.URL, c.Why)
			keep(1, row)
		}
	}
	v.Rows = slices.Concat(rows[0], rows[1], rows[2])
	v.Rows = v.Rows[:min(len(v.Rows), maxRows)]
	pl.rep.Infof("verify: %d fresh, %d stale, %d broken, %d not checked.", v.Fresh, v.Stale, v.Broken, v.Unchecked)
	pl.rep.EndGroup()
	pl.steps.Verify = v
	if len(unchecked) > 0 {
		msg := fmt.Sprintf("%d URL(s) could not be judged: %s", len(unchecked), strings.Join(report.CapLines(unchecked, report.MaxFailureLines), "\n"))
		msg += stoppedWhile(ctx, "verify")
		pl.rep.Warning("verify: not checked", msg)
	}
	return pl.verdicts(len(checks), stale, broken)
}

// found names what verify found that fails the step, for the summary's
// heading.
func found(v *action.Verify) string {
	switch {
	case v.Stale > 0 && v.Broken > 0:
		return "stale and broken URLs"
	case v.Broken > 0:
		return "broken URLs"
	}
	return "stale URLs"
}

// checkRow is a check's row of the summary's table.
func checkRow(c site.Check) action.CheckRow {
	row := action.CheckRow{URL: label(c.Target), Status: "—", Age: "—", Judgement: c.Verdict.String()}
	if c.Accept != "" {
		row.URL += " (Accept: " + c.Accept + ")"
	}
	if c.Response.Status != 0 {
		row.Status = fmt.Sprintf("%d %s", c.Response.Status, cmp.Or(c.Response.CacheStatus, "(no CF-Cache-Status)"))
		row.Age = cmp.Or(c.Response.Age, "—")
	}
	switch c.Verdict {
	case site.Broken:
		row.Judgement = "broken (origin error): " + c.Why
	case site.Fresh, site.Stale:
	default:
		row.Judgement = "not checked: " + c.Why
	}
	return row
}

// verdicts are the problems of stale and broken URLs: warnings with
// verify: warn, a problem.ChecksFailed with verify: fail.
func (pl *Checks) verdicts(checked int, stale, broken []string) error {
	var problems []problem.Problem
	if len(stale) > 0 {
		problems = append(problems, problem.Problem{Input: "verify", Title: "verify: stale URLs", Message: fmt.Sprintf(
			"%d of %d URL(s) are still served from a copy cached before the %s (HIT or STALE with an Age older than the %s):\n%s\n"+
				"A purge of a URL with other cache-key variants (headers, query strings) removes only the one it names; purge each variant, or use tags or prefixes.",
			len(stale), checked, pl.plan.Words.Noun, pl.plan.Words.Noun, strings.Join(report.CapLines(stale, report.MaxFailureLines), "\n"))})
	}
	if len(broken) > 0 {
		problems = append(problems, problem.Problem{Input: "verify", Title: "verify: origin errors", Message: fmt.Sprintf(
			"%d of %d URL(s) answer visitors with an error (HTTP 5xx, Cloudflare's 52x included, or no answer at all), whatever the cache holds:\n%s\n"+
				"The origin or its certificate is broken, not the cache: fix the origin (520-526 are Cloudflare failing to reach or trust it).",
			len(broken), checked, strings.Join(report.CapLines(broken, report.MaxFailureLines), "\n"))})
	}
	if len(problems) == 0 {
		return nil
	}
	if pl.cfg.Verify != config.VerifyFail {
		for _, p := range problems {
			pl.rep.Warning(p.Title, p.Message)
		}
		return nil
	}
	return &problem.Error{Kind: problem.ChecksFailed, Problems: problems}
}

// warm requests every URL once more (an image's three variants), so
// that the edge holds the new copy; what did not answer 2xx or 3xx only
// warns, origin errors counted apart.
func (pl *Checks) warm(ctx context.Context, list []site.Target, res *action.Result) {
	pl.rep.Group(fmt.Sprintf("warm: requesting %d URL(s), %d at a time, so that the edge holds the new copy", len(list), pl.site.Concurrency()))
	out := pl.site.Warm(ctx, list)
	w := &action.Warm{Requested: len(out), Broken: site.CountBroken(out)}
	var failed []string
	for _, r := range out {
		name := label(r.Target)
		if r.Accept != "" {
			name += " (Accept: " + r.Accept + ")"
		}
		if r.OK() {
			w.Warmed++
			pl.count(res, r.Target.Zone, func(z *action.Zone) { z.Warmed++ })
			continue
		}
		failed = append(failed, name+": "+r.Why())
		pl.rep.Infof("not warmed: %s: %s", name, r.Why())
	}
	pl.rep.Infof("warm: %d of %d request(s) answered 2xx or 3xx; %d origin error(s).", w.Warmed, w.Requested, w.Broken)
	pl.rep.EndGroup()
	pl.steps.Warm = w
	if len(failed) > 0 {
		msg := fmt.Sprintf("%d of %d request(s) did not answer 2xx or 3xx (%d of them origin errors):\n%s", len(failed), len(out), w.Broken, strings.Join(report.CapLines(failed, report.MaxFailureLines), "\n"))
		msg += stoppedWhile(ctx, "warm")
		pl.rep.Warning("warm: not warmed", msg)
	}
}

// stoppedWhile is the line that says what ended step when ctx ended
// while it ran: the timeout, or a cancelled run (interruption words
// which); "" while ctx is live.
func stoppedWhile(ctx context.Context, step string) string {
	if err := ctx.Err(); err != nil {
		return fmt.Sprintf("\n%s was stopped: %v.", step, retry.Interrupted(err))
	}
	return ""
}

// count adds to the results object of a zone, when the URL has one.
func (pl *Checks) count(res *action.Result, zone int, add func(*action.Zone)) {
	if zone >= 0 && zone < len(res.Zones) {
		add(&res.Zones[zone])
	}
}

// DryGets are the requests to the site a dry run prints: nothing was
// purged, so every URL to check is listed, with the headers it would
// send. The headers it would leave out are noted first (noteWithheld).
func (pl *Checks) DryGets() (int, iter.Seq[action.DryGet]) {
	pl.noteWithheld()
	list := pl.checkList()
	n := 0
	if pl.cfg.WaitFor != "" {
		n++
	}
	steps := []string{}
	if pl.cfg.Verify != config.VerifyNone {
		steps = append(steps, "verify")
	}
	if pl.cfg.Warm {
		steps = append(steps, "warm")
	}
	n += len(list) * len(steps)
	return n, func(yield func(action.DryGet) bool) {
		if pl.cfg.WaitFor != "" && !yield(action.DryGet{Step: "wait-for", URL: pl.cfg.WaitFor}) {
			return
		}
		for _, step := range steps {
			for _, t := range list {
				sent, _ := site.SplitHeaders(t.Headers)
				if !yield(action.DryGet{Step: step, URL: t.Value, Headers: sent}) {
					return
				}
			}
		}
	}
}
