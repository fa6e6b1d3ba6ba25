package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
)

func files() map[string]string {
	return with(base(), "purge-type", "files", "targets", "https://www.example.com/\nhttps://www.example.com/a")
}

func TestChecksValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		want   config.Checks
	}{
		{"defaults ask for nothing", files(), config.Checks{}},
		{"wait-for with text", with(files(), "wait-for", "https://www.example.com/version.txt", "wait-for-text", "abc123"),
			config.Checks{WaitFor: "https://www.example.com/version.txt", WaitForText: "abc123"}},
		{"wait-for on loopback over http", with(files(), "wait-for", "http://127.0.0.1:8080/v"), config.Checks{WaitFor: "http://127.0.0.1:8080/v"}},
		{"verify in any case, files need no verify-urls", with(files(), "verify", "FAIL"), config.Checks{Verify: config.VerifyFail}},
		{"verify none", with(files(), "verify", "none"), config.Checks{}},
		{"warm", with(files(), "warm", "true"), config.Checks{Warm: true}},
		{"on-error warn", with(files(), "on-error", "Warn"), config.Checks{OnErrorWarn: true}},
		{"verify-urls with tags, headers kept, repeats dropped",
			with(base(), "verify", "warn", "verify-urls", "https://www.example.com/\n{\"url\": \"https://www.example.com/\", \"headers\": {\"CF-Device-Type\": \"mobile\"}}\nhttps://www.example.com/"),
			config.Checks{Verify: config.VerifyWarn, VerifyURLs: []cloudflare.Target{
				{Value: "https://www.example.com/"},
				{Value: "https://www.example.com/", Headers: map[string]string{"CF-Device-Type": "mobile"}}}}},
		{"warm with everything and verify-urls", with(base(), "purge-type", "everything", "targets", "", "warm", "true", "verify-urls", "https://www.example.com/"),
			config.Checks{Warm: true, VerifyURLs: []cloudflare.Target{{Value: "https://www.example.com/"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := load(t, tt.inputs, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Checks, tt.want) {
				t.Errorf("checks = %+v\nwant     %+v", cfg.Checks, tt.want)
			}
		})
	}
}

func TestChecksReject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		inputs  map[string]string
		input   string
		wantMsg string
	}{
		{"wait-for not a URL", with(files(), "wait-for", "www.example.com/v"), "wait-for", "is not an https:// URL"},
		{"wait-for plain http elsewhere", with(files(), "wait-for", "http://www.example.com/v"), "wait-for", "not loopback"},
		{"wait-for with credentials", with(files(), "wait-for", "https://u:p@www.example.com/v"), "wait-for", "credentials"},
		{"wait-for ftp", with(files(), "wait-for", "ftp://www.example.com/v"), "wait-for", "https:// URL"},
		{"wait-for-text alone", with(files(), "wait-for-text", "abc"), "wait-for-text", "wait-for is empty"},
		{"verify unknown", with(files(), "verify", "strict"), "verify", "want none, warn"},
		{"warm not a boolean", with(files(), "warm", "yes"), "warm", "true or false"},
		{"on-error unknown", with(files(), "on-error", "ignore"), "on-error", "want fail"},
		{"verify with tags and no URLs", with(base(), "verify", "fail"), "verify-urls", "is needed with verify or warm when purge-type is tags"},
		{"warm with everything and no URLs", with(base(), "purge-type", "everything", "targets", "", "warm", "true"), "verify-urls", "purge-type is everything"},
		{"verify-urls without verify or warm", with(files(), "verify-urls", "https://www.example.com/"), "verify-urls", "neither verify nor warm"},
		{"verify-urls with a bad line", with(files(), "verify", "warn", "verify-urls", "https://www.example.com/\nwww.example.com/a"), "verify-urls", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tt.inputs, nil, "")
			got := problems(t, err)
			if !strings.Contains(got[tt.input], tt.wantMsg) {
				t.Errorf("problems = %q; want input %s to mention %q", got, tt.input, tt.wantMsg)
			}
		})
	}
}
