package cloudflaretest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// This file is the fake's token verify: GET /user/tokens/verify for a
// user's token, GET /accounts/{account_id}/tokens/verify for an
// account-owned one. Neither says what the token may do, as Cloudflare's
// do not: only whether it is active, and its dates.

// Token is what the fake's verify endpoints say of the token a request
// carries. The zero Token is an active user token with no dates.
type Token struct {
	// Status is active (when empty), disabled or expired.
	Status string
	// ExpiresOn and NotBefore are sent, in RFC 3339, when not zero.
	ExpiresOn, NotBefore time.Time
	// Account, when set, makes the token owned by the account of that
	// name: only GET /accounts/{AccountID(Account)}/tokens/verify knows
	// it, and the user endpoint and any other account refuse it as they
	// refuse a token they do not know (the fake's assumption: Cloudflare
	// documents neither answer). When empty, the account endpoint refuses
	// the token so.
	Account string
	// Refused answers every verify with 401, code 1000, as Cloudflare
	// answers for a token it does not know (deleted, rolled, mistyped).
	Refused bool
	// Hang never answers (until the client gives up, or Close).
	Hang bool
	// Before answers the first verifies, in order, before the token's
	// own answer: a 503, a 429, a Reset, an answer that is not a verify
	// answer.
	Before []Response
}

// TokenID is the ID the fake's verify gives the token.
const TokenID = "ed17574386854bf78a67040be0a770b0"

// InvalidTokenMessage is Cloudflare's message for code 1000.
const InvalidTokenMessage = "Invalid API Token"

// WithToken makes the verify endpoints answer as t says.
func WithToken(t Token) Option { return func(f *Server) { f.token = t } }

// WithoutCachePurge refuses every purge and invalidation with 403, code
// 10000, as Cloudflare answers an active token that lacks Zone › Cache
// Purge on the zone. The token still verifies (active, unless WithToken
// says otherwise): the common case of a refused purge.
func WithoutCachePurge() Option { return deny("purge") }

// Verifies returns every verify request received so far (they are not
// among Lookups).
func (f *Server) Verifies() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.verifies...)
}

// verifyAccount tells a verify path apart: the account of
// /accounts/{id}/tokens/verify, "" for /user/tokens/verify; ok is false
// for any other path.
func verifyAccount(path string) (account string, ok bool) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/client/v4"), "/"), "/")
	switch {
	case len(parts) == 3 && parts[0] == "user" && parts[1] == "tokens" && parts[2] == "verify":
		return "", true
	case len(parts) == 4 && parts[0] == "accounts" && parts[2] == "tokens" && parts[3] == "verify":
		return parts[1], true
	}
	return "", false
}

// verify answers the n-th verify request (0-based) for the given
// account ("" for the user endpoint); hang is set when it must not
// answer.
func (f *Server) verify(n int, r *http.Request, account string) (resp Response, hang bool) {
	t := f.token
	if n < len(t.Before) {
		return t.Before[n], t.Before[n].Hang
	}
	owner := ""
	if t.Account != "" {
		owner = AccountID(t.Account)
	}
	switch {
	case t.Hang:
		return Response{}, true
	case t.Refused, !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "), account != owner:
		return Fail(http.StatusUnauthorized, 1000, InvalidTokenMessage), false
	}
	result := map[string]any{"id": TokenID, "status": cmp.Or(t.Status, "active")}
	if !t.ExpiresOn.IsZero() {
		result["expires_on"] = t.ExpiresOn.UTC().Format(time.RFC3339)
	}
	if !t.NotBefore.IsZero() {
		result["not_before"] = t.NotBefore.UTC().Format(time.RFC3339)
	}
	// Cloudflare's answer says so in messages[] too, which a client
	// must not mistake for errors.
	body, _ := json.Marshal(map[string]any{"success": true, "errors": []any{}, "result": result,
		"messages": []any{map[string]any{"code": 10000, "message": "This API Token is valid and active", "type": nil}}})
	return Response{Status: http.StatusOK, Body: string(body)}, false
}
