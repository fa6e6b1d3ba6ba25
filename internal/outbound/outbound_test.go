package outbound_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
)

const (
	token   = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
	key     = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d"
	ghToken = "ghs_Q7yV3kLm9PzR2xW8sT5nB1cD4fG6hJ0aE3iK"
)

// recorder is the transport behind the guard: it counts what reached it
// and keeps the bodies it got.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

func (r *recorder) sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// percentEncoded writes every byte of s as %XX, as no client would but
// any server decodes.
func percentEncoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[s[i]>>4])+string("0123456789abcdef"[s[i]&15])))
	}
	return b.String()
}

// jsonEscaped writes every byte of s as \u00XX, valid JSON that hides it
// from a plain search.
func jsonEscaped(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString(`\u00` + string("0123456789abcdef"[s[i]>>4]) + string("0123456789abcdef"[s[i]&15]))
	}
	return b.String()
}

func newRequest(t *testing.T, method, u, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Every place a secret can stand in a request is refused, for each
// secret, naming the place and never the secret; nothing reaches the
// transport behind.
func TestGuardRefusesASecretAnywhere(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{token, key, ghToken} {
		tests := []struct {
			name  string
			req   func(t *testing.T) *http.Request
			where string
		}{
			{"in the path", func(t *testing.T) *http.Request {
				return newRequest(t, "GET", "https://www.example.com/public/"+secret+".html", "")
			}, "URL"},
			{"in the query", func(t *testing.T) *http.Request {
				return newRequest(t, "GET", "https://www.example.com/?v="+secret, "")
			}, "URL"},
			{"percent-encoded in the path", func(t *testing.T) *http.Request {
				return newRequest(t, "GET", "https://www.example.com/a/"+percentEncoded(secret)+"/b", "")
			}, "URL"},
			{"percent-encoded in the query beside a stray %", func(t *testing.T) *http.Request {
				req := newRequest(t, "GET", "https://www.example.com/", "")
				req.URL.RawQuery = "a=%zz&b=" + percentEncoded(secret)
				return req
			}, "URL"},
			{"in the Host header", func(t *testing.T) *http.Request {
				req := newRequest(t, "GET", "https://www.example.com/", "")
				req.Host = secret + ".example.com"
				return req
			}, "URL"},
			{"in a header value", func(t *testing.T) *http.Request {
				req := newRequest(t, "GET", "https://www.example.com/", "")
				req.Header.Set("CF-Device-Type", "mobile-"+secret)
				return req
			}, "header Cf-Device-Type"},
			{"percent-encoded in a header value", func(t *testing.T) *http.Request {
				req := newRequest(t, "GET", "https://www.example.com/", "")
				req.Header.Set("Referer", "https://x/"+percentEncoded(secret))
				return req
			}, "header Referer"},
			{"in a header name", func(t *testing.T) *http.Request {
				req := newRequest(t, "GET", "https://www.example.com/", "")
				req.Header["X-"+secret] = []string{"1"}
				return req
			}, "a header's name"},
			{"in the body", func(t *testing.T) *http.Request {
				return newRequest(t, "POST", "https://api.example/purge_cache", `{"files":["https://www.example.com/`+secret+`"]}`)
			}, "body"},
			{"JSON-escaped in the body", func(t *testing.T) *http.Request {
				return newRequest(t, "POST", "https://api.example/purge_cache", `{"files":["https://www.example.com/`+jsonEscaped(secret)+`"]}`)
			}, "body"},
			{"JSON-escaped in a key of the body", func(t *testing.T) *http.Request {
				return newRequest(t, "POST", "https://api.example/purge_cache", `{"files":[{"url":"https://www.example.com/","headers":{"`+jsonEscaped(secret)+`":"1"}}]}`)
			}, "body"},
			{"JSON-escaped and percent-encoded in the body", func(t *testing.T) *http.Request {
				return newRequest(t, "POST", "https://api.example/purge_cache", `{"files":["https://www.example.com/`+jsonEscaped(percentEncoded(secret))+`"]}`)
			}, "body"},
			{"in a body that is not JSON", func(t *testing.T) *http.Request {
				return newRequest(t, "POST", "https://api.example/purge_cache", `{"files":[`+secret)
			}, "body"},
			{"in a body with no GetBody", func(t *testing.T) *http.Request {
				req := newRequest(t, "POST", "https://api.example/purge_cache", "")
				req.Body = io.NopCloser(strings.NewReader(`{"tags":["` + secret + `"]}`))
				return req
			}, "body"},
		}
		for _, tt := range tests {
			t.Run(secret[:4]+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				next := &recorder{}
				guard := outbound.NewGuard(next, outbound.NewSecrets(token, key, ghToken), "Authorization")
				resp, err := (&http.Client{Transport: guard}).Do(tt.req(t))
				if resp != nil {
					resp.Body.Close()
				}
				refused, ok := errors.AsType[*outbound.RefusedError](err)
				if !ok {
					t.Fatalf("error %v; want a *RefusedError", err)
				}
				if refused.Where != tt.where {
					t.Errorf("refused in %q; want %q", refused.Where, tt.where)
				}
				if msg := refused.Error(); strings.Contains(msg, secret) || !strings.HasPrefix(msg, "not sent: the request held a secret in its "+tt.where) {
					t.Errorf("the refusal says %q", msg)
				}
				if n := next.sent(); n != 0 {
					t.Errorf("%d request(s) reached the transport", n)
				}
			})
		}
	}
}

