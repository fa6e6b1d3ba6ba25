package cloudflare_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
)

// Tokens of each kind, as Cloudflare's formats have them; each is
// looked for in every message and error below.
const (
	userToken     = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
	accountToken  = "cfat_Hk2Vn8Qe4Wt6Yp0Lz3Xc7Bm1Rd5Fg9Js2Aa8UoIeNp_9c1d"
	olderToken    = "Yx9-Lq3Wm7Ze2Rt5Up8Io1Pa4Sd6Fg0Hj_Kl3Zx"
	refusedZoneID = "023e105f4ecef8ad9ca31a8372d0c353"
)

// verifyCase is what one check of the token shows: the explanation of a
// purge the fake refused (403, 10000), and what the fake received.
type verifyCase struct {
	check    cloudflare.TokenCheck
	explain  string
	verifies []cloudflaretest.Request
	elapsed  time.Duration // of CheckToken, in the bubble's time
}

// checkAfterRefusal runs, in a synctest bubble, a purge that the fake
// refuses, then CheckToken with accountID, and explains the refusal.
func checkAfterRefusal(t *testing.T, creds cloudflare.Credentials, accountID string, opts ...cloudflaretest.Option) verifyCase {
	t.Helper()
	var got verifyCase
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(append([]cloudflaretest.Option{cloudflaretest.WithoutCachePurge()}, opts...)...)
		defer fake.Close()
		c := cloudflare.NewClient(fake.BaseURL(), creds, fake.Client(), "ua")
		_, err := c.Send(context.Background(), cloudflare.Request{Scope: scope(refusedZoneID, ""), Operation: cloudflare.Purge, Body: cloudflare.NewBody(cloudflare.Everything, nil)})
		refusal, ok := errors.AsType[*cloudflare.APIError](err)
		if !ok || refusal.Status != 403 || !refusal.AuthFailure() {
			t.Fatalf("purge: %v; want the fake's 403 refusal", err)
		}
		start := time.Now()
		got.check = c.CheckToken(context.Background(), accountID)
		got.elapsed = time.Since(start)
		got.verifies = fake.Verifies()
		got.explain = cloudflare.ExplainRefusal(cloudflare.Refusal{
			Err: refusal, Kind: creds.Kind(), Check: got.check,
			ZoneName: "example.com", Zone: cloudflare.MustParseID(refusedZoneID), Permission: cloudflare.CachePurgePermission,
		}, now)
		// The token is in no message and no error.
		for _, s := range []string{got.explain, err.Error(), errText(got.check.Err)} {
			if strings.Contains(s, creds.Token) && creds.Token != "" || creds.Key != "" && strings.Contains(s, creds.Key) {
				t.Errorf("a message or error quotes the secret: %s", s)
			}
		}
	})
	return got
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Each answer of the verify is its own explanation; the verify is one
// request, to the user endpoint, with the token in its header.
func TestCheckTokenExplainsEachStatus(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		token cloudflaretest.Token
		want  []string
		not   []string
	}{
		{"active: the common case", cloudflaretest.Token{}, []string{
			"the token is active, so it lacks Zone > Cache Purge on zone example.com (ID 023e105f4ecef8ad9ca31a8372d0c353): edit its permissions"}, nil},
		{"active, expiring later", cloudflaretest.Token{ExpiresOn: at("2026-12-30T00:00:00Z")}, []string{"the token is active, so it lacks"}, []string{"expire"}},
		{"expired", cloudflaretest.Token{Status: "expired", ExpiresOn: at("2026-11-20T00:00:00Z")}, []string{"the token expired on 2026-11-20:", "replace the secret"}, []string{"lacks"}},
		{"expired with no date", cloudflaretest.Token{Status: "expired"}, []string{"the token has expired:"}, []string{"lacks"}},
		{"active, but its expiry has passed", cloudflaretest.Token{ExpiresOn: at("2026-11-26T00:00:00Z")}, []string{"the token expired on 2026-11-26:"}, []string{"lacks"}},
		{"disabled", cloudflaretest.Token{Status: "disabled"}, []string{"the token is disabled", "GitHub's secret scanning found in a public commit"}, []string{"lacks"}},
		{"not valid yet", cloudflaretest.Token{NotBefore: at("2026-12-01T08:00:00Z")}, []string{"the token is not valid until 2026-12-01 08:00 UTC"}, []string{"lacks"}},
		{"valid since", cloudflaretest.Token{NotBefore: at("2026-11-01T08:00:00Z")}, []string{"the token is active, so it lacks"}, []string{"valid until"}},
		{"refused", cloudflaretest.Token{Refused: true}, []string{"the token is not accepted at all", "(HTTP 401)", "so it was deleted, rolled or has expired, or the secret is mistyped"}, []string{"lacks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := checkAfterRefusal(t, cloudflare.Credentials{Token: userToken}, "", cloudflaretest.WithToken(tt.token))
			for _, w := range tt.want {
				if !strings.Contains(got.explain, w) {
					t.Errorf("explanation %q lacks %q", got.explain, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got.explain, n) {
					t.Errorf("explanation %q says %q", got.explain, n)
				}
			}
			if len(got.verifies) != 1 || got.verifies[0].Path != "/client/v4/user/tokens/verify" ||
				got.verifies[0].Header.Get("Authorization") != "Bearer "+userToken {
				t.Errorf("verifies: %+v; want one GET /user/tokens/verify with the token", got.verifies)
			}
		})
	}
}

