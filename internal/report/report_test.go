package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
)

func TestRanges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []int
		want string
	}{
		{nil, ""}, {[]int{1}, "1"}, {[]int{1, 2, 3}, "1-3"}, {[]int{1, 3, 4, 5, 9}, "1, 3-5, 9"},
	} {
		if got := ranges(tt.in); got != tt.want {
			t.Errorf("ranges(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGroupFailuresOneLinePerErrorAndCapped(t *testing.T) {
	t.Parallel()
	var failed []purge.BatchResult
	same := errors.New("HTTP 500: boom")
	for i := range 3 {
		failed = append(failed, purge.BatchResult{Batch: purge.Batch{Index: i}, Err: same})
	}
	failed = append(failed, purge.BatchResult{Batch: purge.Batch{Index: 5}, Err: errors.New("HTTP 400: other")})
	p := &Plan{Plan: &resolve.Plan{Zones: []resolve.Zone{{ID: cloudflare.MustParseID("z1")}}, Jobs: []purge.Job{{Batches: make([]purge.Batch, 6)}}}}
	got := p.groupFailures(failed)
	want := []string{"request 1-3 of 6: HTTP 500: boom", "request 6 of 6: HTTP 400: other"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("groupFailures = %q, want %q", got, want)
	}

	failed = nil
	for i := range 50 {
		failed = append(failed, purge.BatchResult{Batch: purge.Batch{Index: i}, Err: fmt.Errorf("distinct %d", i)})
	}
	p.Jobs[0].Batches = make([]purge.Batch, 50)
	got = p.groupFailures(failed)
	if len(got) != MaxFailureLines || got[len(got)-1] != "and 31 more different errors" {
		t.Errorf("%d lines, last %q; want %d ending with the count of the rest", len(got), got[len(got)-1], MaxFailureLines)
	}
}

func TestExplainNamesTheCause(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err      error
		why, tip string
	}{
		{&cloudflare.APIError{Status: 403}, "authentication error (HTTP 403)", "Cache Purge"},
		{&cloudflare.APIError{Status: 429}, "rate limited (HTTP 429)", "plan"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout", "timeout"},
		{fmt.Errorf("run cancelled: %w", context.Canceled), "cancelled", "SIGTERM"},
		{&cloudflare.APIError{Status: 502}, "HTTP 502", ""},
		{errors.New("request failed: reset"), "request error", ""},
	} {
		why, hint := explain(tt.err)
		if why != tt.why || !strings.Contains(hint, tt.tip) {
			t.Errorf("explain(%v) = %q, %q; want %q and a hint with %q", tt.err, why, hint, tt.why, tt.tip)
		}
	}
}

func TestGroupFailuresNamesTheZone(t *testing.T) {
	t.Parallel()
	p := &Plan{Plan: &resolve.Plan{
		Zones: []resolve.Zone{{ID: cloudflare.MustParseID("z1"), Name: "example.com"}, {ID: cloudflare.MustParseID("z2")}},
		Jobs:  []purge.Job{{Batches: make([]purge.Batch, 2)}, {Batches: make([]purge.Batch, 3)}},
	}}
	same := errors.New("HTTP 400: bad")
	got := p.groupFailures([]purge.BatchResult{
		{Job: 0, Batch: purge.Batch{Index: 1}, Err: same},
		{Job: 1, Batch: purge.Batch{Index: 0}, Err: same},
		{Job: 1, Batch: purge.Batch{Index: 1}, Err: same},
	})
	want := []string{"zone example.com (z1), request 2 of 2: HTTP 400: bad", "zone z2, request 1-2 of 3: HTTP 400: bad"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("groupFailures = %q, want %q", got, want)
	}
}
