package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
)

// env builds a getenv over INPUT_ variables the way the runner sets them:
// every input in the map, hyphens kept.
func env(inputs map[string]string, extra map[string]string) func(string) string {
	m := map[string]string{}
	for k, v := range inputs {
		m["INPUT_"+strings.ToUpper(k)] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func load(t *testing.T, inputs, extra map[string]string, workdir string) (*config.Config, error) {
	t.Helper()
	if workdir == "" {
		workdir = t.TempDir()
	}
	cfg, _, err := config.Load(context.Background(), nil, config.Env{Getenv: env(inputs, extra), WorkDir: workdir})
	return cfg, err
}

func problems(t *testing.T, err error) map[string]string {
	t.Helper()
	var invalid *config.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v (%T), want *config.InvalidError", err, err)
	}
	out := map[string]string{}
	for _, p := range invalid.Problems {
		out[p.Input] += p.Message
	}
	return out
}

func base() map[string]string {
	return map[string]string{"zone-id": "023e105f4ecef8ad9ca31a8372d0c353", "purge-type": "tags", "targets": "a", "api-token": "tok"}
}

// manyTags is n distinct tags, one a line.
func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "tag-%d\n", i)
	}
	return b.String()
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, base(), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		Credentials: cloudflare.Credentials{Token: "tok"},
		ZoneID:      "023e105f4ecef8ad9ca31a8372d0c353",
		PurgeType:   cloudflare.Tags,
		Targets:     []cloudflare.Target{{Value: "a"}},
		BatchSize:   100, MaxRetries: 5, Timeout: 10 * time.Minute,
		APIURL: "https://api.cloudflare.com/client/v4", Concurrency: 8,
	}
	if got := *cfg; !reflect.DeepEqual(got, want) {
		t.Errorf("config = %+v\nwant     %+v", got, want)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		extra  map[string]string
		check  func(*config.Config) bool
	}{
		{"environment", with(base(), "environment-id", "a1B2"), nil, func(c *config.Config) bool { return c.EnvironmentID == "a1B2" }},
		{"mixed-case purge type", with(base(), "purge-type", "Tags"), nil, func(c *config.Config) bool { return c.PurgeType == cloudflare.Tags }},
		{"auto batch for files", with(base(), "purge-type", "files", "targets", "https://a.example/"), nil, func(c *config.Config) bool { return c.BatchSize == 30 }},
		{"enterprise batch for files", with(base(), "purge-type", "files", "targets", "https://a.example/", "plan", "Enterprise"), nil,
			func(c *config.Config) bool { return c.BatchSize == 500 && c.Plan == cloudflare.PlanEnterprise }},
		{"explicit batch", with(base(), "batch-size", "7"), nil, func(c *config.Config) bool { return c.BatchSize == 7 }},
		{"zero retries", with(base(), "max-retries", "0"), nil, func(c *config.Config) bool { return c.MaxRetries == 0 }},
		{"timeout", with(base(), "timeout", "1h30m"), nil, func(c *config.Config) bool { return c.Timeout == 90*time.Minute }},
		{"timeout just over the API limit's wait", with(base(), "targets", manyTags(1141), "batch-size", "1", "timeout", "5m1s"), nil, func(c *config.Config) bool { return len(c.Targets) == 1141 }},
		{"1140 requests need no wait", with(base(), "targets", manyTags(1140), "batch-size", "1", "timeout", "1s"), nil, func(c *config.Config) bool { return len(c.Targets) == 1140 }},
		{"dry run without token", with(base(), "api-token", "", "dry-run", "TRUE"), nil, func(c *config.Config) bool { return c.DryRun && c.Credentials == cloudflare.Credentials{} }},
		{"token from environment", with(base(), "api-token", ""), map[string]string{"CLOUDFLARE_API_TOKEN": "envtok"}, func(c *config.Config) bool { return c.Credentials.Token == "envtok" }},
		{"input token wins over environment", base(), map[string]string{"CLOUDFLARE_API_TOKEN": "envtok"}, func(c *config.Config) bool { return c.Credentials.Token == "tok" }},
		{"legacy pair ignores environment token", with(base(), "api-token", "", "api-email", "a@example.com", "api-key", "k"), map[string]string{"CLOUDFLARE_API_TOKEN": "envtok"},
			func(c *config.Config) bool {
				return c.Credentials == cloudflare.Credentials{Email: "a@example.com", Key: "k"}
			}},
		{"api-url trailing slash", with(base(), "api-url", "http://127.0.0.1:8080/client/v4/"), nil, func(c *config.Config) bool { return c.APIURL == "http://127.0.0.1:8080/client/v4" }},
		{"api-url localhost and ::1", with(base(), "api-url", "http://[::1]:9/x"), nil, func(c *config.Config) bool { return c.APIURL == "http://[::1]:9/x" }},
		{"everything needs no targets", with(base(), "purge-type", "everything", "targets", ""), nil, func(c *config.Config) bool { return len(c.Targets) == 0 }},
		{"whitespace-only input is empty", with(base(), "environment-id", "  \n "), nil, func(c *config.Config) bool { return c.EnvironmentID == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := load(t, tt.inputs, tt.extra, "")
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("config = %+v", *cfg)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		inputs  map[string]string
		extra   map[string]string
		input   string
		wantMsg string
	}{
		{"missing zone", with(base(), "zone-id", ""), nil, "zone-id", "is required"},
		{"zone with slash", with(base(), "zone-id", "abc/def"), nil, "zone-id", "letters and digits"},
		{"zone with dots", with(base(), "zone-id", ".."), nil, "zone-id", "letters and digits"},
		{"zone with percent", with(base(), "zone-id", "a%2Fb"), nil, "zone-id", "letters and digits"},
		{"zone with space", with(base(), "zone-id", "a b"), nil, "zone-id", "letters and digits"},
		{"zone too long", with(base(), "zone-id", strings.Repeat("a", 33)), nil, "zone-id", "33 characters"},
		{"environment with slash", with(base(), "environment-id", "e/1"), nil, "environment-id", "letters and digits"},
		{"missing purge type", with(base(), "purge-type", ""), nil, "purge-type", "is required"},
		{"unknown purge type", with(base(), "purge-type", "urls"), nil, "purge-type", "everything, files, tags, hosts, prefixes"},
		{"no targets", with(base(), "targets", ""), nil, "targets", "no targets"},
		{"only comments", with(base(), "targets", "# nothing\n\n"), nil, "targets", "no targets"},
		{"targets with everything", with(base(), "purge-type", "everything"), nil, "targets", "must be empty"},
		{"bad url", with(base(), "purge-type", "files", "targets", "example.com/a"), nil, "targets", "line 1"},
		{"batch zero", with(base(), "batch-size", "0"), nil, "batch-size", "from 1 to 100"},
		{"batch above max", with(base(), "batch-size", "101"), nil, "batch-size", "from 1 to 100"},
		{"files batch above max", with(base(), "purge-type", "files", "targets", "https://a.example/", "batch-size", "501"), nil, "batch-size", "from 1 to 500"},
		{"batch not a number", with(base(), "batch-size", "lots"), nil, "batch-size", "auto or a whole number"},
		{"negative retries", with(base(), "max-retries", "-1"), nil, "max-retries", "whole number from 0"},
		{"timeout zero", with(base(), "timeout", "0"), nil, "timeout", "positive Go duration"},
		{"timeout negative", with(base(), "timeout", "-5m"), nil, "timeout", "positive Go duration"},
		{"timeout without unit", with(base(), "timeout", "600"), nil, "timeout", "positive Go duration"},
		{"timeout too short for the API limit", with(base(), "targets", manyTags(1141), "batch-size", "1", "timeout", "5m"), nil, "timeout",
			"1141 targets at 1 a request are 1141 requests, which take at least 5m under Cloudflare's API limit of 1200 requests per 5 minutes; want a timeout over 5m (e.g. 10m)"},
		{"dry-run not bool", with(base(), "dry-run", "yes please"), nil, "dry-run", "true or false"},
		{"concurrency zero", with(base(), "concurrency", "0"), nil, "concurrency", "from 1 to 64"},
		{"unknown plan", with(base(), "plan", "gold"), nil, "plan", "free, pro, business, enterprise"},
		{"plain http to remote host", with(base(), "api-url", "http://api.cloudflare.com/client/v4"), nil, "api-url", "not loopback"},
		{"api-url not a url", with(base(), "api-url", "api.cloudflare.com"), nil, "api-url", "https:// URL"},
		{"api-url with a port and no host", with(base(), "api-url", "https://:443/client/v4"), nil, "api-url", "https:// URL"},
		{"api-url with query", with(base(), "api-url", "https://a.example/?x=1"), nil, "api-url", "query"},
		{"no credentials", with(base(), "api-token", ""), nil, "api-token", "no credentials"},
		{"email without key", with(base(), "api-token", "", "api-email", "a@example.com"), nil, "api-key", "api-email is set"},
		{"key without email", with(base(), "api-token", "", "api-key", "k"), nil, "api-email", "api-key is set"},
		{"token and key", with(base(), "api-email", "a@example.com", "api-key", "k"), nil, "api-token", "one way to authenticate"},
		{"token with line break", with(base(), "api-token", "abc\ndef"), nil, "api-token", "white space"},
		{"targets over 128 KiB", with(base(), "targets", strings.Repeat("a\n", 70000)), nil, "targets", "targets-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tt.inputs, tt.extra, "")
			got := problems(t, err)
			if !strings.Contains(got[tt.input], tt.wantMsg) {
				t.Errorf("problems = %q; want input %s to mention %q", got, tt.input, tt.wantMsg)
			}
		})
	}
}

