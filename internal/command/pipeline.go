package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// This file wires the checks around the purge (package site) into a run:
// wait-for before it, verify and warm after it. The pipeline is
// wait → purge → verify → warm, every step optional, all inside timeout.

// maxRows is how many URLs the verify table of the summary shows.
const maxRows = 50

// siteRequestTime is what the time-budget check counts for one request to
// the site: a page is a fraction of it, and it leaves room for a stale
// URL's retries.
const siteRequestTime = time.Second

// purgeReserve is the time a wait-for leaves the purge beyond what its
// pacing needs: enough for its requests and a retry.
const purgeReserve = 10 * time.Second

// pipeline is one run's checks: what to request and what came of it.
type pipeline struct {
	cfg   *config.Config
	plan  *plan
	rep   *action.Reporter
	site  *site.Client
	sent  *confirmations
	steps action.Checks
}

func newPipeline(cfg *config.Config, p *plan, rep *action.Reporter, client *site.Client, sender purge.Sender) *pipeline {
	return &pipeline{cfg: cfg, plan: p, rep: rep, site: client, sent: &confirmations{next: sender, byTarget: map[string]time.Time{}, byZone: map[string]time.Time{}}}
}

// checking reports whether verify or warm will request the URLs to check.
func (pl *pipeline) checking() bool { return pl.cfg.Verify != config.VerifyNone || pl.cfg.Warm }

// checkList is the URLs verify and warm request: verify-urls, else the
// targets of a files purge.
func (pl *pipeline) checkList() []cloudflare.Target {
	switch {
	case !pl.checking():
		return nil
	case pl.cfg.VerifyURLs != nil:
		return pl.cfg.VerifyURLs
	case pl.cfg.PurgeType == cloudflare.Files:
		return pl.cfg.Targets
	}
	return nil
}

// budget is the time left for the purge once the checks' requests are
// set aside: one request a URL, Concurrency at a time, once for verify
// and once for warm. A timeout that cannot hold the checks at all is
// refused as bad input.
func (pl *pipeline) budget(timeout time.Duration) (time.Duration, error) {
	need := pl.checksNeed()
	if need > 0 && need >= timeout {
		return 0, &config.InvalidError{Problems: []config.Problem{{Input: "timeout", Message: fmt.Sprintf(
			"%s is too short for the checks: %d URL(s) to check, %d at a time, take about %s; want a timeout over %s, or fewer verify-urls, or a higher concurrency",
			timeout, len(pl.checkList()), pl.cfg.Concurrency, need, need+time.Minute)}}}
	}
	if left := pl.waitTime(timeout); pl.cfg.WaitFor != "" && left < waitLeast {
		// Else wait-for would fail "never matched" at once, without a poll.
		return 0, &config.InvalidError{Problems: []config.Problem{{Input: "timeout", Message: fmt.Sprintf(
			"%s leaves wait-for no time: the purge and the checks after it need about %s of it; want a timeout over %s, or no wait-for",
			timeout, timeout-left, timeout-left+waitLeast+time.Minute)}}}
	}
	return timeout - need, nil
}

// waitLeast is the least time wait-for must have: a poll and its answer.
const waitLeast = 10 * time.Second

// waitTime is what wait-for may take of timeout: what the purge (its
// pacing's least time and purgeReserve) and the checks after it leave.
func (pl *pipeline) waitTime(timeout time.Duration) time.Duration {
	left := timeout - pl.checksNeed() - purgeReserve
	if e, ok := errors.AsType[*purge.BudgetError](purge.CheckBudget(pl.plan.Jobs, pl.cfg.Plan.Limits(), 0)); ok {
		left -= e.Least
	}
	return left
}

func (pl *pipeline) checksNeed() time.Duration {
	passes := 0
	if pl.cfg.Verify != config.VerifyNone {
		passes++
	}
	if pl.cfg.Warm {
		passes++
	}
	n := len(pl.checkList())
	rounds := (n + pl.cfg.Concurrency - 1) / pl.cfg.Concurrency
	return time.Duration(rounds*passes) * siteRequestTime
}

// budgetProblem words a purge budget error when the checks took part of
// the timeout.
func (pl *pipeline) budgetProblem(err error) error {
	msg := err.Error()
	if need := pl.checksNeed(); need > 0 {
		msg = fmt.Sprintf("leaving %s of it for the checks of %d URL(s), %s", need, len(pl.checkList()), msg)
	}
	return &config.InvalidError{Problems: []config.Problem{{Input: "timeout", Message: msg}}}
}

// wait polls wait-for until it serves the new build, until deadline
// (the run's start plus waitTime). It reports whether the run may go on;
// when not, the outputs and summary are written and the annotation says
// why.
func (pl *pipeline) wait(ctx context.Context, deadline time.Time) bool {
	if pl.cfg.WaitFor == "" {
		return true
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
		return true
	}
	why := "the time left for waiting ran out (timeout, less the purge's and the checks' needs)"
	if err := ctx.Err(); err != nil {
		why = retry.Interrupted(err).Error()
	}
	msg := fmt.Sprintf("%s did not serve %s: %s after %d poll(s) in %s; the last answer: %s. Nothing was purged.",
		pl.cfg.WaitFor, what, why, res.Polls, res.Took.Round(time.Second), res.Last)
	pl.annotate(true, "wait-for", msg, "Check that the deploy finished and that the URL serves wait-for-text, or raise timeout.")
	return false
}

