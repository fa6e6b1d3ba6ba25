package command_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

func urls(n int) (string, []string) {
	var list []string
	for i := range n {
		list = append(list, fmt.Sprintf("https://www.example.com/p/%d", i))
	}
	return strings.Join(list, "\n"), list
}

// One URL Cloudflare refuses does not sink its batch: the other 29 are
// purged, the annotation names exactly the refused one with Cloudflare's
// message, and count and results are exact.
func TestOneRejectedTargetSinksNothingElse(t *testing.T) {
	t.Parallel()
	text, list := urls(30)
	bad := list[17]
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", text)},
		cloudflaretest.WithScript(cloudflaretest.RefuseURL(bad, nil)))
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1 (a target was not purged)\n%s", r.Code, r.Stdout)
	}
	purged := map[string]bool{}
	for _, req := range r.requests {
		if !req.Confirmed {
			continue
		}
		var body struct{ Files []string }
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, f := range body.Files {
			purged[f] = true
		}
	}
	if len(purged) != 29 || purged[bad] {
		t.Errorf("%d URLs confirmed (the bad one: %v), want the 29 others", len(purged), purged[bad])
	}
	// Cloudflare's message names it: set aside, the rest sent at once.
	if len(r.requests) != 2 {
		t.Errorf("%d requests for one rejected target Cloudflare names, want 2", len(r.requests))
	}
	msg := cloudflaretest.InvalidURLMessage(bad)
	if !r.HasAnnotation("error", "Cloudflare purge failed: 1 target(s) rejected", fmt.Sprintf("rejected %q: HTTP 400: 1 %s", bad, msg)) ||
		!r.HasAnnotation("error", "Cloudflare purge failed: 1 target(s) rejected", "1 of 30 target(s) not purged") {
		t.Errorf("annotations = %+v", r.Annotations("error"))
	}
	if n := strings.Count(r.Annotations("error")[0].Message, "rejected \""); n != 1 {
		t.Errorf("the annotation lists %d rejected targets, want exactly the one", n)
	}
	var ids []string
	_ = json.Unmarshal([]byte(r.Outputs["purge-ids"]), &ids)
	if r.Outputs["count"] != "29" || len(ids) != 1 {
		t.Errorf("outputs = %v", r.Outputs)
	}
	if !strings.Contains(r.Outputs["results"], `"count":29,"failed":1,`) {
		t.Errorf("results = %s", r.Outputs["results"])
	}
}

// An explicit batch-size of 100 against an account that takes 30: the
// batches are planned at the user's size, every URL is purged, the step
// succeeds, one request is refused, and one notice says which batch-size
// to set.
func TestABatchSizeTheAccountRefusesIsLearned(t *testing.T) {
	t.Parallel()
	text, _ := urls(300)
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", text, "batch-size", "100", "concurrency", "1")},
		cloudflaretest.WithScript(cloudflaretest.RefuseFilesOver(30, nil)))
	if r.Code != 0 || r.Outputs["count"] != "300" {
		t.Fatalf("exit %d, count %s; want every URL purged\n%s", r.Code, r.Outputs["count"], r.Stdout)
	}
	refused := 0
	for _, req := range r.requests {
		if req.Status == 400 {
			refused++
		}
	}
	if refused != 1 || !strings.Contains(r.Stdout, "Purging 300 files of zone "+zone+" in 3 request(s)") {
		t.Errorf("%d requests refused; want 1, of the 3 batches of 100 planned: the size must be learned once, from the first", refused)
	}
	notices := r.Annotations("notice")
	if len(notices) != 1 || notices[0].Title != "Set batch-size: 30" || !strings.Contains(notices[0].Message, "(batch size 100)") ||
		len(r.Annotations("warning")) != 0 || len(r.Annotations("error")) != 0 {
		t.Errorf("notices %+v, warnings %+v, errors %+v; want one notice naming the batch-size", notices, r.Annotations("warning"), r.Annotations("error"))
	}
}

