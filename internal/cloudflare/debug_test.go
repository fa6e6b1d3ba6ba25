package cloudflare_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// debugLog collects what a DebugTransport logs; requests may run at once.
type debugLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *debugLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *debugLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func debugClient(baseURL string, creds cloudflare.Credentials, log *debugLog) *cloudflare.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	hc := &http.Client{Transport: cloudflare.DebugTransport{Next: transport, Logf: log.logf}}
	return cloudflare.NewClient(baseURL, creds, hc, "ua")
}

func TestDebugTransportLogsRequestAndAnswer(t *testing.T) {
	t.Parallel()
	srv, got := serve(t, 429, map[string]string{
		"Ratelimit":        `"default";r=49;t=30`,
		"Ratelimit-Policy": `"default";q=50;w=60`,
	}, `{"success":false,"errors":[{"code":971,"message":"slow down"}]}`)
	log := &debugLog{}
	c := debugClient(srv.URL+"/client/v4", cloudflare.Credentials{Token: "tok"}, log)
	req := cloudflare.Request{
		Scope:     cloudflare.EnvironmentScope(cloudflare.MustParseID("z1"), cloudflare.MustParseID("e1")),
		Operation: cloudflare.Purge,
		Body:      cloudflare.NewBody(cloudflare.Tags, []cloudflare.Target{{Value: "blog"}}),
	}
	if _, err := c.Send(context.Background(), req); err == nil {
		t.Fatal("a 429 counted as success")
	}
	if len(log.lines) != 2 {
		t.Fatalf("logged %d lines, want 2 (request, answer):\n%s", len(log.lines), log)
	}
	url := srv.URL + "/client/v4/zones/z1/environments/e1/purge_cache"
	if want := fmt.Sprintf("POST %s (%d bytes)", url, len(got.body)); log.lines[0] != want {
		t.Errorf("request line = %q, want %q", log.lines[0], want)
	}
	answer := regexp.MustCompile(`^-> HTTP 429 after \d+(\.\d+)?(ns|µs|ms|s); Ratelimit: 49 left, resets in 30s; policy 50 per 1m0s$`)
	if !answer.MatchString(log.lines[1]) {
		t.Errorf("answer line = %q, want it to match %s", log.lines[1], answer)
	}
}

func TestDebugTransportLogsNoAnswer(t *testing.T) {
	t.Parallel()
	addr := hangUpListener(t)
	log := &debugLog{}
	c := debugClient("http://"+addr, cloudflare.Credentials{Token: "tok"}, log)
	if _, err := c.Send(context.Background(), everything); err == nil {
		t.Fatal("a hang-up counted as success")
	}
	if len(log.lines) != 2 || !strings.HasPrefix(log.lines[1], "-> no answer after ") {
		t.Errorf("log = %q, want the request and a no-answer line", log.lines)
	}
}

// The credentials are request headers, which the transport never logs,
// with either way of authenticating, whatever the answer.
func TestDebugTransportNeverLogsCredentials(t *testing.T) {
	t.Parallel()
	const (
		token = "tokSn3lcBUx9Kq2ZZtop77"
		key   = "keyQ8vLm2Zx7Rt4Wp9Nc3"
		email = "ops-secret@example.com"
	)
	for _, status := range []int{200, 400, 403, 429, 502} {
		for _, creds := range []cloudflare.Credentials{{Token: token}, {Email: email, Key: key}} {
			srv, got := serve(t, status, map[string]string{"Ratelimit": `"default";r=1;t=1`}, okBody)
			log := &debugLog{}
			_, _ = debugClient(srv.URL, creds, log).Send(context.Background(), everything)
			// The credentials were sent: the transport saw them.
			if got.header.Get("Authorization") != "" && got.header.Get("Authorization") != "Bearer "+token ||
				got.header.Get("X-Auth-Key") != "" && got.header.Get("X-Auth-Key") != key {
				t.Fatalf("headers sent = %v", got.header)
			}
			for _, secret := range []string{token, key, "Bearer", "Authorization", "X-Auth-Key"} {
				if strings.Contains(log.String(), secret) {
					t.Errorf("HTTP %d: debug log holds %q:\n%s", status, secret, log)
				}
			}
		}
	}
}
