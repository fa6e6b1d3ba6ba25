package cloudflare_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 120 * time.Second, true},
		{"-3", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Fri, 27 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Friday, 27-Nov-26 12:01:00 GMT", time.Minute, true},  // RFC 850, which RFC 9110 still accepts
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true}, // in the past: go now
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := cloudflare.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		want   cloudflare.RateLimit
	}{
		{"none", nil, cloudflare.RateLimit{}},
		{"structured", map[string]string{"Ratelimit": `"default";r=50;t=30`},
			cloudflare.RateLimit{HasRemaining: true, Remaining: 50, Reset: 30 * time.Second}},
		{"structured with policy", map[string]string{"Ratelimit": `"default";r=5;t=3`, "Ratelimit-Policy": `"default";q=100;w=60`},
			cloudflare.RateLimit{HasRemaining: true, Remaining: 5, Reset: 3 * time.Second, HasPolicy: true, Quota: 100, Window: time.Minute}},
		{"several limits: the tightest wins, with its policy", map[string]string{
			"Ratelimit":        `"burst";r=40;t=1, "day";r=3;t=3600`,
			"Ratelimit-Policy": `"burst";q=50;w=1, "day";q=1000;w=86400`},
			cloudflare.RateLimit{HasRemaining: true, Remaining: 3, Reset: time.Hour, HasPolicy: true, Quota: 1000, Window: 24 * time.Hour}},
		{"older combined form", map[string]string{"Ratelimit": `limit=100, remaining=9, reset=20`},
			cloudflare.RateLimit{HasRemaining: true, Remaining: 9, Reset: 20 * time.Second}},
		{"older separate headers", map[string]string{"Ratelimit-Limit": "100", "Ratelimit-Remaining": "0", "Ratelimit-Reset": "12", "Ratelimit-Policy": "100;w=60"},
			cloudflare.RateLimit{HasRemaining: true, Remaining: 0, Reset: 12 * time.Second, HasPolicy: true, Quota: 100, Window: time.Minute}},
		{"garbage", map[string]string{"Ratelimit": `;;;=,,"`, "Ratelimit-Policy": `q=x;w=-1`}, cloudflare.RateLimit{}},
		{"policy without window is ignored", map[string]string{"Ratelimit-Policy": `"default";q=100`}, cloudflare.RateLimit{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := cloudflare.ParseRateLimit(h); got != tt.want {
				t.Errorf("ParseRateLimit = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRateLimitString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rl   cloudflare.RateLimit
		want string
	}{
		{"remaining and policy", cloudflare.RateLimit{HasRemaining: true, Remaining: 49, Reset: 30 * time.Second, HasPolicy: true, Quota: 50, Window: time.Minute},
			"Ratelimit: 49 left, resets in 30s; policy 50 per 1m0s"},
		{"remaining only", cloudflare.RateLimit{HasRemaining: true, Remaining: 0, Reset: 12 * time.Second}, "Ratelimit: 0 left, resets in 12s"},
		{"policy only", cloudflare.RateLimit{HasPolicy: true, Quota: 1000, Window: 24 * time.Hour}, "Ratelimit: policy 1000 per 24h0m0s"},
		{"none", cloudflare.RateLimit{}, "no Ratelimit headers"},
	}
	for _, tt := range tests {
		if got := tt.rl.String(); got != tt.want {
			t.Errorf("%s: String = %q, want %q", tt.name, got, tt.want)
		}
	}
	// As a debug line shows it, read from the headers Cloudflare sends.
	h := http.Header{"Ratelimit": {`"default";r=49;t=30`}, "Ratelimit-Policy": {`"default";q=50;w=60`}}
	if got, want := cloudflare.ParseRateLimit(h).String(), "Ratelimit: 49 left, resets in 30s; policy 50 per 1m0s"; got != want {
		t.Errorf("String of parsed headers = %q, want %q", got, want)
	}
}
