package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
)

// This file asks Cloudflare about the token itself: whether it is
// active, and its dates. Cloudflare's verify endpoints never say what a
// token may do, so nothing here claims to know its permissions.

// CredentialsKind is the kind of secret the requests carry, as far as
// it can be told without sending one: by the token's prefix, never by
// its length.
type CredentialsKind int

// The kinds.
const (
	// UserToken is a user's API token (prefix cfut_), verified at GET
	// /user/tokens/verify.
	UserToken CredentialsKind = iota + 1
	// AccountToken is an account-owned API token (prefix cfat_), verified
	// only under its account: GET /accounts/{account_id}/tokens/verify.
	AccountToken
	// UnprefixedToken is any other token, most often one made before
	// Cloudflare gave tokens a prefix: a user's most likely, but it may
	// be an account's, which the user endpoint does not know.
	UnprefixedToken
	// KeyPair is the legacy pair of email and Global API Key
	// (X-Auth-Email + X-Auth-Key), which has no verify endpoint.
	KeyPair
)

// Kind is the kind of c.
func (c Credentials) Kind() CredentialsKind {
	switch {
	case c.Token == "":
		return KeyPair
	case strings.HasPrefix(c.Token, "cfut_"):
		return UserToken
	case strings.HasPrefix(c.Token, "cfat_"):
		return AccountToken
	}
	return UnprefixedToken
}

// The statuses a verified token has.
const (
	TokenActive   = "active"
	TokenDisabled = "disabled"
	TokenExpired  = "expired"
)

// TokenStatus is what Cloudflare's verify says of a token.
type TokenStatus struct {
	// ID is the token's ID (not the secret): what the dashboard's API
	// tokens list links to.
	ID string
	// Status is TokenActive, TokenDisabled or TokenExpired.
	Status string
	// ExpiresOn is when the token stops working; zero when it never does.
	ExpiresOn time.Time
	// NotBefore is when it starts to; zero when it has no start date.
	NotBefore time.Time
}

// ErrNotVerifiable is VerifyToken's error for the email and Global API
// Key pair: Cloudflare has no verify endpoint for it. Nothing is sent.
var ErrNotVerifiable = errors.New("the X-Auth-Email + X-Auth-Key pair has no verify endpoint: nothing sent")

// ErrNoAccount is VerifyToken's error for an account-owned token when
// no usable account ID is known: Cloudflare verifies such a token only
// under its account. Nothing is sent.
var ErrNoAccount = errors.New("an account-owned token is verified under its account, and no valid account ID is known: nothing sent")

// VerifyToken asks Cloudflare whether the client's token is active, in
// one request that is neither bounded nor retried here (CheckToken does
// both): GET /user/tokens/verify, or, for an AccountToken, GET
// /accounts/{accountID}/tokens/verify, accountID checked by ParseID
// first. The answer is checked: a status Cloudflare does not document,
// a date that is not RFC 3339 or an ID that is not an ID is a *APIError,
// as any refusal is.
func (c *Client) VerifyToken(ctx context.Context, accountID string) (TokenStatus, error) {
	path := "/user/tokens/verify"
	switch c.creds.Kind() {
	case KeyPair:
		return TokenStatus{}, ErrNotVerifiable
	case AccountToken:
		account, err := ParseID(accountID)
		if err != nil {
			// ParseID does not repeat the value, which came from an
			// answer and may be anything.
			return TokenStatus{}, fmt.Errorf("%w (the account ID %w)", ErrNoAccount, err)
		}
		path = "/accounts/" + url.PathEscape(account.s) + "/tokens/verify"
	}
	var answer struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		ExpiresOn string `json:"expires_on"`
		NotBefore string `json:"not_before"`
	}
	if _, err := c.get(ctx, path, &answer); err != nil {
		return TokenStatus{}, err
	}
	bad := func(what string) error {
		return &APIError{Status: http.StatusOK, Problem: "the answer of GET " + path + " is not a verify answer: " + what}
	}
	s := TokenStatus{ID: answer.ID, Status: answer.Status}
	switch answer.Status {
	case TokenActive, TokenDisabled, TokenExpired:
	default:
		return TokenStatus{}, bad("its status is none of active, disabled, expired")
	}
	if answer.ID != "" {
		if _, err := ParseID(answer.ID); err != nil {
			return TokenStatus{}, bad("its id " + err.Error())
		}
	}
	for _, d := range []struct {
		name string
		raw  string
		to   *time.Time
	}{{"expires_on", answer.ExpiresOn, &s.ExpiresOn}, {"not_before", answer.NotBefore, &s.NotBefore}} {
		if d.raw == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, d.raw)
		if err != nil {
			return TokenStatus{}, bad(d.name + " is not an RFC 3339 time")
		}
		*d.to = t
	}
	return s, nil
}

