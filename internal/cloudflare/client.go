package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
)

// DefaultBaseURL is Cloudflare's API v4 base URL.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// maxResponseBytes bounds how much of a response body is read: a purge
// answer is a few hundred bytes, and a hostile or broken server must not be
// able to make the action buffer an unbounded body.
const maxResponseBytes = 1 << 20

// Credentials authenticate a request: an API token, or the legacy pair of
// account email and Global API Key. Exactly one of the two is set.
type Credentials struct {
	Token string
	Email string
	Key   string
}

// Operation is what a request does to cached content; the path alone
// decides it, the bodies are the same.
type Operation string

// The operations.
const (
	// Purge deletes the cached content.
	Purge Operation = "purge_cache"
	// Invalidate marks it stale: the next request revalidates it with the
	// origin (Cloudflare, 2026-09-28).
	Invalidate Operation = "invalidate_cache"
)

// Request is one call: an operation on a scope with one body.
type Request struct {
	Scope     Scope
	Operation Operation
	Body      Body
}

// Client sends requests to one API base URL.
type Client struct {
	baseURL   string
	creds     Credentials
	http      *http.Client
	userAgent string
	// onWarnings, if set, is told of answers that confirm but carry
	// errors (OnWarnings).
	onWarnings func(request string, errs []ErrorItem)
}

// OnWarnings makes the client tell f of every answer that confirms what
// was asked ("success": true) but also carries a non-empty errors[]: the
// purge or lookup stands, and the errors are Cloudflare's to say. request
// names what was sent ("the purge_cache request ID", "the lookup GET
// /zones"). Set it before
// the first request; f may be called from several goroutines.
func (c *Client) OnWarnings(f func(request string, errs []ErrorItem)) { c.onWarnings = f }

func (c *Client) warnOf(request string, errs []ErrorItem) {
	if len(errs) > 0 && c.onWarnings != nil {
		c.onWarnings(request, errs)
	}
}

// NewClient returns a client for baseURL (no trailing slash). httpClient
// may be nil; either way the client never follows redirects, so the
// credentials are only ever sent to baseURL's host.
//
// Every request goes through an outbound.Guard: none that holds a secret
// (creds' token or key, or one of otherSecrets, such as the GitHub token)
// anywhere but in the auth headers creds fill is sent; Send and the
// lookups return its *outbound.RefusedError.
func NewClient(baseURL string, creds Credentials, httpClient *http.Client, userAgent string, otherSecrets ...string) *Client {
	// A private transport, never http.DefaultTransport: anything else in the
	// process may call CloseIdleConnections on the shared one (httptest's
	// Server.Close does), which breaks a connection this client has just
	// dialed.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if httpClient != nil {
		copied := *httpClient
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	authHeaders := []string{"Authorization"}
	if creds.Token == "" {
		authHeaders = []string{"X-Auth-Key", "X-Auth-Email"}
	}
	secrets := outbound.NewSecrets(append([]string{creds.Token, creds.Key}, otherSecrets...)...)
	hc.Transport = outbound.NewGuard(hc.Transport, secrets, authHeaders...)
	return &Client{baseURL: baseURL, creds: creds, http: hc, userAgent: userAgent}
}

// Result is a successful request: the ID Cloudflare gave it, and what the
// response said about the rate limit.
type Result struct {
	ID        string
	RateLimit RateLimit
	// Warnings are the errors[] of an answer that confirmed all the same.
	Warnings []ErrorItem
}

// Send sends one request. It returns a *APIError when the server answered
// with anything but a successful envelope, and another error when no
// answer came (network failure, cancelled context).
func (c *Client) Send(ctx context.Context, r Request) (Result, error) {
	payload, err := json.Marshal(r.Body)
	if err != nil {
		return Result{}, fmt.Errorf("encoding request body: %w", err)
	}
	endpoint, err := Endpoint(c.baseURL, r.Scope, r.Operation)
	if err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return Result{}, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.authorize(req)

	resp, err := c.http.Do(req)
	if err != nil {
		return Result{}, networkError(err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	res, err := Decode(resp, raw, readErr, time.Now())
	if err == nil {
		c.warnOf("the "+string(r.Operation)+" request "+res.ID, res.Warnings)
	}
	return res, err
}

// authorize sets the headers every request carries: credentials, what it
// accepts, who sends it.
func (c *Client) authorize(req *http.Request) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.creds.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.creds.Token)
	} else {
		req.Header.Set("X-Auth-Email", c.creds.Email)
		req.Header.Set("X-Auth-Key", c.creds.Key)
	}
}

// networkError keeps the cause of a failed round trip but drops url.Error's
// `Post "https://…":` prefix, which repeats the endpoint the log already
// names (and would quote a URL the guard refused). The cause stays
// wrapped, so errors.Is still sees context errors. A refusal is returned
// as it is: nothing was sent, so no request failed.
func networkError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if refused, ok := errors.AsType[*outbound.RefusedError](err); ok {
		return refused
	}
	return fmt.Errorf("request failed: %w", err)
}
