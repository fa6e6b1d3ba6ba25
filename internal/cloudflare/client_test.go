package cloudflare_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

type captured struct {
	method, path string
	header       http.Header
	body         string
}

// serve starts a server that records the request and answers with status,
// headers and body.
func serve(t *testing.T, status int, header map[string]string, body string) (*httptest.Server, *captured) {
	t.Helper()
	got := &captured{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = captured{r.Method, r.URL.Path, r.Header.Clone(), string(b)}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

const okBody = `{"success":true,"errors":[],"messages":[],"result":{"id":"023e105f4ecef8ad9ca31a8372d0c353"}}`

// everything is the smallest request: purge everything of zone z.
var everything = cloudflare.Request{
	Scope:     cloudflare.ZoneScope(cloudflare.MustParseID("z")),
	Operation: cloudflare.Purge,
	Body:      cloudflare.NewBody(cloudflare.Everything, nil),
}

func TestSendSendsExactRequest(t *testing.T) {
	t.Parallel()
	withHeaders := cloudflare.Target{Value: "https://www.example.com/cat.jpg", Headers: map[string]string{"CF-IPCountry": "US", "CF-Device-Type": "desktop"}}
	tests := []struct {
		name, env  string
		body       cloudflare.Body
		wantPath   string
		goldenFile string
	}{
		{"everything zone", "", cloudflare.NewBody(cloudflare.Everything, nil), "/client/v4/zones/z1/purge_cache", "body-everything.json"},
		{"everything environment", "e1", cloudflare.NewBody(cloudflare.Everything, nil), "/client/v4/zones/z1/environments/e1/purge_cache", "body-everything.json"},
		{"files", "e1", cloudflare.NewBody(cloudflare.Files, []cloudflare.Target{{Value: "https://www.example.com/css/styles.css"}, withHeaders}), "/client/v4/zones/z1/environments/e1/purge_cache", "body-files.json"},
		{"tags", "", cloudflare.NewBody(cloudflare.Tags, []cloudflare.Target{{Value: "a-cache-tag"}, {Value: "another-cache-tag"}}), "/client/v4/zones/z1/purge_cache", "body-tags.json"},
		{"hosts", "", cloudflare.NewBody(cloudflare.Hosts, []cloudflare.Target{{Value: "www.example.com"}, {Value: "images.example.com"}}), "/client/v4/zones/z1/purge_cache", "body-hosts.json"},
		{"prefixes", "e1", cloudflare.NewBody(cloudflare.Prefixes, []cloudflare.Target{{Value: "www.example.com/foo"}, {Value: "images.example.com/bar/baz"}}), "/client/v4/zones/z1/environments/e1/purge_cache", "body-prefixes.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := serve(t, 200, nil, okBody)
			c := cloudflare.NewClient(srv.URL+"/client/v4", cloudflare.Credentials{Token: "tok"}, nil, "cloudflare-purge-action/test")
			res, err := c.Send(context.Background(), cloudflare.Request{Scope: scope("z1", tt.env), Operation: cloudflare.Purge, Body: tt.body})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.ID != "023e105f4ecef8ad9ca31a8372d0c353" {
				t.Errorf("ID = %q", res.ID)
			}
			if got.method != http.MethodPost || got.path != tt.wantPath {
				t.Errorf("request = %s %s, want POST %s", got.method, got.path, tt.wantPath)
			}
			if got.body != golden(t, tt.goldenFile) {
				t.Errorf("body = %s\nwant %s", got.body, golden(t, tt.goldenFile))
			}
			for k, want := range map[string]string{"Content-Type": "application/json", "Authorization": "Bearer tok", "User-Agent": "cloudflare-purge-action/test"} {
				if v := got.header.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
			if got.header.Get("X-Auth-Key") != "" || got.header.Get("X-Auth-Email") != "" {
				t.Error("legacy auth headers sent with a token")
			}
		})
	}
}

func TestSendLegacyAuthHeaders(t *testing.T) {
	t.Parallel()
	srv, got := serve(t, 200, nil, okBody)
	c := cloudflare.NewClient(srv.URL, cloudflare.Credentials{Email: "ops@example.com", Key: "k3y"}, nil, "ua")
	if _, err := c.Send(context.Background(), everything); err != nil {
		t.Fatal(err)
	}
	if got.header.Get("X-Auth-Email") != "ops@example.com" || got.header.Get("X-Auth-Key") != "k3y" || got.header.Get("Authorization") != "" {
		t.Errorf("headers = %v", got.header)
	}
}

func TestSendEnvelopeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		wantMsg   string
		retryable bool
		auth      bool
	}{
		{"400 with errors", 400, nil, `{"success":false,"errors":[{"code":1012,"message":"Request must contain one of \"purge_everything\", \"files\", \"tags\", \"hosts\" or \"prefixes\""}],"messages":[],"result":null}`,
			`HTTP 400: 1012 Request must contain one of "purge_everything", "files", "tags", "hosts" or "prefixes"`, false, false},
		{"403 auth", 403, nil, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`, "HTTP 403: 10000 Authentication error", false, true},
		{"400 bad header with chain", 400, nil, `{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}]}`,
			"HTTP 400: 6003 Invalid request headers (6111 Invalid format for Authorization header)", false, true},
		{"several errors", 400, nil, `{"success":false,"errors":[{"code":1,"message":"a"},{"code":2,"message":"b"}]}`, "HTTP 400: 1 a; 2 b", false, false},
		{"1134 on a 400 is a rate limit", 400, nil, `{"success":false,"errors":[{"code":1134,"message":"Unable to purge, rate limit reached. Please wait and consider throttling your request speed"}]}`,
			"HTTP 400: 1134 Unable to purge, rate limit reached. Please wait and consider throttling your request speed", true, false},
		{"1134 on a 200 is a rate limit", 200, nil, `{"success":false,"errors":[{"code":1134,"message":"Unable to purge, rate limit reached."}],"result":null}`,
			"HTTP 200: 1134 Unable to purge, rate limit reached.", true, false},
		{"429", 429, map[string]string{"Retry-After": "7"}, `{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]}`,
			"HTTP 429: 971 Please wait and consider throttling your request speed", true, false},
		{"502 html", 502, nil, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>",
			"HTTP 502: response is not a Cloudflare API envelope: 502 Bad Gateway 502 Bad Gateway cloudflare", true, false},
		{"520 empty", 520, nil, "", "HTTP 520: response is not a Cloudflare API envelope: (empty body)", true, false},
		{"200 success false", 200, nil, `{"success":false,"errors":[],"result":null}`, `HTTP 200: "success": false with no errors`, false, false},
		{"200 no result id", 200, nil, `{"success":true,"errors":[],"result":{}}`, `HTTP 200: "success": true but no usable result.id`, false, false},
		{"200 id with newline", 200, nil, `{"success":true,"errors":[],"result":{"id":"a\nb"}}`, `HTTP 200: "success": true but no usable result.id`, false, false},
		{"200 truncated json", 200, nil, `{"success":true,"result":{"id":"02`, "HTTP 200: response is not a Cloudflare API envelope: {\"success\":true,\"result\":{\"id\":\"02", false, false},
		{"302 redirect", 302, map[string]string{"Location": "https://evil.example.net/steal"}, "", "HTTP 302: redirect not followed (to host evil.example.net)", false, false},
		// The cloudflare package no longer cuts or cleans the server's text:
		// the printer redacts secrets first and only then folds and cuts.
		{"message with newline kept whole", 400, nil, `{"success":false,"errors":[{"code":1,"message":"x\n::add-mask::y"}]}`, "HTTP 400: 1 x\n::add-mask::y", false, false},
		{"long message kept whole", 400, nil, `{"success":false,"errors":[{"code":1,"message":"` + strings.Repeat("m", 5000) + `"}]}`, "HTTP 400: 1 " + strings.Repeat("m", 5000), false, false},
		{"long html page: tags stripped, white space folded, not cut", 503, nil, "<html>\n<body>\n\n" + strings.Repeat("word  ", 2000) + "</body></html>",
			"HTTP 503: response is not a Cloudflare API envelope: " + strings.TrimSpace(strings.Repeat("word ", 2000)), true, false},
		{"html with invalid UTF-8", 502, nil, "<p>bad \xff byte</p>", "HTTP 502: response is not a Cloudflare API envelope: bad \uFFFD byte", true, false},
		{"500", 500, nil, `{"success":false,"errors":[{"code":10001,"message":"x"}]}`, "HTTP 500: 10001 x", true, true},
		{"501 is not retried", 501, nil, `{"success":false,"errors":[]}`, `HTTP 501: "success": false with no errors`, false, false},
		{"503 without errors", 503, nil, `{"success":false}`, `HTTP 503: "success": false with no errors`, true, false},
		{"401 auth", 401, nil, `{"success":false,"errors":[{"code":9109,"message":"Invalid access token"}]}`, "HTTP 401: 9109 Invalid access token", false, true},
		{"auth code in an error chain", 400, nil, `{"success":false,"errors":[{"code":1,"message":"a","error_chain":[{"code":9106,"message":"b"}]}]}`, "HTTP 400: 1 a (9106 b)", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, tt.status, tt.header, tt.body)
			c := cloudflare.NewClient(srv.URL, cloudflare.Credentials{Token: "tok"}, nil, "ua")
			_, err := c.Send(context.Background(), everything)
			apiErr, ok := errors.AsType[*cloudflare.APIError](err)
			if !ok {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("message = %q\nwant      %q", err.Error(), tt.wantMsg)
			}
			if apiErr.Retryable() != tt.retryable || apiErr.AuthFailure() != tt.auth {
				t.Errorf("retryable=%v auth=%v, want %v %v", apiErr.Retryable(), apiErr.AuthFailure(), tt.retryable, tt.auth)
			}
		})
	}
}

