package cloudflare

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrorItem is one entry of the response envelope's errors[] (or of an
// entry's error_chain).
type ErrorItem struct {
	Code       int         `json:"code"`
	Message    string      `json:"message"`
	ErrorChain []ErrorItem `json:"error_chain,omitempty"`
}

func (e ErrorItem) String() string {
	// The message is kept whole: whoever prints it redacts secrets first
	// and only then shortens it (package safetext).
	s := strings.TrimSpace(fmt.Sprintf("%d %s", e.Code, e.Message))
	if len(e.ErrorChain) > 0 {
		chain := make([]string, len(e.ErrorChain))
		for i, c := range e.ErrorChain {
			chain[i] = c.String()
		}
		s += " (" + strings.Join(chain, "; ") + ")"
	}
	return s
}

// APIError is an answer from the server that is not a successful purge.
type APIError struct {
	Status int
	// Errors is the envelope's errors[], when the body was a JSON envelope.
	Errors []ErrorItem
	// Problem says what was wrong when Errors alone do not: a body that is
	// not JSON, "success": false with no errors, a missing result.id, a
	// redirect.
	Problem string
	// RetryAfter is the server's Retry-After, when HasRetryAfter.
	RetryAfter    time.Duration
	HasRetryAfter bool
	RateLimit     RateLimit
}

// Error gives the status and every Cloudflare error, e.g.
// "HTTP 400: 1012 Request must contain one of ...".
func (e *APIError) Error() string {
	parts := make([]string, 0, len(e.Errors)+1)
	for _, item := range e.Errors {
		parts = append(parts, item.String())
	}
	if e.Problem != "" {
		parts = append(parts, e.Problem)
	}
	if len(parts) == 0 {
		parts = append(parts, http.StatusText(e.Status))
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, strings.Join(parts, "; "))
}

// Retryable reports whether sending the same request again may succeed:
// rate limiting (RateLimited) and server-side failures (5xx, including
// Cloudflare's 520–527 edge errors), but not 501 Not Implemented, which
// says the server does not support the request at all.
func (e *APIError) Retryable() bool {
	return e.RateLimited() || e.Status >= 500 && e.Status != http.StatusNotImplemented
}

// CodeRateLimited is Cloudflare's code for "Unable to purge, rate limit
// reached. Please wait and consider throttling your request speed": the
// purge rate limit, whatever the HTTP status it comes with.
const CodeRateLimited = 1134

var rateLimitCodes = map[int]bool{CodeRateLimited: true}

// RateLimited reports whether the answer says the rate limit was reached:
// a 429, or code 1134 with any status (a 400, even a 200 with "success":
// false). Either is retried and slows the account's requests alike.
func (e *APIError) RateLimited() bool {
	return e.Status == http.StatusTooManyRequests || e.hasCode(rateLimitCodes)
}

// authCodes are Cloudflare error codes that mean the credentials are
// wrong, malformed or lack permission: retrying, or sending further
// batches with them, cannot succeed.
var authCodes = map[int]bool{
	6003: true, 6100: true, 6101: true, 6102: true, 6103: true, 6111: true,
	9103: true, 9106: true, 9109: true, 10000: true, 10001: true,
}

// AuthFailure reports whether the request failed on its credentials.
func (e *APIError) AuthFailure() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.hasCode(authCodes)
}

// unsplittableCodes are the codes of a 400 that no choice of the body's
// targets gets round, because what they refuse is not in the targets:
//
//   - 7000 (no route) and 7003 (bad object identifier) refuse the path:
//     every half goes to the same path;
//   - 1092 (purge_everything with other keys) refuses the body's keys,
//     which halves keep.
//
// Credentials (authCodes) are refused the same way, and stop the run.
// Nothing else is kept from splitting on the word of the documentation:
// a 1012 ("must contain one of …"), 1014 or 1136 that the action receives
// is about a body it sent with exactly one purge key, so it may be the
// invalid-URL answer under another code (after-the-purge.md: do not infer
// the cause of a 400 from its code alone). Splitting one costs at most
// two requests: purge.Run stops when both halves fail alike.
var unsplittableCodes = map[int]bool{7000: true, 7003: true, 1092: true}

// AboutTargets reports whether the answer may be about some targets of
// the request (an invalid URL, too many of them): a 400 in Cloudflare's
// envelope, with errors, none about the credentials, the rate limit, the
// path or the body's keys. A 400 that is not Cloudflare's (a proxy's
// page) is not: nothing says a target caused it.
func (e *APIError) AboutTargets() bool {
	return e.Status == http.StatusBadRequest && len(e.Errors) > 0 &&
		!e.AuthFailure() && !e.RateLimited() && !e.hasCode(unsplittableCodes)
}

// invalidURLPattern is Cloudflare's message for a files target it will
// not purge: "Unable to purge <url>, which is an invalid URL." It has no
// published code.
var invalidURLPattern = regexp.MustCompile(`^Unable to purge (.+), which is an invalid URL\.?$`)

