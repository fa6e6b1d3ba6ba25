package command_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// bubbleStart is when a testing/synctest bubble's clock starts: the
// token's dates are set against it.
var bubbleStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// A purge refused on the credentials is explained by what Cloudflare
// says of the token, asked once: expired, disabled, not yet valid, not
// accepted at all, or active (so it lacks Cache Purge on the zone).
func TestARefusedTokenIsExplained(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		token cloudflaretest.Token
		want  string
	}{
		{"expired", cloudflaretest.Token{Status: "expired", ExpiresOn: bubbleStart.AddDate(0, 0, -4)}, "the token expired on 1999-12-28"},
		{"disabled", cloudflaretest.Token{Status: "disabled"}, "the token is disabled: Cloudflare disables a token that GitHub's secret scanning found"},
		{"not yet valid", cloudflaretest.Token{NotBefore: bubbleStart.Add(48 * time.Hour)}, "the token is not valid until 2000-01-03 00:00 UTC"},
		{"not accepted at all", cloudflaretest.Token{Refused: true}, "the token is not accepted at all"},
		{"active", cloudflaretest.Token{}, "the token is active, so it lacks Zone > Cache Purge on zone " + zone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a")},
				cloudflaretest.WithToken(tt.token), cloudflaretest.WithoutCachePurge())
			if r.Code != 1 || !r.HasAnnotation("error", "Cloudflare purge failed: authentication error (HTTP 403)", tt.want) {
				t.Errorf("exit %d, errors %+v; want one saying %q", r.Code, r.Annotations("error"), tt.want)
			}
			if !r.HasAnnotation("error", "Cloudflare purge failed: authentication error (HTTP 403)", "HTTP 403: 10000") {
				t.Errorf("the refusal itself is not in the annotation: %+v", r.Annotations("error"))
			}
			if len(r.verifies) != 1 {
				t.Errorf("%d verify requests, want exactly one", len(r.verifies))
			}
			assertSecretsOnlyMasked(t, r, token)
		})
	}
}

// The token check is bounded and adds words only: a verify that is
// refused for another reason, fails or hangs leaves the refusal as it was,
// within the timeout.
func TestATokenCheckThatHangsLeavesTheRefusalAsItIs(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a", "timeout", "2m")},
		cloudflaretest.WithToken(cloudflaretest.Token{Hang: true}), cloudflaretest.WithoutCachePurge())
	errs := r.Annotations("error")
	if r.Code != 1 || len(errs) != 1 || !strings.Contains(errs[0].Message, "Check that the token is valid and has the Zone > Cache Purge permission") {
		t.Errorf("exit %d, errors %+v; want the refusal with its usual hint", r.Code, errs)
	}
	if len(r.verifies) != 1 {
		t.Errorf("%d verify requests, want one", len(r.verifies))
	}
}

// An account-owned token is verified under the account a lookup named.
func TestAnAccountTokenIsVerifiedUnderItsAccount(t *testing.T) {
	t.Parallel()
	const cfat = "cfat_Bq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_9d1c"
	r := runStep(t, actiontest.Step{Inputs: inputs("api-token", cfat, "zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a")},
		knownZones, cloudflaretest.WithToken(cloudflaretest.Token{Account: "Acme"}), cloudflaretest.WithoutCachePurge())
	var verifies []string
	for _, v := range r.verifies {
		verifies = append(verifies, v.Path)
	}
	want := "/client/v4/accounts/" + cloudflaretest.AccountID("Acme") + "/tokens/verify"
	if len(verifies) != 1 || verifies[0] != want {
		t.Errorf("verify requests %q, want one to %s", verifies, want)
	}
	if !r.HasAnnotation("error", "Cloudflare purge failed: authentication error (HTTP 403)", "the token is active, so it lacks Zone > Cache Purge") {
		t.Errorf("errors %+v", r.Annotations("error"))
	}
	assertSecretsOnlyMasked(t, r, cfat)

	// Zones given by ID: no lookup names the account, so nothing is asked,
	// and the annotation says why the token could not be checked.
	byID := runStep(t, actiontest.Step{Inputs: inputs("api-token", cfat, "purge-type", "tags", "targets", "a")},
		cloudflaretest.WithToken(cloudflaretest.Token{Account: "Acme"}), cloudflaretest.WithoutCachePurge())
	if len(byID.verifies) != 0 || !byID.HasAnnotation("error", "Cloudflare purge failed: authentication error (HTTP 403)", "the token may be account-owned (its prefix is cfat_) and could not be checked") {
		t.Errorf("%d verify requests, errors %+v", len(byID.verifies), byID.Annotations("error"))
	}
	assertSecretsOnlyMasked(t, byID, cfat)
}

// A token that expires within 14 days is warned about on a run that
// succeeds, before it breaks a deploy; a dry run asks nothing.
func TestATokenAboutToExpireIsWarnedAbout(t *testing.T) {
	t.Parallel()
	soon := cloudflaretest.WithToken(cloudflaretest.Token{ExpiresOn: bubbleStart.AddDate(0, 0, 3)})
	r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a")}, soon)
	warnings := r.Annotations("warning")
	if r.Code != 0 || len(warnings) != 1 || warnings[0].Title != "API token expires soon" || !strings.Contains(warnings[0].Message, "expires on 2000-01-04 (in 3 days)") {
		t.Errorf("exit %d, warnings %+v", r.Code, warnings)
	}
	if len(r.verifies) != 1 {
		t.Errorf("%d verify requests, want one", len(r.verifies))
	}
	assertSecretsOnlyMasked(t, r, token)

	dry := runStep(t, actiontest.Step{Inputs: inputs("purge-type", "tags", "targets", "a", "dry-run", "true")}, soon)
	if dry.Code != 0 || len(dry.verifies) != 0 || len(dry.Annotations("warning")) != 0 {
		t.Errorf("dry run: exit %d, %d verify requests, warnings %+v; want none", dry.Code, len(dry.verifies), dry.Annotations("warning"))
	}
}