// An account-owned token is verified under the account it is given,
// which is checked first: a hostile one is never sent, and the check is
// skipped, saying so. Under another account, Cloudflare refuses it.
func TestCheckTokenVerifiesAnAccountTokenUnderItsAccount(t *testing.T) {
	t.Parallel()
	creds := cloudflare.Credentials{Token: accountToken}
	acme := cloudflaretest.AccountID("acme")
	owned := cloudflaretest.WithToken(cloudflaretest.Token{Account: "acme"})

	got := checkAfterRefusal(t, creds, acme, owned)
	if got.check.Outcome != cloudflare.VerifyAnswered || got.check.Account.String() != acme ||
		len(got.verifies) != 1 || got.verifies[0].Path != "/client/v4/accounts/"+acme+"/tokens/verify" {
		t.Errorf("check %+v, verifies %+v; want an answer from GET /accounts/%s/tokens/verify", got.check, got.verifies, acme)
	}
	if !strings.HasPrefix(got.explain, "the token is active, so it lacks Zone > Cache Purge") {
		t.Errorf("explanation %q", got.explain)
	}

	other := cloudflaretest.AccountID("other")
	got = checkAfterRefusal(t, creds, other, owned)
	if got.check.Outcome != cloudflare.VerifyRefused || len(got.verifies) != 1 ||
		!strings.Contains(got.explain, "not accepted at all as a token of account "+other) || !strings.Contains(got.explain, "belongs to another account") {
		t.Errorf("under another account: check %+v, explanation %q; want refused, and said so", got.check, got.explain)
	}

	for _, hostile := range []string{"", "../../user", acme + "/../x", "a?b", "a%2Fb", acme + "0", "ａcme"} {
		got := checkAfterRefusal(t, creds, hostile, owned)
		if got.check.Outcome != cloudflare.VerifySkipped || !errors.Is(got.check.Err, cloudflare.ErrNoAccount) || len(got.verifies) != 0 {
			t.Errorf("account ID %q: check %+v, %d verifies; want skipped without a request", hostile, got.check, len(got.verifies))
		}
		if !strings.Contains(got.explain, "may be account-owned") || !strings.Contains(got.explain, "could not be checked") {
			t.Errorf("account ID %q: explanation %q", hostile, got.explain)
		}
		if hostile != "" && strings.Contains(got.explain+errText(got.check.Err), hostile) {
			t.Errorf("the hostile account ID %q is quoted: %q, %v", hostile, got.explain, got.check.Err)
		}
	}
}