func TestLoadReportsEveryProblemTogether(t *testing.T) {
	t.Parallel()
	_, err := load(t, map[string]string{"zone-id": "a/b", "purge-type": "nope", "timeout": "x", "batch-size": "0", "api-url": "http://example.com"}, nil, "")
	got := problems(t, err)
	for _, input := range []string{"zone-id", "purge-type", "timeout", "batch-size", "api-url", "api-token"} {
		if got[input] == "" {
			t.Errorf("no problem reported for %s; got %q", input, got)
		}
	}
}

func TestLoadNeverQuotesSecrets(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t\tvalue"
	_, err := load(t, with(base(), "api-token", secret, "api-email", "a@example.com", "api-key", secret), nil, "")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v; want an error that does not quote the secret", err)
	}
}

func TestTargetsFile(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	outside := t.TempDir()
	write := func(dir, name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ws, "purge/urls.txt", "\uFEFFhttps://a.example/1\r\nhttps://a.example/2\r\n")
	write(outside, "secret.txt", "https://a.example/3\n")
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(ws, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("purge/urls.txt", filepath.Join(ws, "inside-link.txt")); err != nil {
		t.Fatal(err)
	}
	files := func(kv ...string) map[string]string {
		return with(base(), append([]string{"purge-type", "files", "targets", ""}, kv...)...)
	}

	t.Run("read from the workspace, added to targets", func(t *testing.T) {
		cfg, err := load(t, with(files("targets-file", "purge/urls.txt"), "targets", "https://a.example/0\nhttps://a.example/1"), map[string]string{"GITHUB_WORKSPACE": ws}, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range cfg.Targets {
			got = append(got, tg.Value)
		}
		if strings.Join(got, " ") != "https://a.example/0 https://a.example/1 https://a.example/2" {
			t.Errorf("targets = %q", got)
		}
	})
	t.Run("workdir when not in Actions", func(t *testing.T) {
		if _, err := load(t, files("targets-file", "purge/urls.txt"), nil, ws); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("symlink inside the workspace", func(t *testing.T) {
		if _, err := load(t, files("targets-file", "inside-link.txt"), map[string]string{"GITHUB_WORKSPACE": ws}, ""); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range []struct{ name, file, want string }{
		{"missing", "nope.txt", "does not exist"},
		{"directory", "purge", "not a regular file"},
		{"symlink outside", "escape.txt", "outside the workspace"},
		{"dot-dot", "../" + filepath.Base(outside) + "/secret.txt", "outside the workspace"},
		{"absolute outside", filepath.Join(outside, "secret.txt"), "outside the workspace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, files("targets-file", tt.file), map[string]string{"GITHUB_WORKSPACE": ws}, "")
			if got := problems(t, err)["targets-file"]; !strings.Contains(got, tt.want) {
				t.Errorf("targets-file problem = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	var usage strings.Builder
	flags, err := config.ParseFlags([]string{"--dry-run", "--zone-id", "z1", "--purge-type=tags", "--targets", "a,b"}, &usage)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dry-run": "true", "zone-id": "z1", "purge-type": "tags", "targets": "a,b"}
	if len(flags) != len(want) {
		t.Fatalf("flags = %v, want %v", flags, want)
	}
	for k, v := range want {
		if flags[k] != v {
			t.Errorf("flag %s = %q, want %q", k, flags[k], v)
		}
	}
	// Flags win over inputs.
	cfg, _, err := config.Load(context.Background(), flags, config.Env{Getenv: env(with(base(), "zone-id", "other"), nil), WorkDir: t.TempDir()})
	if err != nil || cfg.ZoneID != "z1" || !cfg.DryRun {
		t.Fatalf("Load = %+v, %v", cfg, err)
	}
}

func TestParseFlagsHelpListsEveryInput(t *testing.T) {
	t.Parallel()
	var usage strings.Builder
	if _, err := config.ParseFlags([]string{"--help"}, &usage); !errors.Is(err, config.ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, f := range config.InputFields() {
		if !strings.Contains(usage.String(), "-"+f.Name) {
			t.Errorf("--help does not list --%s", f.Name)
		}
	}
}

func TestParseFlagsRejectsPositionalWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	_, err := config.ParseFlags([]string{"--zone-id", "z", "my-secret-token"}, &strings.Builder{})
	if err == nil || strings.Contains(err.Error(), "my-secret-token") {
		t.Fatalf("err = %v", err)
	}
}
