package cloudflare

import (
	"errors"
	"fmt"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// CachePurgePermission is the permission a purge or an invalidation
// needs, as the dashboard names it (the lookups' are in package
// resolve).
const CachePurgePermission = "Zone > Cache Purge"

// Refusal is a purge or lookup that Cloudflare refused on its
// credentials, with what is known to explain it. It holds no secret:
// the kind of credentials, not the credentials.
type Refusal struct {
	// Err is the refusal: an APIError for which AuthFailure holds.
	Err *APIError
	// Kind is the kind of credentials the refused request carried.
	Kind CredentialsKind
	// Check is what CheckToken found; ignored for a KeyPair.
	Check TokenCheck
	// ZoneName and Zone are the refused request's zone, either or both
	// when known. ZoneName may come from an answer: it is quoted unless
	// it reads as a hostname.
	ZoneName string
	Zone     ID
	// Permission is what the refused request needs:
	// CachePurgePermission for a purge, a lookup's own for a lookup.
	Permission string
}

// ExplainRefusal says why Cloudflare refused, as far as the refusal and
// the token check show it, for the error annotation to carry after the
// refusal itself; "" when nothing can be added (the check failed, or
// the error is no refusal on the credentials), and the refusal is
// reported as it is. It does no I/O: now is the time the token's dates
// are read against. It never claims to know what the token may do: no
// verify answer says.
func ExplainRefusal(r Refusal, now time.Time) string {
	if r.Err == nil || !r.Err.AuthFailure() {
		return ""
	}
	if why := unreadableHeader(r.Err, r.Kind); why != "" {
		return why
	}
	zone := zoneWords(r.ZoneName, r.Zone)
	permission := r.Permission
	if permission == "" {
		permission = "the permission this request needs"
	}
	if r.Kind == KeyPair {
		return fmt.Sprintf("Cloudflare refused the X-Auth-Email + X-Auth-Key pair (a Global API Key has no verify endpoint, so nothing more was checked): "+
			"check that the email is the login of the key's user and the key that user's current Global API Key (rolling it changes it), "+
			"and that the user's role grants %s on %s", permission, zone)
	}
	check := r.Check
	switch check.Outcome {
	case VerifyAnswered:
		return explainStatus(check.Token, now, permission, zone)
	case VerifyRefused:
		return explainRefusedCheck(r.Kind, check, zone)
	case VerifySkipped:
		if r.Kind != AccountToken {
			return ""
		}
		return fmt.Sprintf("the token may be account-owned (its prefix is cfat_) and could not be checked: "+
			"Cloudflare verifies such a token only under its account, and no valid account ID is known for %s", zone)
	}
	return "" // not asked, or failed: nothing to add
}

// explainStatus words a verify answer. Cloudflare's status comes
// first; the dates are read against now as well, since the token may
// have expired between the refusal and the check.
func explainStatus(s TokenStatus, now time.Time, permission, zone string) string {
	switch {
	case s.Status == TokenExpired || s.Status == TokenActive && !s.ExpiresOn.IsZero() && !now.Before(s.ExpiresOn):
		when := "has expired"
		if !s.ExpiresOn.IsZero() {
			when = "expired on " + day(s.ExpiresOn)
		}
		return "the token " + when + ": roll it, or make a new one, and replace the secret"
	case s.Status == TokenDisabled:
		return "the token is disabled: Cloudflare disables a token that GitHub's secret scanning found in a public commit; " +
			"if it was ever pushed, roll it and replace the secret, otherwise enable it again in the dashboard"
	case s.Status == TokenActive && s.NotBefore.After(now):
		return "the token is not valid until " + minute(s.NotBefore) + ": wait until then, or edit its start date in the dashboard"
	case s.Status == TokenActive:
		return fmt.Sprintf("the token is active, so it lacks %s on %s: edit its permissions (and its client IP filtering, if it has any)", permission, zone)
	}
	return "" // a status VerifyToken does not pass
}

// explainRefusedCheck words a verify that was refused: for a token
// known to be a user's, or an account's verified under that account,
// Cloudflare does not accept it at all; for a token without a prefix,
// the user endpoint's refusal leaves open that it is an account's.
func explainRefusedCheck(kind CredentialsKind, check TokenCheck, zone string) string {
	status := ""
	if apiErr, ok := errors.AsType[*APIError](check.Err); ok {
		status = fmt.Sprintf(" (HTTP %d)", apiErr.Status)
	}
	switch kind {
	case UserToken:
		return "the token is not accepted at all: Cloudflare's token check refused it too" + status +
			", so it was deleted, rolled or has expired, or the secret is mistyped; replace the secret with a current token"
	case AccountToken:
		return fmt.Sprintf("the token is not accepted at all as a token of account %s, the account of %s: Cloudflare's token check refused it too%s, "+
			"so it was deleted, rolled or has expired, the secret is mistyped, or it belongs to another account (whose tokens cannot reach this zone); "+
			"replace the secret with a current token of that account", check.Account, zone, status)
	case UnprefixedToken:
		return "Cloudflare's check of user tokens refused the token too" + status + ": it is no valid user token (deleted, rolled, expired or mistyped) " +
			"unless it is an account-owned token, which that check does not know (older ones have no cfat_ prefix to tell them by); " +
			"if it is a user's, replace the secret with a current token"
	}
	return ""
}

// unreadableHeader words a refusal of the auth headers' format (6003,
// with the header's own code in its chain): no check can add to it,
// since the same header would be refused again.
func unreadableHeader(e *APIError, kind CredentialsKind) string {
	// The codes of the headers each kind sends.
	headers, what := map[int]string{6111: "Authorization"}, "the token"
	if kind == KeyPair {
		headers, what = map[int]string{6102: "X-Auth-Email", 6103: "X-Auth-Key"}, "the value"
	}
	for _, item := range e.Errors {
		for _, c := range append([]ErrorItem{item}, item.ErrorChain...) {
			header, ok := headers[c.Code]
			if !ok {
				continue
			}
			return fmt.Sprintf("Cloudflare could not read the %s header (%d): %s holds something it cannot, often a line break or space copied with it; set the secret again", header, c.Code, what)
		}
	}
	return ""
}

// zoneWords names a zone by what is known of it.
func zoneWords(name string, id ID) string {
	if name != "" && !hostnameLike(name) {
		name = safetext.Quote(name)
	}
	switch {
	case name != "" && !id.IsZero():
		return fmt.Sprintf("zone %s (ID %s)", name, id)
	case name != "":
		return "zone " + name
	case !id.IsZero():
		return "zone " + id.s
	}
	return "the zone"
}

// hostnameLike reports whether s can be printed as it is: letters,
// digits, dots and hyphens, as long as a hostname may be.
func hostnameLike(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// ExpiryWarningWindow is how long before its expiry a token is warned
// about: two weeks leaves time to roll it between deploys.
const ExpiryWarningWindow = 14 * 24 * time.Hour

// ExpiryWarning words a warning when an active token expires within
// ExpiryWarningWindow of now: "the API token expires on 2026-12-07 (in
// 3 days): roll it before it breaks a deploy". ok is false when it does
// not: no expiry date, a later one, or a token that is not active, or
// no longer (a refusal explains that one). Days are counted by UTC
// dates, as the date is written; under a day, the time is written too.
func ExpiryWarning(s TokenStatus, now time.Time) (warning string, ok bool) {
	left := s.ExpiresOn.Sub(now)
	if s.Status != TokenActive || s.ExpiresOn.IsZero() || left <= 0 || left > ExpiryWarningWindow {
		return "", false
	}
	when := day(s.ExpiresOn)
	switch days := daysBetween(now, s.ExpiresOn); {
	case left < 24*time.Hour:
		when = minute(s.ExpiresOn) + " (in less than a day)"
	case days == 1:
		when += " (in 1 day)"
	default:
		when += fmt.Sprintf(" (in %d days)", days)
	}
	return "the API token expires on " + when + ": roll it before it breaks a deploy", true
}

// daysBetween counts the UTC dates from a to b.
func daysBetween(a, b time.Time) int {
	date := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(date(b).Sub(date(a)) / (24 * time.Hour))
}

func day(t time.Time) string    { return t.UTC().Format(time.DateOnly) }
func minute(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
