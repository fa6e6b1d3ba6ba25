package resolve

import (
	"slices"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// Secrets are a run's known secrets (the Cloudflare token or key, the
// GitHub token: config.Inputs.Secrets), for keeping them out of what is
// sent upstream of the clients: a target or a URL to check that holds
// one is left out of every request and listed, so the user sees which it
// was, and the rest go on. The clients' outbound.Guard asks the same
// question of each request (outbound.Secrets.Holds) and refuses what got
// past this.
type Secrets struct {
	values   outbound.Secrets
	redactor safetext.Redactor
}

// NewSecrets holds values (empty ones are ignored).
func NewSecrets(values ...string) *Secrets {
	s := &Secrets{values: outbound.NewSecrets(values...)}
	s.redactor.Add(values...)
	return s
}

// Held reports whether a target would put a secret into a request: in
// its value, or in one of its cache-key headers.
func (s *Secrets) Held(t cloudflare.Target) bool {
	if s == nil {
		return false
	}
	if s.values.Holds(t.Value) {
		return true
	}
	for name, value := range t.Headers {
		if s.values.Holds(name) || s.values.Holds(value) {
			return true
		}
	}
	return false
}

// Quote shows a value that may hold a secret: redacted first, on the raw
// text, then quoted and cut short. A secret percent-encoded escapes the
// redactor, which matches bytes as they stand: such a value is shown
// decoded, and so redacted.
func (s *Secrets) Quote(v string) string {
	if s == nil {
		return safetext.Quote(v)
	}
	shown := s.redactor.Redact(v)
	if s.values.Holds(shown) {
		shown = s.redactor.Redact(outbound.PercentDecode(v))
	}
	return safetext.Quote(shown)
}

// withhold returns the targets of ts that hold no secret, in order, and
// the quoted values of those left out. ts itself is not changed: it may
// be the validated Config's. When none holds one (the rule), ts itself is
// returned, not a copy: a list of a million URLs is not held twice.
func (s *Secrets) withhold(ts []cloudflare.Target) (kept []cloudflare.Target, out []string) {
	if !slices.ContainsFunc(ts, s.Held) {
		return ts, nil
	}
	kept = make([]cloudflare.Target, 0, len(ts))
	for _, t := range ts {
		if s.Held(t) {
			out = append(out, s.Quote(t.Value))
			continue
		}
		kept = append(kept, t)
	}
	return kept, out
}