// A token without a prefix that the user endpoint refuses may still be
// an account's: the explanation says what is known, no more.
func TestCheckTokenRefusalOfAnUnprefixedTokenIsNoProof(t *testing.T) {
	t.Parallel()
	got := checkAfterRefusal(t, cloudflare.Credentials{Token: olderToken}, cloudflaretest.AccountID("acme"),
		cloudflaretest.WithToken(cloudflaretest.Token{Account: "acme"}))
	if got.check.Outcome != cloudflare.VerifyRefused || len(got.verifies) != 1 || got.verifies[0].Path != "/client/v4/user/tokens/verify" {
		t.Fatalf("check %+v, verifies %+v; want the user endpoint's refusal", got.check, got.verifies)
	}
	if strings.Contains(got.explain, "not accepted at all") || !strings.Contains(got.explain, "it is no valid user token") ||
		!strings.Contains(got.explain, "unless it is an account-owned token") {
		t.Errorf("explanation %q; want what the user endpoint's refusal shows, no more", got.explain)
	}
}

// A verify that hangs costs its own bound, once: the check failed, and
// nothing is added to the refusal.
func TestCheckTokenHangIsBoundedByItsOwnTimeout(t *testing.T) {
	t.Parallel()
	got := checkAfterRefusal(t, cloudflare.Credentials{Token: userToken}, "", cloudflaretest.WithToken(cloudflaretest.Token{Hang: true}))
	if got.check.Outcome != cloudflare.VerifyFailed || got.elapsed != retry.VerifyAttempt || len(got.verifies) != 1 {
		t.Errorf("check %+v after %s, %d verifies; want failed after %s, one request", got.check, got.elapsed, len(got.verifies), retry.VerifyAttempt)
	}
	if got.explain != "" {
		t.Errorf("explanation %q; want none: the refusal is reported as it is", got.explain)
	}
}

// The verify is sent again once at most, and only after a 5xx or a
// connection that failed at once; an answer that is not a verify answer
// is a failed check.
func TestCheckTokenRetriesAtMostOnce(t *testing.T) {
	t.Parallel()
	ok := func(result string) cloudflaretest.Response {
		return cloudflaretest.Response{Status: 200, Body: `{"success":true,"errors":[],"messages":[],"result":` + result + `}`}
	}
	unavailable := cloudflaretest.Fail(503, 0, "Service Unavailable")
	tests := []struct {
		name     string
		before   []cloudflaretest.Response
		outcome  cloudflare.VerifyOutcome
		requests int
	}{
		{"503, then an answer", []cloudflaretest.Response{unavailable}, cloudflare.VerifyAnswered, 2},
		{"a reset, then an answer", []cloudflaretest.Response{{Reset: true}}, cloudflare.VerifyAnswered, 2},
		{"503 twice", []cloudflaretest.Response{unavailable, unavailable}, cloudflare.VerifyFailed, 2},
		{"429", []cloudflaretest.Response{cloudflaretest.Fail(429, 971, "Please wait")}, cloudflare.VerifyFailed, 1},
		{"400", []cloudflaretest.Response{cloudflaretest.Fail(400, 6003, "Invalid request headers")}, cloudflare.VerifyFailed, 1},
		{"403", []cloudflaretest.Response{cloudflaretest.Fail(403, 9109, "Unauthorized to access requested resource")}, cloudflare.VerifyRefused, 1},
		{"an undocumented status", []cloudflaretest.Response{ok(`{"id":"a1","status":"revoked"}`)}, cloudflare.VerifyFailed, 1},
		{"no status", []cloudflaretest.Response{ok(`{"id":"a1"}`)}, cloudflare.VerifyFailed, 1},
		{"a date not in RFC 3339", []cloudflaretest.Response{ok(`{"id":"a1","status":"active","expires_on":"30/11/2026"}`)}, cloudflare.VerifyFailed, 1},
		{"an id that is no ID", []cloudflaretest.Response{ok(`{"id":"../a","status":"active"}`)}, cloudflare.VerifyFailed, 1},
		{"an answer without dates or id", []cloudflaretest.Response{ok(`{"status":"active","not_before":null}`)}, cloudflare.VerifyAnswered, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := checkAfterRefusal(t, cloudflare.Credentials{Token: userToken}, "", cloudflaretest.WithToken(cloudflaretest.Token{Before: tt.before}))
			if got.check.Outcome != tt.outcome || len(got.verifies) != tt.requests {
				t.Errorf("check %+v after %d requests; want outcome %d after %d", got.check, len(got.verifies), tt.outcome, tt.requests)
			}
			if tt.outcome == cloudflare.VerifyFailed && got.explain != "" {
				t.Errorf("a failed check explains: %q", got.explain)
			}
		})
	}
}

