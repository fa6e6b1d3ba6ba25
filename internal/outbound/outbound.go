// Package outbound is the rule every request the action sends obeys: no
// request carries a known secret (the Cloudflare token, the Global API
// Key, the GitHub token) anywhere but in its own API's auth header.
//
// The rule is checked where requests leave, not where they are made: a
// Guard is the http.RoundTripper of every client that sends (Cloudflare's
// API, GitHub's, the user's site), installed when the client is built, so
// a file name, a target or an answer that holds a secret cannot slip one
// into a request by a path nobody thought to filter. A request the Guard
// refuses is never sent; its error (*RefusedError) names where the secret
// stood, never the secret.
//
// A request holds a secret when one appears, byte for byte, in its URL
// (scheme to fragment, and Host), in any header name or value but the
// client's own auth header(s), or in its body; each of these as sent and
// percent-decoded, and every string of a JSON body once its escapes are
// undone as well. Callers that keep a value out of every request before
// it reaches a client ask the same question with Secrets.Holds.
//
// It imports only the standard library.
package outbound

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxCheckedBody is the largest request body a Guard reads to check it;
// a larger one is refused unread. The action's largest body, a purge of
// 500 URLs, is far below it.
const MaxCheckedBody = 64 << 20

// Secrets are the values no request may carry. The zero value holds
// none.
type Secrets struct {
	values []string
}

// NewSecrets returns the secrets among values; empty ones are dropped.
func NewSecrets(values ...string) Secrets {
	var s Secrets
	for _, v := range values {
		if v != "" && !s.has(v) {
			s.values = append(s.values, v)
		}
	}
	return s
}

func (s Secrets) has(v string) bool {
	for _, x := range s.values {
		if x == v {
			return true
		}
	}
	return false
}

// Holds reports whether text holds a secret, as it stands or once its
// percent-escapes are decoded.
func (s Secrets) Holds(text string) bool {
	if len(s.values) == 0 {
		return false
	}
	decoded := text
	if strings.Contains(text, "%") {
		decoded = PercentDecode(text)
	}
	for _, v := range s.values {
		if strings.Contains(text, v) || strings.Contains(decoded, v) {
			return true
		}
	}
	return false
}

// PercentDecode decodes every valid %XX escape and keeps anything else as
// it is: unlike url.PathUnescape it does not give up on a stray %, which
// would let "%zz" beside an escaped secret hide it.
func PercentDecode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// RefusedError is the error of a request a Guard did not send. Where
// names the part that held a secret: "URL", "body", "header NAME", or "a
// header's name" (when the name itself held it, so it is not repeated).
// Unchecked says instead that the body was too large to check.
type RefusedError struct {
	Where     string
	Unchecked bool
}

func (e *RefusedError) Error() string {
	if e.Unchecked {
		return fmt.Sprintf("not sent: the request body is larger than the %d bytes checked for secrets", MaxCheckedBody)
	}
	return "not sent: the request held a secret in its " + e.Where
}

// Guard is an http.RoundTripper that sends a request through Next only
// when it holds no secret; see the package doc for where it looks.
type Guard struct {
	next    http.RoundTripper
	secrets Secrets
	auth    map[string]bool // canonical header names exempt from the check
}

// NewGuard returns a Guard in front of next (nil: http.DefaultTransport).
// authHeaders are the headers that carry the client's own credentials,
// the only place a secret may stand.
func NewGuard(next http.RoundTripper, secrets Secrets, authHeaders ...string) *Guard {
	if next == nil {
		next = http.DefaultTransport
	}
	auth := map[string]bool{}
	for _, h := range authHeaders {
		auth[http.CanonicalHeaderKey(h)] = true
	}
	return &Guard{next: next, secrets: secrets, auth: auth}
}

// RoundTrip implements http.RoundTripper. A refused request's body is
// closed, as the interface asks, and nothing reaches Next.
func (g *Guard) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := g.check(req)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if body != nil {
		// The body was read to check it, so what is sent is a copy of the
		// request with the bytes read (a RoundTripper must not change the
		// request it was given).
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return g.next.RoundTrip(req)
}

// check looks for a secret in req. When it had to consume req.Body to
// read it, it returns the bytes, which must then be sent in its place.
func (g *Guard) check(req *http.Request) (consumed []byte, err error) {
	if g.secrets.Holds(req.URL.String()) || g.secrets.Holds(req.Host) {
		return nil, &RefusedError{Where: "URL"}
	}
	for name, values := range req.Header {
		if g.auth[http.CanonicalHeaderKey(name)] {
			continue
		}
		if g.secrets.Holds(name) {
			return nil, &RefusedError{Where: "a header's name"}
		}
		for _, v := range values {
			if g.secrets.Holds(v) {
				return nil, &RefusedError{Where: "header " + name}
			}
		}
	}
	body, consumed, err := readBody(req)
	if err != nil {
		return nil, err
	}
	if g.holdsInBody(body) {
		return nil, &RefusedError{Where: "body"}
	}
	return consumed, nil
}

// readBody reads req's body without spending it when it can (GetBody
// gives a fresh copy); otherwise it reads req.Body itself and returns the
// bytes as consumed too.
func readBody(req *http.Request) (body, consumed []byte, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil, nil
	}
	r := req.Body
	if req.GetBody != nil {
		if r, err = req.GetBody(); err != nil {
			return nil, nil, fmt.Errorf("not sent: reading the request body to check it: %w", err)
		}
		defer r.Close()
	}
	body, err = io.ReadAll(io.LimitReader(r, MaxCheckedBody+1))
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("not sent: reading the request body to check it: %w", err)
	case len(body) > MaxCheckedBody:
		return nil, nil, &RefusedError{Where: "body", Unchecked: true}
	case req.GetBody == nil:
		req.Body.Close() // spent: the bytes read go out in its place
		return body, body, nil
	}
	return body, nil, nil
}

// holdsInBody checks the body as sent, and every string of it that JSON
// decoding yields (keys included): a secret written \u0041-style, or with
// an escaped /, is itself once decoded. A body that is not JSON, or
// stops being JSON part-way, is checked up to there.
func (g *Guard) holdsInBody(body []byte) bool {
	if len(body) == 0 {
		return false
	}
	if g.secrets.Holds(string(body)) {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // io.EOF, or not JSON from here on: checked raw above
		}
		if s, ok := tok.(string); ok && g.secrets.Holds(s) {
			return true
		}
	}
}
