package command

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
)

// token is the run's one question to Cloudflare about its token
// (cloudflare.Client.CheckToken): asked once, beside the lookups or the
// first purge, never delaying them and never failing the run. Its answer
// warns of a token that expires within 14 days, and explains a purge or
// lookup that Cloudflare refused on the credentials. An account-owned
// token (cfat_) is verified under its account, so it is asked only once a
// lookup has named the account (account).
type token struct {
	client *cloudflare.Client
	kind   cloudflare.CredentialsKind
	rep    *action.Reporter

	once   sync.Once
	asked  bool
	cancel context.CancelFunc
	done   chan struct{}
	check  cloudflare.TokenCheck
}

func newToken(client *cloudflare.Client, creds cloudflare.Credentials, rep *action.Reporter) *token {
	return &token{client: client, kind: creds.Kind(), rep: rep, done: make(chan struct{}), cancel: func() {}}
}

// stop ends a question still on its way and waits for its goroutine: the
// run returns only once nothing of it can still print.
func (t *token) stop() {
	if t == nil || !t.asked {
		return
	}
	t.cancel()
	<-t.done
}

// ask sends the question, once, in the background, under account (the
// ID of an account the run's zones belong to, "" when unknown).
func (t *token) ask(ctx context.Context, account string) {
	t.once.Do(func() {
		t.asked = true
		if t.kind == cloudflare.KeyPair {
			close(t.done) // no verify endpoint: nothing to ask
			return
		}
		ctx, t.cancel = context.WithCancel(ctx)
		go func() {
			defer close(t.done)
			t.check = t.client.CheckToken(ctx, account)
		}()
	})
}

// answer waits for the question's answer (bounded by CheckToken's own
// attempt bound and ctx), asking it first if nothing has.
func (t *token) answer(ctx context.Context, account string) cloudflare.TokenCheck {
	t.ask(ctx, account)
	select {
	case <-t.done:
		return t.check
	case <-ctx.Done():
		return cloudflare.TokenCheck{Outcome: cloudflare.VerifyFailed, Err: ctx.Err()}
	}
}

// explain says why Cloudflare refused err on the credentials, as far as
// the token's answer shows, or "" (not a refusal, or nothing known).
func (t *token) explain(ctx context.Context, err error, permission, account, zoneName string, zone cloudflare.ID) string {
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	if !ok || !apiErr.AuthFailure() {
		return ""
	}
	return cloudflare.ExplainRefusal(cloudflare.Refusal{Err: apiErr, Kind: t.kind, Check: t.answer(ctx, account),
		ZoneName: zoneName, Zone: zone, Permission: permission}, time.Now())
}

// warnOfExpiry warns when the answer says the token expires within 14
// days; a check that failed or was refused is a debug line only. It waits
// for an answer still on its way, within CheckToken's own bound: only
// the step's end, never a lookup or a purge, waits for it.
func (t *token) warnOfExpiry(ctx context.Context) {
	if t == nil {
		return
	}
	switch c := t.answer(ctx, ""); c.Outcome {
	case cloudflare.VerifyAnswered:
		if msg, ok := cloudflare.ExpiryWarning(c.Token, time.Now()); ok {
			t.rep.Warning("API token expires soon", msg)
		}
	case cloudflare.VerifyNotAsked:
	default:
		t.rep.Debugf("token check: %v", c.Err)
	}
}

// token is the run's token check, nil in a dry run (which asks Cloudflare
// nothing about the token) or without a token; a user token's question
// goes at once, beside the lookups.
func (r *run) token(ctx context.Context, client *cloudflare.Client) *token {
	if r.cfg.DryRun {
		return nil
	}
	t := newToken(client, r.cfg.Credentials, r.rep)
	if t.kind != cloudflare.AccountToken {
		t.ask(ctx, "")
	}
	return t
}

// askFor asks about an account-owned token under the account of the
// run's zones, once the lookups have named it (a no-op for other tokens,
// already asked).
func (t *token) askFor(ctx context.Context, zones []resolve.Zone) {
	if t == nil {
		return
	}
	for _, z := range zones {
		if z.Account != "" {
			t.ask(ctx, z.Account)
			return
		}
	}
}

// lookupRefused is resolve.Options.Explain: nil without a check.
func (t *token) lookupRefused(ctx context.Context, err error, permission, zoneName string) string {
	if t == nil {
		return ""
	}
	return t.explain(ctx, err, permission, "", zoneName, cloudflare.ID{})
}

// purgeRefused is report.Plan.Explain: nil without a check.
func (t *token) purgeRefused(ctx context.Context) func(error, resolve.Zone) string {
	if t == nil {
		return nil
	}
	return func(err error, z resolve.Zone) string {
		return t.explain(ctx, err, cloudflare.CachePurgePermission, z.Account, z.Name, z.ID)
	}
}
