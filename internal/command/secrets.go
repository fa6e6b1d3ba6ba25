package command

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// This file keeps the known secrets out of what is sent, upstream of the
// clients: a target or a URL to check that holds one is left out of every
// request and listed, so the user sees which it was, and the rest go on.
// The clients' outbound.Guard asks the same question of each request
// (outbound.Secrets.Holds), and refuses what got past this.

// secrets are a run's known secrets: the Cloudflare token or key and the
// GitHub token (config.Inputs.Secrets).
type secrets struct {
	values   []string
	outbound outbound.Secrets
	redactor safetext.Redactor
}

func newSecrets(values []string) *secrets {
	s := &secrets{values: values, outbound: outbound.NewSecrets(values...)}
	s.redactor.Add(values...)
	return s
}

// held reports whether a target would put a secret into a request: in
// its value, or in one of its cache-key headers.
func (s *secrets) held(t cloudflare.Target) bool {
	if s.outbound.Holds(t.Value) {
		return true
	}
	for name, value := range t.Headers {
		if s.outbound.Holds(name) || s.outbound.Holds(value) {
			return true
		}
	}
	return false
}

// quote shows a value that may hold a secret: redacted first, on the raw
// text, then quoted and cut short. A secret percent-encoded escapes the
// redactor, which matches bytes as they stand: such a value is shown
// decoded, and so redacted.
func (s *secrets) quote(v string) string {
	shown := s.redactor.Redact(v)
	if s.outbound.Holds(shown) {
		shown = s.redactor.Redact(outbound.PercentDecode(v))
	}
	return safetext.Quote(shown)
}

// withhold takes out of ts every target that holds a secret and returns
// the rest, and the quoted values of those taken out. ts is filtered in
// place; an empty result stays non-nil when ts was.
func (s *secrets) withhold(ts []cloudflare.Target) (kept []cloudflare.Target, out []string) {
	kept = ts[:0]
	for _, t := range ts {
		if s.held(t) {
			out = append(out, s.quote(t.Value))
			continue
		}
		kept = append(kept, t)
	}
	return kept, out
}

// withholdFromConfig takes every target and every URL to check (verify-
// urls) that holds a secret out of cfg, warning with the list. It
// reports whether any target is left to purge (purge_everything has
// none to hold a secret).
func (s *secrets) withholdFromConfig(cfg *config.Config, rep *action.Reporter) bool {
	var notPurged, notChecked []string
	cfg.Targets, notPurged = s.withhold(cfg.Targets)
	if cfg.VerifyURLs != nil {
		cfg.VerifyURLs, notChecked = s.withhold(cfg.VerifyURLs)
	}
	warnWithheld(rep, notPurged, notChecked)
	return cfg.PurgeType == cloudflare.Everything || len(cfg.Targets) > 0
}

// warnWithheld lists, in one warning, the targets not purged and the
// URLs not checked because they held a secret.
func warnWithheld(rep *action.Reporter, notPurged, notChecked []string) {
	if len(notPurged)+len(notChecked) == 0 {
		return
	}
	var lines []string
	for _, v := range notPurged {
		lines = append(lines, "not purged: "+v)
	}
	for _, v := range notChecked {
		lines = append(lines, "not checked: "+v)
	}
	rep.Warning("Not sent: held a secret", fmt.Sprintf(
		"%d target(s) and %d URL(s) to check hold a secret (api-token, api-key, CLOUDFLARE_API_TOKEN or github-token), so no request carries them; the rest go on.\n%s\n"+
			"A secret in a file name, a target or an input is no longer secret: rename the file, and roll the secret.",
		len(notPurged), len(notChecked), strings.Join(capLines(lines, maxFailureLines), "\n")))
}

// isRefused reports whether err is a client's outbound guard refusing a
// request that held a secret: nothing was sent.
func isRefused(err error) bool {
	_, ok := errors.AsType[*outbound.RefusedError](err)
	return ok
}
