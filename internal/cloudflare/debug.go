package cloudflare

import (
	"net/http"
	"time"
)

// DebugTransport logs every request and its answer through Logf: method,
// URL, body size, status, time taken and the rate-limit headers. It never
// logs request headers, which hold the credentials. It sits at the
// transport, where requests are made, so every call of the client is
// logged the same way whoever makes it.
type DebugTransport struct {
	Next http.RoundTripper
	Logf func(format string, args ...any)
}

// RoundTrip implements http.RoundTripper.
func (d DebugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	d.Logf("%s %s (%d bytes)", req.Method, req.URL.Redacted(), req.ContentLength)
	start := time.Now()
	resp, err := d.Next.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		d.Logf("-> no answer after %s: %v", took, err)
		return nil, err
	}
	rl := ParseRateLimit(resp.Header)
	d.Logf("-> HTTP %d after %s; %s", resp.StatusCode, took, rl)
	return resp, nil
}
