package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
)

// byName are the inputs of a step whose one zone is given by name,
// then kv.
func byName(kv ...string) []string {
	return append([]string{"zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a"}, kv...)
}

// gaps are the times between the calls.
func gaps(calls []call) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(calls); i++ {
		out = append(out, calls[i].At.Sub(calls[i-1].At))
	}
	return out
}

// A lookup that meets a 429, a 5xx or a network error is sent again,
// as a purge would be, waiting as Retry-After says, as often as
// max-retries allows; then it is a problem of the input that asked for
// it. An answer no retry can change is not sent again.
func TestLookupsAreRetriedWithinMaxRetries(t *testing.T) {
	t.Parallel()
	failed := func(err string) []problem.Problem {
		return []problem.Problem{{Input: "zone", Message: `looking up "example.com" failed: ` + err}}
	}
	for _, tt := range []struct {
		name       string
		maxRetries string
		replies    []reply
		calls      int
		gaps       []time.Duration
		want       []problem.Problem // nil: the zone is found
	}{
		{"a 429, a 5xx, then the zone", "3", []reply{{Err: busy(7 * time.Second)}, {Err: unavailable}}, 3,
			[]time.Duration{7 * time.Second, time.Second}, nil}, // Retry-After, then the backoff
		{"a network error, then the zone", "1", []reply{{Err: errors.New("connection reset by peer")}}, 2, []time.Duration{time.Second}, nil},
		{"5xx past max-retries", "1", []reply{{Err: unavailable}, {Err: unavailable}}, 2, []time.Duration{time.Second},
			failed("HTTP 503: Service Unavailable")},
		{"no retries", "0", []reply{{Err: unavailable}}, 1, nil, failed("HTTP 503: Service Unavailable")},
		{"a 400", "3", []reply{{Err: &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 1003, Message: "Invalid or missing zone id"}}}}}, 1, nil,
			failed("HTTP 400: 1003 Invalid or missing zone id")},
		{"an incomplete scope", "3", []reply{{Err: fmt.Errorf("%w: no zone ID", cloudflare.ErrIncompleteScope)}}, 1, nil,
			failed("incomplete scope: nothing sent: no zone ID")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := knownZones()
			api.Script = inTurn(tt.replies...)
			cfg := step(t, byName("max-retries", tt.maxRetries)...)
			r := resolveStep(t, cfg, api, nil, 0)
			if calls := api.Calls(); len(calls) != tt.calls || fmt.Sprint(gaps(calls)) != fmt.Sprint(tt.gaps) {
				t.Errorf("%d lookups %v apart; want %d, %v apart", len(calls), gaps(calls), tt.calls, tt.gaps)
			}
			if tt.want != nil {
				assertEnded(t, r, cfg, problem.Stopped, tt.want...)
			} else if r.err != nil || len(r.Zones) != 1 || r.Zones[0].ID.String() != comID {
				t.Errorf("error %v, zones %+v; want the zone found", r.err, r.Zones)
			}
		})
	}
}

// A hung lookup costs one attempt's bound (retry.LookupAttempt), not the
// whole timeout: it is sent again, and the run goes on.
func TestAHungLookupCostsOneAttempt(t *testing.T) {
	t.Parallel()
	api := knownZones()
	api.Script = inTurn(reply{Hang: true})
	r := resolveStep(t, step(t, byName()...), api, nil, 0)
	if r.err != nil || len(api.Calls()) != 2 {
		t.Fatalf("error %v, %d lookups; want the second to find the zone", r.err, len(api.Calls()))
	}
	if got, want := gaps(api.Calls())[0], retry.LookupAttempt+time.Second; got != want {
		t.Errorf("sent again %v after it hung; want the attempt's bound and the backoff, %v", got, want)
	}

	hung := knownZones()
	hung.Script = always("ZonesByName", reply{Hang: true})
	cfg := step(t, byName("max-retries", "2", "timeout", "10m")...)
	r = resolveStep(t, cfg, hung, nil, 0)
	assertEnded(t, r, cfg, problem.Stopped, problem.Problem{Input: "zone", Message: `looking up "example.com" failed: no answer within 30s`})
	if want := 3*retry.LookupAttempt + 2*time.Second; len(hung.Calls()) != 3 || r.took != want {
		t.Errorf("%d lookups in %v; want 3 in %v, far below the timeout", len(hung.Calls()), r.took, want)
	}
}

