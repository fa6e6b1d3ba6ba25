package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// maxAnnotations is how many error annotations the runner keeps per step.
const maxAnnotations = 10

// InvalidInputs writes one annotation per bad input, titled with the
// input's name; past the runner's ten, the rest share the last one.
func (r *Reporter) InvalidInputs(err *config.InvalidError) {
	problems := err.Problems
	for i, p := range problems {
		if i == maxAnnotations-1 && len(problems) > maxAnnotations {
			rest := make([]string, 0, len(problems)-i)
			for _, q := range problems[i:] {
				rest = append(rest, fmt.Sprintf("input %s: %s", q.Input, q.Message))
			}
			r.Error(fmt.Sprintf("Invalid inputs (%d more)", len(rest)), strings.Join(rest, "\n"))
			break
		}
		r.Error("Invalid input "+p.Input, p.Message)
	}
	r.Infof("Nothing was sent: fix the input(s) above.")
	var md strings.Builder
	md.WriteString("### Cloudflare cache purge: invalid inputs\n\nNothing was sent.\n\n")
	for _, p := range problems {
		fmt.Fprintf(&md, "- `%s`: %s\n", p.Input, markdownText(p.Message))
	}
	r.AddSummary(md.String())
}

// Scope describes what is purged: a zone, or an environment of it.
func Scope(cfg *config.Config) string {
	if cfg.EnvironmentID == "" {
		return fmt.Sprintf("zone %s", cfg.ZoneID)
	}
	return fmt.Sprintf("environment %s of zone %s", cfg.EnvironmentID, cfg.ZoneID)
}

// PurgeTitle heads the log group of a purge.
func PurgeTitle(cfg *config.Config, batches []purge.Batch) string {
	if cfg.PurgeType == cloudflare.Everything {
		return fmt.Sprintf("Purging everything cached for %s", Scope(cfg))
	}
	return fmt.Sprintf("Purging %d %s of %s in %d request(s)", purge.Total(batches), cfg.PurgeType, Scope(cfg), len(batches))
}

// DryRun prints every request the run would send, and reports whether the
// outputs could be written.
func (r *Reporter) DryRun(cfg *config.Config, batches []purge.Batch) bool {
	r.Group(fmt.Sprintf("Dry run: %d request(s) for %s, purge type %s (nothing is sent)", len(batches), Scope(cfg), cfg.PurgeType))
	url := cloudflare.Endpoint(cfg.APIURL, cfg.ZoneID, cfg.EnvironmentID)
	for i, b := range batches {
		body, err := marshalBody(b)
		if err != nil {
			body = "(cannot encode: " + err.Error() + ")"
		}
		r.Infof("[%d/%d] POST %s", i+1, len(batches), url)
		r.Infof("%s", body)
	}
	r.EndGroup()
	ok := r.SetOutputs(Outputs{})
	r.AddSummary(fmt.Sprintf("### Cloudflare cache purge: dry run\n\n"+
		"Nothing was sent. %d request(s) planned for %s, purge type `%s`, %d target(s).\n",
		len(batches), Scope(cfg), cfg.PurgeType, purge.Total(batches)))
	return ok
}

// Progress logs one finished batch: n/N, items, status, purge ID, attempts.
func (r *Reporter) Progress(res purge.BatchResult, total int) {
	status := "purged, ID " + res.ID
	if res.Err != nil {
		status = "FAILED: " + OneLine(res.Err.Error())
	}
	r.Infof("[%d/%d] %d item(s), %d attempt(s): %s", res.Batch.Index+1, total, res.Batch.Count(), res.Attempts, status)
}

