package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
)

// This file turns jobs and results into the plain values the reporter
// prints: what to say, not how to print it.

// title heads the log group of a run.
func title(jobs []purge.Job) string {
	j := jobs[0]
	if j.Type == cloudflare.Everything {
		return fmt.Sprintf("Purging everything cached for %s", j.Scope)
	}
	return fmt.Sprintf("Purging %d %s of %s in %d request(s)", j.Count(), j.Type, j.Scope, len(j.Batches))
}

// progress is the log line of one finished batch: n/N, items, attempts,
// and the purge ID or why it failed.
func progress(res purge.BatchResult, n, total int) string {
	status := "purged, ID " + res.ID
	if res.Err != nil {
		status = "FAILED: " + res.Err.Error()
	}
	return fmt.Sprintf("[%d/%d] %d item(s), %d attempt(s): %s", n, total, res.Batch.Count(), res.Attempts, status)
}

func dryRun(cfg *config.Config, jobs []purge.Job) action.DryRun {
	d := action.DryRun{Scope: jobs[0].Scope.String(), PurgeType: string(cfg.PurgeType)}
	for _, j := range jobs {
		d.Targets += j.Count()
		d.Count += len(j.Batches)
	}
	d.Requests = func(yield func(action.DryRequest) bool) {
		for _, j := range jobs {
			url := cloudflare.Endpoint(cfg.APIURL, j.Scope, j.Operation)
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

// summarize counts what the results say.
func summarize(jobs []purge.Job, results []purge.BatchResult, took time.Duration) action.Result {
	res := action.Result{
		Scope:     jobs[0].Scope.String(),
		PurgeType: string(jobs[0].Type),
		Requests:  len(results),
		Took:      took,
	}
	var failed []purge.BatchResult
	for _, r := range results {
		res.Targets += r.Batch.Count()
		res.Attempts += r.Attempts
		if r.Err != nil {
			failed = append(failed, r)
			continue
		}
		res.IDs = append(res.IDs, r.ID)
		res.Purged += r.Batch.Count()
	}
	if len(failed) > 0 {
		res.Failed = len(failed)
		res.Failures = groupFailures(failed, len(results))
		why, hint := explain(failed[0].Err)
		res.FailureTitle = "Cloudflare purge failed: " + why
		res.Hint = hint
	}
	return res
}

// groupFailures lists failed batches, one line per distinct error, so a
// hundred batches stopped for one reason make one line, not a hundred.
func groupFailures(failed []purge.BatchResult, total int) []string {
	var order []string
	batches := map[string][]int{}
	for _, f := range failed {
		msg := f.Err.Error()
		if _, ok := batches[msg]; !ok {
			order = append(order, msg)
		}
		batches[msg] = append(batches[msg], f.Batch.Index+1)
	}
	lines := make([]string, 0, min(len(order), maxFailureLines))
	for i, msg := range order {
		if i == maxFailureLines-1 && len(order) > maxFailureLines {
			lines = append(lines, fmt.Sprintf("and %d more different errors", len(order)-i))
			break
		}
		lines = append(lines, fmt.Sprintf("request %s of %d: %s", ranges(batches[msg]), total, msg))
	}
	return lines
}

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

// explain says in a few words why the purge failed, for the title, and
// what to do about the most common failures.
func explain(err error) (why, hint string) {
	apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
	switch {
	case isAPI && apiErr.AuthFailure():
		return fmt.Sprintf("authentication error (HTTP %d)", apiErr.Status),
			"Check that the token is valid and has the Zone > Cache Purge permission for this zone (or that api-email and api-key belong together)."
	case isAPI && apiErr.Status == http.StatusTooManyRequests:
		return "rate limited (HTTP 429)",
			"Cloudflare's purge rate limit was hit: set the plan input to pace requests, lower concurrency, or raise timeout."
	case purge.TimedOut(err):
		return "timeout", "Raise the timeout input, or set plan so requests are paced from the start."
	case errors.Is(err, context.Canceled):
		return "cancelled", "The run was stopped (the job was cancelled, or the runner sent SIGTERM)."
	case isAPI:
		return fmt.Sprintf("HTTP %d", apiErr.Status), ""
	}
	return "request error", ""
}