// A Retry-After that would pass the run's deadline fails at once, saying
// so; one within it is waited for.
func TestLookupRetryAfterPastTheDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	api := knownZones()
	api.Script = always("ZonesByName", reply{Err: busy(time.Hour)})
	cfg := step(t, byName("timeout", "5m")...)
	r := resolveStep(t, cfg, api, nil, 0)
	assertEnded(t, r, cfg, problem.Stopped, problem.Problem{Input: "zone", Message: `looking up "example.com" failed: HTTP 429: 971 Please wait and consider throttling your request speed; ` +
		`Cloudflare asked to wait 1h0m0s (Retry-After), which would pass the timeout (5m0s left)`})
	if len(api.Calls()) != 1 || r.took != 0 {
		t.Errorf("%d lookups in %v; want 1, failed at once", len(api.Calls()), r.took)
	}

	within := knownZones()
	within.Script = inTurn(reply{Err: busy(4 * time.Minute)})
	r = resolveStep(t, step(t, byName("timeout", "5m")...), within, nil, 0)
	if r.err != nil || len(within.Calls()) != 2 || r.took != 4*time.Minute {
		t.Errorf("error %v, %d lookups in %v; want the second, 4m later, to find the zone", r.err, len(within.Calls()), r.took)
	}
}

// A lookup refused for want of a permission is not sent again: the run
// stops naming the permission to add, titled by the input that asked.
func TestARefusedLookupNamesThePermission(t *testing.T) {
	t.Parallel()
	const why = "HTTP 403: 10000 Authentication error"
	for _, tt := range []struct {
		name, method string
		in           []string
		want         problem.Problem
	}{
		{"a zone name", "ZonesByName", byName(),
			problem.Problem{Input: "zone", Message: `looking up "example.com" was refused (` + why + `): give the token the Zone > Zone > Read permission`}},
		{"an environment", "Environments", []string{"zone-id", "", "zone", "example.com", "environment", "staging", "purge-type", "everything"},
			problem.Problem{Input: "environment", Message: `looking up environment "staging" in zone example.com (` + comID + `) was refused (` + why +
				`): give the token the Zone > Zone Versioning > Read permission`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := knownZones()
			api.Script = always(tt.method, reply{Err: refused})
			cfg := step(t, tt.in...)
			assertEnded(t, resolveStep(t, cfg, api, nil, 0), cfg, problem.Stopped, tt.want)
			if n := countCalls(api.Calls(), tt.method); n != 1 {
				t.Errorf("%d %s lookups; want 1, not sent again", n, tt.method)
			}
		})
	}

	// Zones given by ID whose names route files: each zone's lookup is
	// refused, and said, naming the permission and the other way out.
	t.Run("zones by ID whose names route files", func(t *testing.T) {
		t.Parallel()
		api := knownZones()
		api.Script = always("Zone", reply{Err: refused})
		cfg := step(t, "zone-id", comID+"\n"+orgID, "purge-type", "files", "targets", "https://example.com/a")
		r := resolveStep(t, cfg, api, nil, 0)
		pe, ok := errors.AsType[*problem.Error](r.err)
		if !ok || pe.Kind != problem.Stopped || len(pe.Problems) != 2 {
			t.Fatalf("error %v; want the run stopped, a problem a zone", r.err)
		}
		for i, id := range []string{comID, orgID} {
			p := pe.Problems[i]
			prefix := "looking up zone " + id + " (its name decides which files go to it) was refused (" + why + "): give the token the Zone > Zone > Read"
			if p.Input != "zone-id" || !strings.HasPrefix(p.Message, prefix) || !strings.Contains(p.Message, "; or purge each zone in a step of its own") {
				t.Errorf("problem %d: %s: %s\nwant zone-id: %s…; or purge each zone in a step of its own", i, p.Input, p.Message, prefix)
			}
		}
		if n := countCalls(api.Calls(), "Zone"); n != 2 {
			t.Errorf("%d zone lookups; want 2, none sent again", n)
		}
		assertEnded(t, r, cfg, problem.Stopped, pe.Problems...) // the plan
	})
}