func TestSendReadsRetryAfterAndRateLimit(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, 429, map[string]string{
		"Retry-After":      "90",
		"Ratelimit":        `"default";r=0;t=30`,
		"Ratelimit-Policy": `"default";q=50;w=10`,
	}, `{"success":false,"errors":[{"code":971,"message":"slow down"}]}`)
	c := cloudflare.NewClient(srv.URL, cloudflare.Credentials{Token: "tok"}, nil, "ua")
	_, err := c.Send(context.Background(), everything)
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	if !apiErr.HasRetryAfter || apiErr.RetryAfter != 90*time.Second {
		t.Errorf("RetryAfter = %v (%v), want 90s", apiErr.RetryAfter, apiErr.HasRetryAfter)
	}
	want := cloudflare.RateLimit{HasRemaining: true, Remaining: 0, Reset: 30 * time.Second, HasPolicy: true, Quota: 50, Window: 10 * time.Second}
	if apiErr.RateLimit != want {
		t.Errorf("RateLimit = %+v, want %+v", apiErr.RateLimit, want)
	}
}

// Send reads a Retry-After date against the clock: a date 90 seconds
// ahead is a wait of a little under 90 seconds (HTTP dates have whole
// seconds, and the answer takes a moment).
func TestSendReadsRetryAfterDate(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(90 * time.Second)
	srv, _ := serve(t, 429, map[string]string{"Retry-After": at.UTC().Format(http.TimeFormat)}, `{"success":false,"errors":[{"code":971,"message":"slow down"}]}`)
	c := cloudflare.NewClient(srv.URL, cloudflare.Credentials{Token: "tok"}, nil, "ua")
	_, err := c.Send(context.Background(), everything)
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	if !apiErr.HasRetryAfter || apiErr.RetryAfter <= 60*time.Second || apiErr.RetryAfter > 90*time.Second {
		t.Errorf("RetryAfter = %v (%v), want a little under 90s", apiErr.RetryAfter, apiErr.HasRetryAfter)
	}
}

