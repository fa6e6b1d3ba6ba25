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

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 100, "plain"},
		{"a\nb\r\nc", 100, "a b c"},
		{"  lead  and   trail  ", 100, "lead and trail"},
		{"\x00nul\x1b[31m", 100, "nul [31m"},
		{"abcdefghij", 5, "abcde…"},
		{"bad \xff utf8", 5, "bad \uFFFD…"},
	}
	for _, tt := range tests {
		if got := cloudflare.Sanitize(tt.in, tt.max); got != tt.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