// The key pair has no verify endpoint: nothing is sent, and the
// explanation names the headers Cloudflare refused.
func TestCheckTokenSendsNothingForTheKeyPair(t *testing.T) {
	t.Parallel()
	got := checkAfterRefusal(t, cloudflare.Credentials{Email: "ops@example.com", Key: "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d"}, cloudflaretest.AccountID("acme"))
	if got.check.Outcome != cloudflare.VerifyNotAsked || !errors.Is(got.check.Err, cloudflare.ErrNotVerifiable) || len(got.verifies) != 0 {
		t.Errorf("check %+v, %d verifies; want nothing asked", got.check, len(got.verifies))
	}
	if !strings.Contains(got.explain, "refused the X-Auth-Email + X-Auth-Key pair") || !strings.Contains(got.explain, "Zone > Cache Purge on zone example.com") {
		t.Errorf("explanation %q", got.explain)
	}
}

// A lookup's refusal is explained with the lookup's permission and the
// zone as far as it is known.
func TestExplainRefusalOfALookup(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(cloudflaretest.WithoutZoneRead())
		defer fake.Close()
		c := cloudflare.NewClient(fake.BaseURL(), cloudflare.Credentials{Token: userToken}, fake.Client(), "ua")
		_, err := c.ZonesByName(context.Background(), "example.com")
		refusal, ok := errors.AsType[*cloudflare.APIError](err)
		if !ok {
			t.Fatalf("lookup: %v; want a refusal", err)
		}
		check := c.CheckToken(context.Background(), "")
		got := cloudflare.ExplainRefusal(cloudflare.Refusal{Err: refusal, Kind: cloudflare.UserToken, Check: check, ZoneName: "example.com", Permission: "Zone > Zone > Read"}, now)
		if want := "the token is active, so it lacks Zone > Zone > Read on zone example.com: edit its permissions"; !strings.HasPrefix(got, want) {
			t.Errorf("explanation %q; want it to begin %q", got, want)
		}
	})
}