// Decode takes the time to read Retry-After dates against.
func TestDecodeRetryAfterDate(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}}
	_, err := cloudflare.Decode(resp, []byte(`{"success":false,"errors":[]}`), nil, now)
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	if !apiErr.HasRetryAfter || apiErr.RetryAfter != 90*time.Second {
		t.Errorf("RetryAfter = %v (%v), want 90s", apiErr.RetryAfter, apiErr.HasRetryAfter)
	}
}

func TestDecodeReadErrorNamesTheStatus(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: 200, Header: http.Header{}}
	_, err := cloudflare.Decode(resp, []byte(`{"succ`), io.ErrUnexpectedEOF, now)
	if err == nil || !strings.HasPrefix(err.Error(), "HTTP 200: reading response body") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want HTTP 200: reading response body wrapping the cause", err)
	}
	if _, ok := errors.AsType[*cloudflare.APIError](err); ok {
		t.Error("a body that could not be read is an *APIError; want a network-like error")
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(true) // any request here means the redirect was followed
		w.WriteHeader(200)
		io.WriteString(w, okBody)
	}))
	t.Cleanup(other.Close)
	srv, _ := serve(t, 307, map[string]string{"Location": other.URL + "/zones/z/purge_cache"}, "")
	c := cloudflare.NewClient(srv.URL, cloudflare.Credentials{Token: "tok"}, nil, "ua")
	if _, err := c.Send(context.Background(), everything); err == nil {
		t.Fatal("a redirect counted as success")
	}
	if leaked.Load() {
		t.Error("the client followed the redirect to another server")
	}
}

func TestSendBoundsResponseBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		chunk := strings.Repeat("x", 1<<16)
		for range 50 << 4 { // 50 MiB
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	c := cloudflare.NewClient(srv.URL, cloudflare.Credentials{Token: "tok"}, nil, "ua")
	_, err := c.Send(context.Background(), everything)
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Fatalf("err = %v, want the body-size error", err)
	}
}

func TestSendNetworkErrorIsNotAPIError(t *testing.T) {
	t.Parallel()
	addr := hangUpListener(t)
	c := cloudflare.NewClient("http://"+addr, cloudflare.Credentials{Token: "tok"}, nil, "ua")
	_, err := c.Send(context.Background(), everything)
	if _, isAPI := errors.AsType[*cloudflare.APIError](err); err == nil || isAPI {
		t.Fatalf("err = %v, want a network error", err)
	}
	if strings.Contains(err.Error(), "tok") {
		t.Error("the token appears in the error")
	}
}

func TestSendCancelledContext(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, 200, nil, okBody)
	c := cloudflare.NewClient(srv.URL, cloudflare.Credentials{Token: "tok"}, nil, "ua")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Send(ctx, everything)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one that wraps context.Canceled", err)
	}
	if !strings.HasPrefix(err.Error(), "request failed: ") || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("err = %q, want \"request failed: ...\" without the endpoint", err)
	}
}

// scope is the zone's scope, or its environment's when env is set.
func scope(zone, env string) cloudflare.Scope {
	if env == "" {
		return cloudflare.ZoneScope(cloudflare.MustParseID(zone))
	}
	return cloudflare.EnvironmentScope(cloudflare.MustParseID(zone), cloudflare.MustParseID(env))
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	z1, e1 := cloudflare.MustParseID("z1"), cloudflare.MustParseID("e1")
	tests := []struct {
		name  string
		scope cloudflare.Scope
		want  string
	}{
		{"zone", cloudflare.ZoneScope(z1), "https://api/zones/z1/purge_cache"},
		{"environment", cloudflare.EnvironmentScope(z1, e1), "https://api/zones/z1/environments/e1/purge_cache"},
		// The widening that must never happen: an environment scope
		// whose ID went missing is refused, never sent to the zone path.
		{"environment without its ID", cloudflare.EnvironmentScope(z1, cloudflare.ID{}), ""},
		{"zero scope", cloudflare.Scope{}, ""},
		{"environment of no zone", cloudflare.EnvironmentScope(cloudflare.ID{}, e1), ""},
	}
	for _, tt := range tests {
		got, err := cloudflare.Endpoint("https://api", tt.scope, cloudflare.Purge)
		if got != tt.want || (tt.want == "") != errors.Is(err, cloudflare.ErrIncompleteScope) {
			t.Errorf("%s: Endpoint = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestSendRefusesAnIncompleteScopeWithoutARequest(t *testing.T) {
	t.Parallel()
	srv, got := serve(t, 200, nil, okBody)
	c := cloudflare.NewClient(srv.URL+"/client/v4", cloudflare.Credentials{Token: "tok"}, nil, "test")
	_, err := c.Send(context.Background(), cloudflare.Request{
		Scope: cloudflare.EnvironmentScope(cloudflare.MustParseID("z1"), cloudflare.ID{}), Operation: cloudflare.Purge,
		Body: cloudflare.NewBody(cloudflare.Everything, nil),
	})
	if !errors.Is(err, cloudflare.ErrIncompleteScope) || got.method != "" {
		t.Errorf("Send = %v, request %s %s; want ErrIncompleteScope and no request", err, got.method, got.path)
	}
}

func TestParseID(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a", "023e105f4ecef8ad9ca31a8372d0c353", "AbC123", strings.Repeat("f", 32)} {
		if id, err := cloudflare.ParseID(ok); err != nil || id.String() != ok {
			t.Errorf("ParseID(%q) = %v, %v", ok, id, err)
		}
	}
	// Everything the issue found reaching a path, and more.
	for _, bad := range []string{"", "..", ".", "a/b", "x?y=1", "a#b", "a%2Fb", "_", "-", strings.Repeat("a", 33),
		"\u0430bc", "аbc", "::error::x", "a b", "a\nb", "a\x00", "a\\b", "a;b", "ab\u200b"} {
		if id, err := cloudflare.ParseID(bad); err == nil || !id.IsZero() {
			t.Errorf("ParseID(%q) = %v, %v; want an error and the zero ID", bad, id, err)
		}
	}
}

func TestScopeString(t *testing.T) {
	t.Parallel()
	if got := scope("z1", "").String(); got != "zone z1" {
		t.Errorf("zone scope = %q", got)
	}
	if got := scope("z1", "e1").String(); got != "environment e1 of zone z1" {
		t.Errorf("environment scope = %q", got)
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{
		400: false, 401: false, 403: false, 404: false, 409: false,
		429: true,
		500: true, 501: false, 502: true, 503: true, 504: true, 520: true, 522: true, 527: true, 599: true,
	} {
		if got := (&cloudflare.APIError{Status: status}).Retryable(); got != want {
			t.Errorf("HTTP %d: Retryable = %v, want %v", status, got, want)
		}
	}
}

func TestAPIErrorWithoutDetailsNamesTheStatus(t *testing.T) {
	t.Parallel()
	if got := (&cloudflare.APIError{Status: 504}).Error(); got != "HTTP 504: Gateway Timeout" {
		t.Errorf("Error = %q", got)
	}
}

// hangUpListener listens on loopback and closes every connection at once:
// a sure network error. (Closing a test server and dialing its old port is
// not: a parallel test may be listening there by then.) It returns the
// address.
func hangUpListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	return ln.Addr().String()
}

// Cloudflare's invalid-URL message names the URL it refused; no other
// message names a target.
func TestNamedTarget(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		"Unable to purge https://a.example/x?y=1, which is an invalid URL.": "https://a.example/x?y=1",
		"Unable to purge /path/to/image.jpg, which is an invalid URL.":      "/path/to/image.jpg",
		"Unable to purge, rate limit reached.":                              "",
		"Request must contain one of \"purge_everything\"":                  "",
		"": "",
	} {
		e := &cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 1, Message: msg}}}
		if got := e.NamedTarget(); got != want {
			t.Errorf("NamedTarget of %q = %q, want %q", msg, got, want)
		}
	}
}