// With batch-size auto (100 URLs a request) and the default concurrency,
// against an account that takes 30: one request refused, then 30 a
// request at most, every URL purged exactly once, and the learned size
// said once in a notice and once in the summary.
func TestTheDefaultBatchSizeFallsBackTo30(t *testing.T) {
	t.Parallel()
	text, list := urls(1000)
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", text)},
		cloudflaretest.WithLatency(100*time.Millisecond), cloudflaretest.WithScript(cloudflaretest.RefuseFilesOver(30, nil)))
	if r.Code != 0 || r.Outputs["count"] != "1000" {
		t.Fatalf("exit %d, count %s; want every URL purged\n%s", r.Code, r.Outputs["count"], r.Stdout)
	}
	confirmed := map[string]int{}
	for i, req := range r.requests {
		var body struct{ Files []string }
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatal(err)
		}
		switch {
		case i == 0 && (req.Status != 400 || len(body.Files) != 100):
			t.Errorf("request 1: %d URLs, HTTP %d; want the first batch of 100 (auto), refused", len(body.Files), req.Status)
		case i > 0 && (!req.Confirmed || len(body.Files) > 30):
			t.Errorf("request %d: %d URLs, HTTP %d; want at most 30, purged", i+1, len(body.Files), req.Status)
		}
		if req.Confirmed {
			for _, u := range body.Files {
				confirmed[u]++
			}
		}
	}
	for _, u := range list {
		if confirmed[u] != 1 {
			t.Errorf("%s purged %d times, want once", u, confirmed[u])
		}
	}
	notices := r.Annotations("notice")
	if len(notices) != 1 || notices[0].Title != "Set batch-size: 30" || len(r.Annotations("warning")) != 0 || len(r.Annotations("error")) != 0 {
		t.Errorf("notices %+v, warnings %+v, errors %+v; want the one notice naming batch-size 30", notices, r.Annotations("warning"), r.Annotations("error"))
	}
	if n := strings.Count(r.Summary, "| Batch size | 30 a request after Cloudflare refused a larger one: set `batch-size: 30` |"); n != 1 {
		t.Errorf("the summary says the learned size %d times, want once:\n%s", n, r.Summary)
	}
}

// The time budget counts the plan's bucket, not only the API limit: 40
// tag requests on Free (25 at once, then 5 a minute) cannot finish in a
// minute, and nothing is sent.
func TestTimeoutTooShortForThePlanSendsNothing(t *testing.T) {
	t.Parallel()
	tags := tagList(40)
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", tags, "batch-size", "1", "plan", "free", "timeout", "1m")})
	if r.Code != 1 || len(r.requests) != 0 ||
		!r.HasAnnotation("error", "Invalid input timeout", "under the free plan's purge limit of 5 requests a minute (bucket 25)") {
		t.Errorf("exit %d, %d requests, annotations %+v", r.Code, len(r.requests), r.Annotations("error"))
	}
}

// Failures that differ only in a wait are one line of the annotation.
func TestFailuresDifferingOnlyInAWaitAreOneLine(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a\nb\nc\nd", "batch-size", "1", "concurrency", "1", "timeout", "1m")},
		cloudflaretest.WithScript(func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
			resp := cloudflaretest.Fail(429, 971, "Please wait and consider throttling your request speed")
			resp.Header = map[string]string{"Retry-After": fmt.Sprint(3600 + n)}
			return resp
		}))
	errs := r.Annotations("error")
	if r.Code != 1 || len(errs) != 1 || strings.Count(errs[0].Message, "\nrequest ") != 1 ||
		!strings.Contains(errs[0].Message, "request 1-4 of 4: ") || !strings.Contains(errs[0].Message, "(and 3 alike but for their numbers)") {
		t.Errorf("exit %d, annotations %+v; want the four failures on one line", r.Code, errs)
	}
}