// notSent is the result of a run that wait-for stopped: nothing sent.
func (pl *pipeline) notSent() action.Result {
	p := pl.plan
	return action.Result{Noun: p.words.noun, Verb: p.words.ed, Scope: p.scope(), PurgeType: string(p.cfg.PurgeType), Zones: p.zoneResults(),
		NotSent: "wait-for never served the new build within the time left for it, so nothing was " + p.words.ed + ".", Checks: pl.steps}
}

// annotate writes a failure: an error, or with on-error: warn a warning.
// fail false makes it a warning whatever on-error says.
func (pl *pipeline) annotate(fail bool, title, msg, hint string) {
	if hint != "" {
		msg += "\n" + hint
	}
	if fail && !pl.cfg.OnErrorWarn {
		pl.rep.Error(title, msg)
		return
	}
	if fail {
		msg += "\non-error: warn, so the step does not fail."
	}
	pl.rep.Warning(title, msg)
}

// confirmations is the purge's Sender with a memory: when Cloudflare
// confirmed each request, by target and by zone. It is T for the
// targets the request carried.
type confirmations struct {
	next purge.Sender

	mu       sync.Mutex
	byTarget map[string]time.Time // zone ID + target key -> T
	byZone   map[string]time.Time // zone ID -> the earliest T
}