// countCalls counts the calls of method.
func countCalls(calls []call, method string) int {
	n := 0
	for _, c := range calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// The timeout passing, or the run cancelled (SIGTERM), during a lookup
// is said as what it is.
func TestALookupStoppedByTheTimeoutOrACancel(t *testing.T) {
	t.Parallel()
	const cancelled = "the run was cancelled (the job was cancelled, or the runner sent SIGTERM)"
	for _, tt := range []struct {
		name, method string
		in           []string
		cancelAt     time.Duration
		took         time.Duration
		want         problem.Problem
	}{
		{"the timeout, a zone name", "ZonesByName", byName("timeout", "45s", "max-retries", "9"), 0, 45 * time.Second,
			problem.Problem{Input: "zone", Message: `stopped while looking up "example.com": the timeout was reached; nothing was purged`}},
		{"a cancel, a zone name", "ZonesByName", byName(), 10 * time.Second, 10 * time.Second,
			problem.Problem{Input: "zone", Message: `stopped while looking up "example.com": ` + cancelled + `; nothing was purged`}},
		{"a cancel, a zone by ID", "Zone", []string{"zone-id", comID + "\n" + orgID, "purge-type", "hosts", "targets", "example.com"}, 10 * time.Second, 10 * time.Second,
			problem.Problem{Input: "zone-id", Message: "stopped while looking up zone " + comID + " (its name decides which hosts go to it): " + cancelled + "; nothing was purged"}},
		{"the timeout, an environment", "Environments", []string{"environment", "staging", "purge-type", "everything", "timeout", "1m"}, 0, time.Minute,
			problem.Problem{Input: "environment", Message: `stopped while looking up environment "staging" in zone ` + comID + `: the timeout was reached; nothing was purged`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := knownZones()
			api.Script = always(tt.method, reply{Hang: true})
			cfg := step(t, tt.in...)
			r := resolveStep(t, cfg, api, nil, tt.cancelAt)
			want := []problem.Problem{tt.want}
			if tt.method == "Zone" { // the next zone's lookup meets the same end
				want = append(want, problem.Problem{Input: "zone-id", Message: "stopped while looking up zone " + orgID + " (its name decides which hosts go to it): " + cancelled + "; nothing was purged"})
			}
			assertEnded(t, r, cfg, problem.Stopped, want...)
			if r.took != tt.took {
				t.Errorf("stopped after %v; want %v", r.took, tt.took)
			}
		})
	}
}

// Options.Explain's words (what Cloudflare said of the token) replace the
// bare advice to add the permission; the advice after it stays.
func TestARefusedLookupIsExplained(t *testing.T) {
	t.Parallel()
	api := knownZones()
	api.Script = always("Zone", reply{Err: refused})
	cfg := step(t, "zone-id", comID+"\n"+orgID, "purge-type", "files", "targets", "https://example.com/a")
	var asked []string
	var r resolved
	synctest.Test(t, func(t *testing.T) {
		r.Plan, r.err = resolve.Resolve(t.Context(), cfg, api, resolve.Options{
			MaxRetries: cfg.MaxRetries,
			NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Second) },
			Explain: func(_ context.Context, err error, permission, zoneName string) string {
				asked = append(asked, permission)
				return "the token is active, so it lacks " + permission
			},
		})
	})
	if len(asked) == 0 || asked[0] != resolve.ZoneReadPermission {
		t.Errorf("Explain asked for %q; want the bare permission %q", asked, resolve.ZoneReadPermission)
	}
	want := "was refused (HTTP 403: 10000 Authentication error): the token is active, so it lacks Zone > Zone > Read; or purge each zone in a step of its own"
	if r.err == nil || !strings.Contains(r.err.Error(), want) {
		t.Errorf("error %v; want it to say %q", r.err, want)
	}
}