// The client's own auth header may hold its secret; every other header,
// the URL and the body still may not. A request without a secret goes
// out whole, body included.
func TestGuardLetsTheAuthHeaderAndCleanRequestsThrough(t *testing.T) {
	t.Parallel()
	secrets := outbound.NewSecrets(token, key, ghToken)
	tests := []struct {
		name string
		auth []string
		set  map[string]string
		body string
	}{
		{"Cloudflare's token", []string{"Authorization"}, map[string]string{"Authorization": "Bearer " + token}, `{"files":["https://www.example.com/a"]}`},
		{"the legacy pair", []string{"X-Auth-Key", "X-Auth-Email"}, map[string]string{"X-Auth-Key": key, "X-Auth-Email": "ops@example.com"}, `{"tags":["a"]}`},
		{"GitHub's token, the name in another case", []string{"authorization"}, map[string]string{"Authorization": "Bearer " + ghToken}, ""},
		{"no auth header at all (the site)", nil, map[string]string{"User-Agent": "cloudflare-purge-action/test", "CF-Device-Type": "mobile"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next := &recorder{}
			guard := outbound.NewGuard(next, secrets, tt.auth...)
			method := "GET"
			if tt.body != "" {
				method = "POST"
			}
			req := newRequest(t, method, "https://api.example/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/purge_cache?x=%20y", tt.body)
			for k, v := range tt.set {
				req.Header.Set(k, v)
			}
			resp, err := (&http.Client{Transport: guard}).Do(req)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			resp.Body.Close()
			if next.sent() != 1 || next.bodies[0] != tt.body {
				t.Errorf("the transport got %q; want the body %q once", next.bodies, tt.body)
			}
		})
	}
}

// The exemption is for the auth header alone: the same secret in another
// header, or an auth header the client does not use, is refused.
func TestGuardExemptsOnlyTheNamedAuthHeaders(t *testing.T) {
	t.Parallel()
	next := &recorder{}
	guard := outbound.NewGuard(next, outbound.NewSecrets(token, key), "Authorization")
	req := newRequest(t, "GET", "https://api.example/", "")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Auth-Key", key)
	resp, err := (&http.Client{Transport: guard}).Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	if refused, ok := errors.AsType[*outbound.RefusedError](err); !ok || refused.Where != "header X-Auth-Key" {
		t.Errorf("error %v; want a refusal naming header X-Auth-Key", err)
	}
	if next.sent() != 0 {
		t.Errorf("the request was sent")
	}
}

// A body read to be checked (no GetBody to read it again) is sent whole
// in a copy of the request; the request given is left as it was.
func TestGuardSendsABodyItHadToReadWhole(t *testing.T) {
	t.Parallel()
	next := &recorder{}
	guard := outbound.NewGuard(next, outbound.NewSecrets(token))
	const body = `{"prefixes":["www.example.com/a"]}`
	req := newRequest(t, "POST", "https://api.example/", "")
	req.Body = io.NopCloser(strings.NewReader(body))
	req.GetBody, req.ContentLength = nil, int64(len(body))
	resp, err := guard.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if next.sent() != 1 || next.bodies[0] != body {
		t.Errorf("the transport got %q; want %q", next.bodies, body)
	}
	if resp.Request == req {
		t.Errorf("the request given was sent itself, its body already read")
	}
}

// Without secrets nothing is refused, and a part of a secret is not the
// secret: a request with a secret's first half goes out.
func TestGuardRefusesOnlyWholeSecrets(t *testing.T) {
	t.Parallel()
	for name, secrets := range map[string]outbound.Secrets{
		"no secrets":    outbound.NewSecrets(),
		"empty secrets": outbound.NewSecrets("", ""),
		"a token":       outbound.NewSecrets(token),
	} {
		next := &recorder{}
		guard := outbound.NewGuard(next, secrets)
		req := newRequest(t, "POST", "https://www.example.com/"+url.PathEscape(token[:20]), `{"tags":["`+token[20:]+`"]}`)
		resp, err := (&http.Client{Transport: guard}).Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if err != nil || next.sent() != 1 {
			t.Errorf("%s: error %v, %d sent; want it sent", name, err, next.sent())
		}
	}
}

func TestSecretsHolds(t *testing.T) {
	t.Parallel()
	s := outbound.NewSecrets(token)
	for text, want := range map[string]bool{
		token:                                true,
		"https://x/" + token + ".html":       true,
		"https://x/" + percentEncoded(token): true,
		"%" + percentEncoded(token):          true, // a stray % does not hide it
		"https://x/" + token[1:]:             false,
		"":                                   false,
	} {
		if got := s.Holds(text); got != want {
			t.Errorf("Holds(%q) = %v, want %v", text, got, want)
		}
	}
}