func (c *confirmations) Send(ctx context.Context, r cloudflare.Request) (cloudflare.Result, error) {
	res, err := c.next.Send(ctx, r)
	if err != nil {
		return res, err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	zone := r.Scope.Zone().String()
	if t, ok := c.byZone[zone]; !ok || now.Before(t) {
		c.byZone[zone] = now
	}
	for _, f := range r.Body.Files {
		k := zone + "\x00" + targetKey(f)
		if _, ok := c.byTarget[k]; !ok {
			c.byTarget[k] = now
		}
	}
	return res, nil
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
func (pl *pipeline) zoneOf(t cloudflare.Target) int {
	if len(pl.plan.Zones) == 1 && pl.plan.Zones[0].Name == "" {
		return 0
	}
	return resolve.Owner(targets.Host(cloudflare.Files, t), pl.plan.Zones)
}

// toCheck is every URL to check with its T and zone; a URL whose purge
// Cloudflare did not confirm has no T, and is not requested.
func (pl *pipeline) toCheck() (checked []site.Target, notPurged []cloudflare.Target) {
	pl.sent.mu.Lock()
	defer pl.sent.mu.Unlock()
	purged := map[string]bool{} // the targets of a files purge
	if pl.cfg.PurgeType == cloudflare.Files {
		for _, t := range pl.cfg.Targets {
			purged[targetKey(t)] = true
		}
	}
	var earliest time.Time
	for _, t := range pl.sent.byZone {
		if earliest.IsZero() || t.Before(earliest) {
			earliest = t
		}
	}
	for _, t := range pl.checkList() {
		zone := pl.zoneOf(t)
		// Only the headers a request sends: what the log and summary
		// show of a URL is what the site was asked.
		sent, _ := site.SplitHeaders(t.Headers)
		st := site.Target{URL: t.Value, Headers: sent, Zone: zone}
		found := false
		for _, z := range pl.plan.Zones {
			if at, ok := pl.sent.byTarget[z.ID.String()+"\x00"+targetKey(t)]; ok {
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
			st.Purged = pl.sent.byZone[pl.plan.Zones[zone].ID.String()]
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

// after runs verify and warm once the purge is done, adds what they
// found to res, and reports whether verify: fail found no stale URL.
func (pl *pipeline) after(ctx context.Context, res *action.Result) bool {
	if !pl.checking() {
		return true
	}
	pl.noteWithheld()
	list, notPurged := pl.toCheck()
	if len(notPurged) > 0 {
		pl.rep.Warning("Not checked: not purged", fmt.Sprintf("%d URL(s) to check were not checked, because Cloudflare did not confirm their purge: %s",
			len(notPurged), strings.Join(capLines(values(notPurged), maxFailureLines), ", ")))
	}
	ok := true
	if pl.cfg.Verify != config.VerifyNone {
		ok = pl.verify(ctx, list, res)
	}
	if pl.cfg.Warm {
		pl.warm(ctx, list, res)
	}
	res.Checks = pl.steps
	res.ChecksFailed = !ok
	return ok
}

// noteWithheld says once, by name alone, which headers of the URLs to
// check the requests to the site leave out (site.Withheld): a user who
// put a credential there learns why the site did not see it.
func (pl *pipeline) noteWithheld() {
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

func (pl *pipeline) verify(ctx context.Context, list []site.Target, res *action.Result) bool {
	pl.rep.Group(fmt.Sprintf("verify: requesting %d URL(s), %d at a time, to see that the edge no longer serves a copy cached before the %s", len(list), pl.site.Concurrency(), pl.plan.words.noun))
	checks := pl.site.Verify(ctx, list)
	v := &action.Verify{}
	// The summary shows stale URLs first, then those not checked, then
	// fresh ones, at most maxRows in all: each kind keeps as many.
	var rows [3][]action.CheckRow
	keep := func(kind int, row action.CheckRow) {
		if len(rows[kind]) < maxRows {
			rows[kind] = append(rows[kind], row)
		}
	}
	var stale, unchecked []string
	for _, c := range checks {
		row := action.CheckRow{URL: label(c.Target), Status: "—", Age: "—", Judgement: c.Verdict.String()}
		if c.Response.Status != 0 {
			row.Status = fmt.Sprintf("%d %s", c.Response.Status, cmp.Or(c.Response.CacheStatus, "(no CF-Cache-Status)"))
			row.Age = cmp.Or(c.Response.Age, "—")
		}
		switch c.Verdict {
		case site.Fresh:
			v.Fresh++
			pl.count(res, c.Target.Zone, func(z *action.Zone) { z.Verified++ })
			pl.rep.Debugf("fresh: %s: %s, Age %s", row.URL, row.Status, row.Age)
			keep(2, row)
		case site.Stale:
			v.Stale++
			pl.count(res, c.Target.Zone, func(z *action.Zone) { z.Stale++ })
			line := fmt.Sprintf("%s: %s, Age %s, %d request(s); %s %s ago", row.URL, row.Status, row.Age, c.Attempts, pl.plan.words.ed, c.Response.At.Sub(c.Target.Purged).Round(time.Second))
			stale = append(stale, line)
			pl.rep.Infof("STALE %s", line)
			keep(0, row)
		default:
			v.Unchecked++
			row.Judgement = "not checked: " + c.Why
			unchecked = append(unchecked, row.URL+": "+c.Why)
			pl.rep.Infof("not checked: %s: %s", row.URL, c.Why)
			keep(1, row)
		}
	}
	v.Rows = slices.Concat(rows[0], rows[1], rows[2])
	v.Rows = v.Rows[:min(len(v.Rows), maxRows)]
	pl.rep.Infof("verify: %d fresh, %d stale, %d not checked.", v.Fresh, v.Stale, v.Unchecked)
	pl.rep.EndGroup()
	pl.steps.Verify = v
	if len(unchecked) > 0 {
		msg := fmt.Sprintf("%d URL(s) could not be judged: %s", len(unchecked), strings.Join(capLines(unchecked, maxFailureLines), "\n"))
		msg += stoppedWhile(ctx, "verify")
		pl.rep.Warning("verify: not checked", msg)
	}
	if len(stale) == 0 {
		return true
	}
	fail := pl.cfg.Verify == config.VerifyFail
	msg := fmt.Sprintf("%d of %d URL(s) are still served from a copy cached before the %s (HIT or STALE with an Age older than the %s):\n%s",
		len(stale), len(checks), pl.plan.words.noun, pl.plan.words.noun, strings.Join(capLines(stale, maxFailureLines), "\n"))
	pl.annotate(fail, "verify: stale URLs", msg,
		"A purge of a URL with other cache-key variants (headers, query strings) removes only the one it names; purge each variant, or use tags or prefixes.")
	return !fail || pl.cfg.OnErrorWarn
}

func (pl *pipeline) warm(ctx context.Context, list []site.Target, res *action.Result) {
	pl.rep.Group(fmt.Sprintf("warm: requesting %d URL(s), %d at a time, so that the edge holds the new copy", len(list), pl.site.Concurrency()))
	out := pl.site.Warm(ctx, list)
	w := &action.Warm{Requested: len(out)}
	var failed []string
	for _, r := range out {
		if r.OK() {
			w.Warmed++
			pl.count(res, r.Target.Zone, func(z *action.Zone) { z.Warmed++ })
			continue
		}
		why := fmt.Sprintf("HTTP %d", r.Status)
		if r.Err != nil {
			why = r.Err.Error()
		}
		failed = append(failed, label(r.Target)+": "+why)
		pl.rep.Infof("not warmed: %s: %s", label(r.Target), why)
	}
	pl.rep.Infof("warm: %d of %d URL(s) answered 2xx or 3xx.", w.Warmed, w.Requested)
	pl.rep.EndGroup()
	pl.steps.Warm = w
	if len(failed) > 0 {
		msg := fmt.Sprintf("%d of %d URL(s) did not answer 2xx or 3xx:\n%s", len(failed), len(out), strings.Join(capLines(failed, maxFailureLines), "\n"))
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
func (pl *pipeline) count(res *action.Result, zone int, add func(*action.Zone)) {
	if zone >= 0 && zone < len(res.Zones) {
		add(&res.Zones[zone])
	}
}

// dryGets are the requests to the site a dry run prints: nothing was
// purged, so every URL to check is listed, with the headers it would
// send. The headers it would leave out are noted first (noteWithheld).
func (pl *pipeline) dryGets() (int, iter.Seq[action.DryGet]) {
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