// VerifyOutcome is what came of checking the token.
type VerifyOutcome int

// The outcomes.
const (
	// VerifyNotAsked: nothing was asked, as for the key pair, which has
	// no verify endpoint.
	VerifyNotAsked VerifyOutcome = iota
	// VerifyAnswered: Cloudflare said the token's status and dates.
	VerifyAnswered
	// VerifyRefused: the verify itself was refused (HTTP 401 or 403).
	VerifyRefused
	// VerifyFailed: no usable answer (a timeout, a network error, a 5xx,
	// an answer that is not a verify answer): nothing can be added.
	VerifyFailed
	// VerifySkipped: an account-owned token with no valid account ID to
	// verify it under. Nothing was sent.
	VerifySkipped
)

// TokenCheck is what checking the token found.
type TokenCheck struct {
	Outcome VerifyOutcome
	// Token is the answer, when VerifyAnswered.
	Token TokenStatus
	// Account is the account the token was verified under: zero unless
	// it is an AccountToken and a request was sent.
	Account ID
	// Err is why there is no answer (Refused, Failed, Skipped,
	// NotAsked). It never holds the token (the client's guard sends it
	// nowhere else than its header) but may quote the server's answer:
	// redact it before it is printed.
	Err error
}

// CheckToken verifies the client's token to explain a refusal (see
// ExplainRefusal), each attempt within retry.VerifyAttempt. It sends at
// most two requests: the second only after a 5xx or a connection that
// failed at once, never after a timeout or a 429, since the check only
// adds words to a run that has already failed. accountID is the ID of
// the refused zone's account, for an AccountToken; it may be "" or
// anything an answer held: it is checked before it goes into a path.
func (c *Client) CheckToken(ctx context.Context, accountID string) TokenCheck {
	var check TokenCheck
	if c.creds.Kind() == AccountToken {
		check.Account, _ = ParseID(accountID)
	}
	for attempt := 1; ; attempt++ {
		attemptCtx, cancel := context.WithTimeout(ctx, retry.VerifyAttempt)
		s, err := c.VerifyToken(attemptCtx, accountID)
		timedOut := attemptCtx.Err() != nil
		cancel()
		apiErr, isAPI := errors.AsType[*APIError](err)
		switch {
		case err == nil:
			check.Outcome, check.Token = VerifyAnswered, s
			return check
		case errors.Is(err, ErrNotVerifiable):
			check.Outcome, check.Err = VerifyNotAsked, err
			return check
		case errors.Is(err, ErrNoAccount):
			check.Outcome, check.Err = VerifySkipped, err
			return check
		case isAPI && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden):
			check.Outcome, check.Err = VerifyRefused, err
			return check
		case timedOut && ctx.Err() == nil:
			check.Outcome, check.Err = VerifyFailed, fmt.Errorf("no answer within %s", retry.VerifyAttempt)
			return check
		}
		// A 5xx, or a connection that failed at once (a timeout returned
		// above); not a 429, which more requests only prolong.
		again := isAPI && apiErr.Retryable() && !apiErr.RateLimited() || !isAPI && ctx.Err() == nil
		if !again || attempt == 2 {
			check.Outcome, check.Err = VerifyFailed, err
			return check
		}
	}
}
