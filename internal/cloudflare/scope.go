package cloudflare

import (
	"errors"
	"fmt"
	"net/url"
)

// ID is a zone or environment identifier that is safe in a URL path:
// 1 to MaxIDLength ASCII letters and digits. Cloudflare's are 32 hex
// digits; nothing else (/, .., %, ?, #, spaces, other scripts) may reach
// a path, whether it came from an input or from an answer of the API,
// since a proxy that normalises "zones/../purge_cache" would purge the
// whole zone. The zero ID is no ID: only ParseID makes others.
type ID struct{ s string }

// IDRule says what a valid ID looks like, for messages.
const IDRule = "1-32 letters and digits, like 023e105f4ecef8ad9ca31a8372d0c353"

// ErrNoID is ParseID's error for an empty value.
var ErrNoID = errors.New("is empty")

// ParseID checks s against the one rule for IDs. The error says what is
// wrong without repeating s, which the caller quotes as it sees fit.
func ParseID(s string) (ID, error) {
	if s == "" {
		return ID{}, ErrNoID
	}
	if len(s) > MaxIDLength {
		return ID{}, fmt.Errorf("is %d characters long; want %s", len(s), IDRule)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return ID{}, fmt.Errorf("has %q, which an ID cannot hold; want %s", r, IDRule)
		}
	}
	return ID{s}, nil
}

// MustParseID is ParseID for IDs written in the program (tests,
// constants): it panics on an invalid one.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(fmt.Sprintf("cloudflare.MustParseID(%q): %v", s, err))
	}
	return id
}

func (id ID) String() string { return id.s }

// IsZero reports whether id is the zero ID, which no path takes.
func (id ID) IsZero() bool { return id.s == "" }

// ErrIncompleteScope is Endpoint's error for a scope that lacks an ID
// it needs. Sending again cannot help.
var ErrIncompleteScope = errors.New("incomplete scope: nothing sent")

// Scope is what a request applies to: a zone, or one environment of it.
// Which of the two is fixed when the scope is made (ZoneScope or
// EnvironmentScope) and never derived from whether an ID is empty: an
// environment scope whose environment ID went missing is refused by
// Endpoint, it can never become the zone path, which would purge
// production and every environment.
type Scope struct {
	zone, env   ID
	environment bool
}

// ZoneScope is the zone itself (its production environment, and with it
// every environment when everything is purged).
func ZoneScope(zone ID) Scope { return Scope{zone: zone} }

// EnvironmentScope is one environment of a zone.
func EnvironmentScope(zone, env ID) Scope { return Scope{zone: zone, env: env, environment: true} }

// Zone is the scope's zone.
func (s Scope) Zone() ID { return s.zone }

// Environment is the scope's environment, and whether it is one.
func (s Scope) Environment() (ID, bool) { return s.env, s.environment }

func (s Scope) String() string {
	if !s.environment {
		return "zone " + s.zone.s
	}
	return fmt.Sprintf("environment %s of zone %s", s.env.s, s.zone.s)
}

// Endpoint is the URL a request is sent to. It fails, rather than
// build a path, when the scope lacks an ID it needs: a zero Scope, or
// an environment scope made with the zero environment ID.
func Endpoint(baseURL string, s Scope, op Operation) (string, error) {
	switch {
	case s.zone.IsZero():
		return "", fmt.Errorf("%w: no zone ID", ErrIncompleteScope)
	case !s.environment:
		return fmt.Sprintf("%s/zones/%s/%s", baseURL, url.PathEscape(s.zone.s), op), nil
	case s.env.IsZero():
		// The zone path would purge production and every environment.
		return "", fmt.Errorf("%w: an environment was asked for but its ID is missing", ErrIncompleteScope)
	}
	// PathEscape changes nothing in a valid ID; it stays as a second
	// line of defence.
	return fmt.Sprintf("%s/zones/%s/environments/%s/%s",
		baseURL, url.PathEscape(s.zone.s), url.PathEscape(s.env.s), op), nil
}