// NamedTarget is the target an error's message names as the one refused
// ("Unable to purge <url>, which is an invalid URL."), or "" when no
// message names one. The caller checks it is one of the request's.
func (e *APIError) NamedTarget() string {
	for _, item := range e.Errors {
		if m := invalidURLPattern.FindStringSubmatch(strings.TrimSpace(item.Message)); m != nil {
			return m[1]
		}
	}
	return ""
}

// hasCode reports whether any error, or any error of a chain, has one of
// the codes.
func (e *APIError) hasCode(codes map[int]bool) bool {
	for _, item := range e.Errors {
		if codes[item.Code] {
			return true
		}
		for _, c := range item.ErrorChain {
			if codes[c.Code] {
				return true
			}
		}
	}
	return false
}

type envelope struct {
	Success    *bool           `json:"success"`
	Errors     []ErrorItem     `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo json.RawMessage `json:"result_info"`
}

// resultInfo is a list answer's page information. Cloudflare's schema
// types every field a number, so 1, 1.0 and 1e0 are all page one; a
// fraction is no page at all.
type resultInfo struct {
	Page       wholeNumber `json:"page"`
	PerPage    wholeNumber `json:"per_page"`
	Count      wholeNumber `json:"count"`
	TotalCount wholeNumber `json:"total_count"`
	TotalPages wholeNumber `json:"total_pages"`
}

// wholeNumber is a JSON number that must be integral, in any of JSON's
// forms (7, 7.0, 7e0, 0.7e1).
type wholeNumber int

func (n *wholeNumber) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var f json.Number
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(f.String(), 64)
	if err != nil || v != math.Trunc(v) || math.Abs(v) > 1<<31 {
		return fmt.Errorf("%s is not a whole number", f)
	}
	*n = wholeNumber(v)
	return nil
}

// parseResultInfo reads a listing's page information; listing names it
// in the error.
func parseResultInfo(status int, raw json.RawMessage, listing string) (*resultInfo, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var info resultInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, &APIError{Status: status, Problem: "the page information (result_info) of " + listing + " is not whole numbers: " + err.Error()}
	}
	return &info, nil
}

// Decode turns a purge's HTTP answer into a Result or an error. Every
// error names the HTTP status: a *APIError, or, when the body could not be
// read to the end, a plain error that the caller treats like a network
// failure.
func Decode(resp *http.Response, raw []byte, readErr error, now time.Time) (Result, error) {
	env, err := decodeEnvelope(resp, raw, readErr, now)
	if err != nil {
		return Result{}, err
	}
	var result struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(env.Result, &result) != nil || !validID(result.ID) {
		return Result{}, &APIError{Status: resp.StatusCode, RateLimit: ParseRateLimit(resp.Header), Problem: `"success": true but no usable result.id`}
	}
	return Result{ID: result.ID, RateLimit: ParseRateLimit(resp.Header), Warnings: env.Errors}, nil
}

// decodeEnvelope checks an answer is a successful envelope and returns it.
func decodeEnvelope(resp *http.Response, raw []byte, readErr error, now time.Time) (envelope, error) {
	rl := ParseRateLimit(resp.Header)
	apiErr := &APIError{Status: resp.StatusCode, RateLimit: rl}
	apiErr.RetryAfter, apiErr.HasRetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), now)

	switch {
	case readErr != nil:
		return envelope{}, fmt.Errorf("HTTP %d: reading response body: %w", resp.StatusCode, readErr)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		apiErr.Problem = "redirect not followed" + redirectTarget(resp)
		return envelope{}, apiErr
	case len(raw) > maxResponseBytes:
		apiErr.Problem = fmt.Sprintf("response body is larger than %d bytes; not read", maxResponseBytes)
		return envelope{}, apiErr
	}

	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Success == nil {
		apiErr.Problem = "response is not a Cloudflare API envelope: " + snippet(raw)
		return envelope{}, apiErr
	}
	apiErr.Errors = env.Errors
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch {
	case !ok2xx || !*env.Success:
		if len(env.Errors) == 0 && !*env.Success {
			apiErr.Problem = `"success": false with no errors`
		}
		return envelope{}, apiErr
	case len(env.Result) == 0 || string(env.Result) == "null":
		apiErr.Problem = `"success": true but no result`
		return envelope{}, apiErr
	}
	return env, nil
}

func redirectTarget(resp *http.Response) string {
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host == "" {
		return ""
	}
	return " (to host " + loc.Host + ")"
}

// validID accepts what a purge ID can safely be written as: a step output,
// a log word. Cloudflare's are 32 hex digits.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.:", r))) {
			return false
		}
	}
	return true
}

// snippet turns a body that is not JSON (often an HTML error page) into
// its text, so the log shows "502 Bad Gateway cloudflare" rather than
// markup. It does not shorten: that is for the printer, after redaction.
func snippet(raw []byte) string {
	if len(raw) == 0 {
		return "(empty body)"
	}
	var b strings.Builder
	inTag := false
	for _, r := range strings.ToValidUTF8(string(raw), "\uFFFD") {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>' && inTag:
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