// Finish writes the outputs, the job summary and, when any batch failed,
// one error annotation saying why. It reports whether every batch
// succeeded and the outputs were written.
func (r *Reporter) Finish(cfg *config.Config, results []purge.BatchResult, took time.Duration) bool {
	var ids []string
	purged, total, attempts := 0, 0, 0
	var failed []purge.BatchResult
	for _, res := range results {
		total += res.Batch.Count()
		attempts += res.Attempts
		if res.Err != nil {
			failed = append(failed, res)
			continue
		}
		ids = append(ids, res.ID)
		purged += res.Batch.Count()
	}
	outputsOK := r.SetOutputs(Outputs{PurgeIDs: ids, Count: purged})

	var failures []string
	if len(failed) > 0 {
		failures = groupFailures(failed, len(results))
		why, hint := explain(failed[0].Err)
		title := "Cloudflare purge failed: " + why
		msg := fmt.Sprintf("%d of %d request(s) failed; %d of %d target(s) not purged.\n%s",
			len(failed), len(results), total-purged, total, strings.Join(failures, "\n"))
		if hint != "" {
			msg += "\n" + hint
		}
		r.Error(title, msg)
	} else {
		r.Infof("Purged %d target(s) of %s in %d request(s), %s.", purged, Scope(cfg), len(results), took.Round(time.Millisecond))
	}

	var md strings.Builder
	status := "succeeded"
	if len(failed) > 0 {
		status = "failed"
	}
	fmt.Fprintf(&md, "### Cloudflare cache purge %s\n\n| | |\n|---|---|\n", status)
	fmt.Fprintf(&md, "| Scope | %s |\n| Purge type | `%s` |\n", Scope(cfg), cfg.PurgeType)
	fmt.Fprintf(&md, "| Targets | %d (%d purged) |\n", total, purged)
	fmt.Fprintf(&md, "| Requests | %d (%d succeeded, %d attempts) |\n", len(results), len(results)-len(failed), attempts)
	fmt.Fprintf(&md, "| Duration | %s |\n", took.Round(time.Millisecond))
	if len(ids) > 0 {
		const shown = 50
		list := ids[:min(len(ids), shown)]
		fmt.Fprintf(&md, "| Purge IDs | `%s`", strings.Join(list, "`, `"))
		if len(ids) > shown {
			fmt.Fprintf(&md, " and %d more", len(ids)-shown)
		}
		md.WriteString(" |\n")
	}
	if len(failures) > 0 {
		md.WriteString("\n**Errors**\n\n")
		for _, f := range failures {
			fmt.Fprintf(&md, "- %s\n", markdownText(f))
		}
	}
	r.AddSummary(md.String())
	return len(failed) == 0 && outputsOK
}

// groupFailures lists failed batches, one line per distinct error, so a
// hundred batches stopped for one reason make one line, not a hundred.
func groupFailures(failed []purge.BatchResult, total int) []string {
	var order []string
	batches := map[string][]int{}
	for _, f := range failed {
		msg := OneLine(f.Err.Error())
		if _, ok := batches[msg]; !ok {
			order = append(order, msg)
		}
		batches[msg] = append(batches[msg], f.Batch.Index+1)
	}
	lines := make([]string, len(order))
	for i, msg := range order {
		lines[i] = fmt.Sprintf("request %s of %d: %s", ranges(batches[msg]), total, msg)
	}
	return lines
}

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

// explain says in a few words why the purge failed, for the title, and
// what to do about the most common failures.
func explain(err error) (why, hint string) {
	var apiErr *cloudflare.APIError
	isAPI := errors.As(err, &apiErr)
	switch {
	case isAPI && apiErr.AuthFailure():
		return fmt.Sprintf("authentication error (HTTP %d)", apiErr.Status),
			"Check that the token is valid and has the Zone > Cache Purge permission for this zone (or that api-email and api-key belong together)."
	case isAPI && apiErr.Status == http.StatusTooManyRequests:
		return "rate limited (HTTP 429)",
			"Cloudflare's purge rate limit was hit: set the plan input to pace requests, lower concurrency, or raise timeout."
	case purge.TimedOut(err):
		return "timeout", "Raise the timeout input, or set plan so requests are paced from the start."
	case isAPI:
		return fmt.Sprintf("HTTP %d", apiErr.Status), ""
	}
	return "request error", ""
}

// markdownText keeps API text from being read as markup in the summary.
func markdownText(s string) string { return markdownEscaper.Replace(s) }

var markdownEscaper = strings.NewReplacer("`", "'", "<", "&lt;", ">", "&gt;", "|", "\\|", "*", "\\*", "_", "\\_", "[", "\\[")

func marshalBody(b purge.Batch) (string, error) {
	data, err := json.Marshal(b.Body())
	return string(data), err
}