// The pure part alone: what is not a refusal on the credentials gets no
// explanation; a header Cloudflare could not read is said without a
// check; a zone's name from an answer is quoted unless it reads as a
// hostname; no zone known is said as such.
func TestExplainRefusalEdges(t *testing.T) {
	t.Parallel()
	active := cloudflare.TokenCheck{Outcome: cloudflare.VerifyAnswered, Token: cloudflare.TokenStatus{Status: cloudflare.TokenActive}}
	refused := &cloudflare.APIError{Status: 403, Errors: []cloudflare.ErrorItem{{Code: 10000, Message: "Authentication error"}}}
	badHeader := func(code int) *cloudflare.APIError {
		return &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 6003, Message: "Invalid request headers", ErrorChain: []cloudflare.ErrorItem{{Code: code, Message: "Invalid format"}}}}}
	}
	tests := []struct {
		name string
		r    cloudflare.Refusal
		want string
	}{
		{"no error", cloudflare.Refusal{Kind: cloudflare.UserToken, Check: active}, ""},
		{"not about credentials", cloudflare.Refusal{Err: &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 1012, Message: "x"}}}, Kind: cloudflare.UserToken, Check: active}, ""},
		{"a 5xx", cloudflare.Refusal{Err: &cloudflare.APIError{Status: 503}, Kind: cloudflare.UserToken, Check: active}, ""},
		{"check not asked for a token", cloudflare.Refusal{Err: refused, Kind: cloudflare.UserToken}, ""},
		{"check failed", cloudflare.Refusal{Err: refused, Kind: cloudflare.UserToken, Check: cloudflare.TokenCheck{Outcome: cloudflare.VerifyFailed}}, ""},
		{"unreadable Authorization header", cloudflare.Refusal{Err: badHeader(6111), Kind: cloudflare.UserToken},
			"Cloudflare could not read the Authorization header (6111): the token holds something it cannot, often a line break or space copied with it; set the secret again"},
		{"unreadable X-Auth-Key header", cloudflare.Refusal{Err: badHeader(6103), Kind: cloudflare.KeyPair},
			"Cloudflare could not read the X-Auth-Key header (6103): the value holds something it cannot, often a line break or space copied with it; set the secret again"},
		{"a name that is no hostname", cloudflare.Refusal{Err: refused, Kind: cloudflare.UserToken, Check: active, ZoneName: "example.com\n::error::x", Permission: "P"},
			`the token is active, so it lacks P on zone "example.com\n::error::x": edit its permissions (and its client IP filtering, if it has any)`},
		{"no zone known, no permission given", cloudflare.Refusal{Err: refused, Kind: cloudflare.UserToken, Check: active},
			"the token is active, so it lacks the permission this request needs on the zone: edit its permissions (and its client IP filtering, if it has any)"},
		{"the zone by ID alone", cloudflare.Refusal{Err: refused, Kind: cloudflare.AccountToken, Check: active, Zone: cloudflare.MustParseID("z1"), Permission: "P"},
			"the token is active, so it lacks P on zone z1: edit its permissions (and its client IP filtering, if it has any)"},
	}
	for _, tt := range tests {
		if got := cloudflare.ExplainRefusal(tt.r, now); got != tt.want {
			t.Errorf("%s: %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestExpiryWarning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	active := func(expires time.Time) cloudflare.TokenStatus {
		return cloudflare.TokenStatus{Status: cloudflare.TokenActive, ExpiresOn: expires}
	}
	tests := []struct {
		name string
		s    cloudflare.TokenStatus
		want string
	}{
		{"in 3 days", active(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)), "the API token expires on 2026-12-07 (in 3 days): roll it before it breaks a deploy"},
		{"in exactly 14 days", active(now.Add(14 * 24 * time.Hour)), "the API token expires on 2026-12-18 (in 14 days): roll it before it breaks a deploy"},
		{"tomorrow", active(time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)), "the API token expires on 2026-12-05 (in 1 day): roll it before it breaks a deploy"},
		{"within the day", active(time.Date(2026, 12, 5, 1, 30, 0, 0, time.UTC)), "the API token expires on 2026-12-05 01:30 UTC (in less than a day): roll it before it breaks a deploy"},
		{"in another zone's clock, on another date", active(time.Date(2026, 12, 6, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))), "the API token expires on 2026-12-07 (in 3 days): roll it before it breaks a deploy"},
		{"just after 14 days", active(now.Add(14*24*time.Hour + time.Second)), ""},
		{"in 20 days", active(now.Add(20 * 24 * time.Hour)), ""},
		{"no expiry", active(time.Time{}), ""},
		{"already past", active(now.Add(-time.Hour)), ""},
		{"not active", cloudflare.TokenStatus{Status: cloudflare.TokenDisabled, ExpiresOn: now.Add(24 * time.Hour)}, ""},
	}
	for _, tt := range tests {
		got, ok := cloudflare.ExpiryWarning(tt.s, now)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
}

// The warning is worded from what the verify answered.
func TestExpiryWarningFromTheVerify(t *testing.T) {
	t.Parallel()
	got := checkAfterRefusal(t, cloudflare.Credentials{Token: userToken}, "",
		cloudflaretest.WithToken(cloudflaretest.Token{ExpiresOn: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}))
	w, ok := cloudflare.ExpiryWarning(got.check.Token, now)
	if !ok || w != "the API token expires on 2026-11-30 (in 3 days): roll it before it breaks a deploy" {
		t.Errorf("warning %q, %v", w, ok)
	}
	if got.check.Token.ID != cloudflaretest.TokenID || !got.check.Token.NotBefore.IsZero() {
		t.Errorf("token %+v; want the fake's ID and no start date", got.check.Token)
	}
}
