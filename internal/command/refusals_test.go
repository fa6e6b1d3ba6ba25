package command_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// When the zone takes none of the URLs, the run does not spend the
// token's API allowance splitting batches: 1,200 URLs (40 requests at the
// default batch size) cost a bounded few requests more than planned, not
// the ~1,140 (the whole 5-minute API window) that halving every batch
// down to single URLs would; every URL is reported not purged with
// Cloudflare's answer.
func TestEveryURLRefusedSpendsFewRequests(t *testing.T) {
	t.Parallel()
	for _, named := range []bool{false, true} {
		t.Run(fmt.Sprintf("named=%v", named), func(t *testing.T) {
			t.Parallel()
			text, _ := urls(1200)
			r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", text)},
				cloudflaretest.WithLatency(50*time.Millisecond),
				cloudflaretest.WithScript(cloudflaretest.RefuseEveryURL(named, nil)))
			// 40 batches; the brake engages after 16 + 2 × 8 refusals in a
			// row, with up to 8 more in flight and 2 queued a batch.
			if n := len(r.requests); n > 40+32+8+2*8 {
				t.Errorf("%d requests for 1,200 refused URLs in 40 batches, want at most %d", n, 40+32+8+2*8)
			}
			errs := r.Annotations("error")
			if r.Code != 1 || r.Outputs["count"] != "0" || len(errs) != 1 || !strings.Contains(errs[0].Message, "1200 of 1200 target(s) not purged") {
				t.Fatalf("exit %d, count %q, annotations %+v; want every URL reported not purged", r.Code, r.Outputs["count"], errs)
			}
			want := cloudflaretest.RefusedMessage
			if named {
				want = "which is an invalid URL."
			}
			if !strings.Contains(errs[0].Message, want) {
				t.Errorf("annotation %q does not give Cloudflare's answer %q", errs[0].Message, want)
			}
			t.Logf("1,200 URLs, every one refused (named: %v): %d requests", named, len(r.requests))
		})
	}
}

// Cloudflare's message naming the URL it refuses sets that URL aside at
// once: the rest of its batch is sent again in one request, without
// halving.
func TestANamedURLIsSetAsideAtOnce(t *testing.T) {
	t.Parallel()
	text, list := urls(30)
	bad := list[5]
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", text)},
		cloudflaretest.WithScript(cloudflaretest.RefuseURL(bad, nil)))
	if r.Code != 1 || r.Outputs["count"] != "29" || len(r.requests) != 2 || !r.requests[1].Confirmed || r.requests[1].Items() != 29 {
		t.Fatalf("exit %d, count %q, %d requests; want 29 purged in the second of two requests\n%s", r.Code, r.Outputs["count"], len(r.requests), r.Stdout)
	}
	if !r.HasAnnotation("error", "Cloudflare purge failed: 1 target(s) rejected", cloudflaretest.InvalidURLMessage(bad)) {
		t.Errorf("annotations = %+v", r.Annotations("error"))
	}
}

// A 1012 received is not trusted to mean what the documentation says (a
// body without purge keys: the action never sends one); the batch is
// split once, and when both halves are refused alike the batch fails
// with Cloudflare's answer after three requests.
func TestA1012CostsTwoRequestsMore(t *testing.T) {
	t.Parallel()
	text, _ := urls(30)
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", text)},
		cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
			return cloudflaretest.Fail(400, 1012, `Request must contain one of "purge_everything", "files", "tags", "hosts" or "prefixes"`)
		}))
	if r.Code != 1 || len(r.requests) != 3 || !r.HasAnnotation("error", "Cloudflare purge failed: HTTP 400", "30 of 30 target(s) not purged") ||
		!r.HasAnnotation("error", "Cloudflare purge failed: HTTP 400", "HTTP 400: 1012 Request must contain one of") {
		t.Errorf("exit %d, %d requests, annotations %+v; want 3 requests and the batch failed with the 1012", r.Code, len(r.requests), r.Annotations("error"))
	}
}

// Code 1134 is the purge rate limit whatever the HTTP status: the request
// is retried after Retry-After, as after a 429, and the step succeeds.
func Test1134IsARateLimitWhateverTheStatus(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 200} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a\nb", "batch-size", "1", "concurrency", "1")},
				cloudflaretest.WithScript(cloudflaretest.RateLimitedWith(status, 1, 3, nil)))
			if r.Code != 0 || r.Outputs["count"] != "2" || len(r.requests) != 3 {
				t.Fatalf("exit %d, count %q, %d requests; want the refused request sent again and both purged\n%s", r.Code, r.Outputs["count"], len(r.requests), r.Stdout)
			}
			if gap := r.requests[1].At.Sub(r.requests[0].At); gap < 3*time.Second {
				t.Errorf("the next request went %v after a 1134 with Retry-After: 3", gap)
			}
		})
	}
}

// A 1134 that never clears fails the step titled as a rate limit, with its
// status.
func Test1134ThatNeverClearsIsReportedAsARateLimit(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a", "max-retries", "1")},
		cloudflaretest.WithScript(cloudflaretest.RateLimitedWith(400, 100, 1, nil)))
	if r.Code != 1 || len(r.requests) != 2 || !r.HasAnnotation("error", "Cloudflare purge failed: rate limited (HTTP 400)", "1134 Unable to purge, rate limit reached") {
		t.Errorf("exit %d, %d requests, annotations %+v", r.Code, len(r.requests), r.Annotations("error"))
	}
}

// 1092 (purge_everything with other keys) is about the body's keys: never
// split, never retried.
func Test1092IsNeverSplit(t *testing.T) {
	t.Parallel()
	text, _ := urls(30)
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "files", "targets", text)},
		cloudflaretest.WithScript(cloudflaretest.RefuseEverythingWithKeys()))
	if r.Code != 1 || len(r.requests) != 1 || !r.HasAnnotation("error", "Cloudflare purge failed: HTTP 400", "1092 "+cloudflaretest.EverythingWithKeysMessage) {
		t.Errorf("exit %d, %d requests, annotations %+v", r.Code, len(r.requests), r.Annotations("error"))
	}
}