func TestAboutTargets(t *testing.T) {
	t.Parallel()
	item := func(code int) []cloudflare.ErrorItem { return []cloudflare.ErrorItem{{Code: code, Message: "m"}} }
	for _, tt := range []struct {
		name string
		err  cloudflare.APIError
		want bool
	}{
		{"invalid URL", cloudflare.APIError{Status: 400, Errors: item(1)}, true},
		{"no route", cloudflare.APIError{Status: 400, Errors: item(7003)}, false},
		// The action sends one purge key a body: a 1012, 1014 or 1136 it
		// receives may be about a target (the invalid-URL answer's code is
		// not published), so the batch is split, with the brake.
		{"1012 no purge key", cloudflare.APIError{Status: 400, Errors: item(1012)}, true},
		{"1014 not an array", cloudflare.APIError{Status: 400, Errors: item(1014)}, true},
		{"1136 files on an IP environment", cloudflare.APIError{Status: 400, Errors: item(1136)}, true},
		{"no route", cloudflare.APIError{Status: 400, Errors: item(7000)}, false},
		{"1092 purge_everything with other keys", cloudflare.APIError{Status: 400, Errors: item(1092)}, false},
		{"1134 rate limit on a 400", cloudflare.APIError{Status: 400, Errors: item(1134)}, false},
		{"malformed auth in a chain", cloudflare.APIError{Status: 400, Errors: []cloudflare.ErrorItem{{Code: 1, ErrorChain: item(6111)}}}, false},
		{"a proxy's page", cloudflare.APIError{Status: 400, Problem: "not an envelope"}, false},
		{"not a 400", cloudflare.APIError{Status: 422, Errors: item(1)}, false},
		{"auth", cloudflare.APIError{Status: 403, Errors: item(10000)}, false},
	} {
		if got := tt.err.AboutTargets(); got != tt.want {
			t.Errorf("%s: AboutTargets = %v, want %v", tt.name, got, tt.want)
		}
	}
}
