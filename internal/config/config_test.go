package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
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

// readSpec reads the repository's action.yml, the one table of inputs,
// once for every test.
var readSpec = sync.OnceValues(func() (config.Spec, error) {
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		return config.Spec{}, err
	}
	return config.ParseSpec(b)
})

func spec(t testing.TB) config.Spec {
	t.Helper()
	s, err := readSpec()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadAll reads the inputs and validates them, as command.Run does (which
// also bounds validation by the run's context); it returns the inputs as
// read even when they are invalid.
func loadAll(flags map[string]string, env config.Env) (*config.Config, config.Inputs, error) {
	in, err := config.ReadInputs(context.Background(), flags, env.Getenv, env.Spec)
	if err != nil {
		return nil, in, err
	}
	cfg, err := config.Validate(in, env)
	return cfg, in, err
}

func load(t *testing.T, inputs, extra map[string]string, workdir string) (*config.Config, error) {
	t.Helper()
	if workdir == "" {
		workdir = t.TempDir()
	}
	cfg, _, err := loadAll(nil, config.Env{Getenv: env(inputs, extra), Spec: spec(t), WorkDir: workdir})
	return cfg, err
}

func problems(t *testing.T, err error) map[string]string {
	t.Helper()
	invalid, ok := errors.AsType[*problem.Error](err)
	if !ok {
		t.Fatalf("err = %v (%T), want *problem.Error", err, err)
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

func manyIDs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "z%d\n", i)
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
		Operation:   cloudflare.Purge,
		ZoneIDs:     ids("023e105f4ecef8ad9ca31a8372d0c353"),
		PurgeType:   cloudflare.Tags,
		Targets:     []cloudflare.Target{{Value: "a"}},
		Sources:     []config.Source{{Input: "targets", Text: "a"}},
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
		{"environment", with(base(), "environment-id", "a1B2"), nil, func(c *config.Config) bool { return c.EnvironmentID.String() == "a1B2" }},
		{"environment by name", with(base(), "environment", "Staging"), nil, func(c *config.Config) bool { return c.EnvironmentName == "Staging" }},
		{"mode invalidate in any case", with(base(), "mode", "InValidate"), nil, func(c *config.Config) bool { return c.Operation == cloudflare.Invalidate }},
		{"mode purge is the default", base(), nil, func(c *config.Config) bool { return c.Operation == cloudflare.Purge }},
		{"several zone IDs, one a line, repeats dropped", with(base(), "zone-id", "aaa\n\n bbb \naaa"), nil,
			func(c *config.Config) bool { return slices.Equal(c.ZoneIDs, ids("aaa", "bbb")) }},
		{"zone names only", with(base(), "zone-id", "", "zone", "Example.com\nexample.org.\nexample.com"), nil,
			func(c *config.Config) bool {
				return len(c.ZoneIDs) == 0 && slices.Equal(c.ZoneNames, []string{"example.com", "example.org"})
			}},
		{"zone IDs and names together", with(base(), "zone", "example.com"), nil,
			func(c *config.Config) bool {
				return len(c.ZoneIDs) == 1 && slices.Equal(c.ZoneNames, []string{"example.com"}) && c.Zones() == 2
			}},
		{"mixed-case purge type", with(base(), "purge-type", "Tags"), nil, func(c *config.Config) bool { return c.PurgeType == cloudflare.Tags }},
		{"auto batch for files", with(base(), "purge-type", "files", "targets", "https://a.example/"), nil, func(c *config.Config) bool { return c.BatchSize == 100 }},
		{"enterprise batch for files", with(base(), "purge-type", "files", "targets", "https://a.example/", "plan", "Enterprise"), nil,
			func(c *config.Config) bool { return c.BatchSize == 500 && c.Plan == cloudflare.PlanEnterprise }},
		{"auto batch for files on pro", with(base(), "purge-type", "files", "targets", "https://a.example/", "plan", "pro", "batch-size", "auto"), nil,
			func(c *config.Config) bool { return c.BatchSize == 100 }},
		{"explicit batch", with(base(), "batch-size", "7"), nil, func(c *config.Config) bool { return c.BatchSize == 7 }},
		{"explicit files batch of 30", with(base(), "purge-type", "files", "targets", "https://a.example/", "batch-size", "30"), nil,
			func(c *config.Config) bool { return c.BatchSize == 30 }},
		{"zero retries", with(base(), "max-retries", "0"), nil, func(c *config.Config) bool { return c.MaxRetries == 0 }},
		{"timeout", with(base(), "timeout", "1h30m"), nil, func(c *config.Config) bool { return c.Timeout == 90*time.Minute }},
		// Whether a timeout is long enough for the requests is purge's
		// question (it knows the plan and the API limit), not config's.
		{"short timeout for many requests", with(base(), "targets", manyTags(1141), "batch-size", "1", "timeout", "5m"), nil,
			func(c *config.Config) bool { return len(c.Targets) == 1141 && c.Timeout == 5*time.Minute }},
		{"one-second timeout", with(base(), "targets", manyTags(1140), "batch-size", "1", "timeout", "1s"), nil,
			func(c *config.Config) bool { return len(c.Targets) == 1140 && c.Timeout == time.Second }},
		{"dry run false", with(base(), "dry-run", "False"), nil, func(c *config.Config) bool { return !c.DryRun }},
		{"plan in any case", with(base(), "plan", "PRO"), nil, func(c *config.Config) bool { return c.Plan == cloudflare.PlanPro }},
		{"legacy pair", with(base(), "api-token", "", "api-email", "ops@example.com", "api-key", "k3y"), nil,
			func(c *config.Config) bool {
				return c.Credentials == cloudflare.Credentials{Email: "ops@example.com", Key: "k3y"}
			}},
		{"hosts from a comma list", with(base(), "purge-type", "hosts", "targets", "a.example, b.example"), nil, func(c *config.Config) bool { return len(c.Targets) == 2 }},
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
		{"whitespace-only input is empty", with(base(), "environment-id", "  \n "), nil, func(c *config.Config) bool { return c.EnvironmentID.IsZero() }},
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
		{"missing zone", with(base(), "zone-id", ""), nil, "zone-id", "is required: give one zone ID a line in zone-id"},
		{"bad zone among several", with(base(), "zone-id", "aaa\nb/c"), nil, "zone-id", "letters and digits"},
		{"zone name with a scheme", with(base(), "zone", "https://example.com"), nil, "zone", "is not a zone name"},
		{"zone name without a dot", with(base(), "zone", "localhost"), nil, "zone", "want a domain like example.com"},
		{"too many zones", with(base(), "zone-id", manyIDs(51)), nil, "zone-id", "51 zones in one step; at most 50"},
		{"environment-id with several zones", with(base(), "zone-id", "aaa\nbbb", "environment-id", "e1"), nil, "environment-id", "2 zones are given"},
		{"environment with several zones", with(base(), "zone", "example.com", "environment", "staging"), nil, "environment", "2 zones are given"},
		{"environment and environment-id", with(base(), "environment-id", "e1", "environment", "staging"), nil, "environment", "together with environment-id"},
		{"environment with a line break", with(base(), "environment", "a\x1bb"), nil, "environment", "not an environment name"},
		{"unknown mode", with(base(), "mode", "delete"), nil, "mode", "want purge (delete the cached content) or invalidate"},
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
		{"key with a space", with(base(), "api-token", "", "api-email", "a@example.com", "api-key", "k 3"), nil, "api-key", "white space"},
		{"email with a line break", with(base(), "api-token", "", "api-email", "a@example.com\nX-Evil: 1", "api-key", "k"), nil, "api-email", "line break"},
		{"retries above the limit", with(base(), "max-retries", "101"), nil, "max-retries", "from 0 to 100"},
		{"concurrency above the limit", with(base(), "concurrency", "65"), nil, "concurrency", "from 1 to 64"},
		{"api-url with credentials", with(base(), "api-url", "https://u:p@a.example/"), nil, "api-url", "credentials"},
		{"api-url with a bare #", with(base(), "api-url", "https://a.example/x#"), nil, "api-url", "fragment"},
		{"targets-file with everything", with(base(), "purge-type", "everything", "targets", "", "targets-file", "x.txt"), nil, "targets-file", "must be empty"},
		{"more than ten bad lines", with(base(), "targets", strings.Repeat("café\n", 12)), nil, "targets", "12 bad target(s): line 1: "},
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

// A credential holding any Unicode space or control character cannot be
// sent in a header and is refused, naming the input but never quoting it.
func TestLoadRefusesOddCharactersInCredentialsWithoutQuotingThem(t *testing.T) {
	t.Parallel()
	const head, tail = "Sn3lcBUx9Kq2", "ZZtop77abcd"
	for _, ch := range []struct{ name, s string }{
		{"no-break space", "\u00a0"},
		{"next line U+0085", "\u0085"},
		{"line separator", "\u2028"},
		{"ideographic space", "\u3000"},
		{"C1 control", "\u009b"},
		{"tab", "\t"},
		{"line break", "\n"},
		{"invalid UTF-8", "\xff"},
	} {
		secret := head + ch.s + tail
		for _, tt := range []struct {
			how    string
			inputs map[string]string
			extra  map[string]string
			input  string
		}{
			{"api-token", with(base(), "api-token", secret), nil, "api-token"},
			{"CLOUDFLARE_API_TOKEN", with(base(), "api-token", ""), map[string]string{"CLOUDFLARE_API_TOKEN": secret}, "api-token"},
			{"api-key", with(base(), "api-token", "", "api-email", "ops@example.com", "api-key", secret), nil, "api-key"},
		} {
			t.Run(ch.name+" in "+tt.how, func(t *testing.T) {
				t.Parallel()
				_, err := load(t, tt.inputs, tt.extra, "")
				if got := problems(t, err)[tt.input]; !strings.Contains(got, "white space, a control character or invalid UTF-8") {
					t.Errorf("problem for %s = %q; want it refused", tt.input, got)
				}
				if strings.Contains(err.Error(), head) || strings.Contains(err.Error(), tail) {
					t.Errorf("the error quotes the credential:\n%v", err)
				}
			})
		}
	}
}

func TestParseSpecReadsActionYML(t *testing.T) {
	t.Parallel()
	s := spec(t)
	var names []string
	for _, in := range s.Inputs {
		names = append(names, in.Name)
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description", in.Name)
		}
	}
	want := []string{"api-token", "api-email", "api-key", "zone-id", "zone", "environment-id", "environment", "mode", "purge-type", "targets", "targets-file",
		"changed-since", "changed-files", "github-token", "url-map", "purge-everything-when", "max-changed",
		"batch-size", "max-retries", "timeout", "dry-run", "api-url", "concurrency", "plan",
		"wait-for", "wait-for-text", "verify", "sitemap", "sitemap-since", "verify-urls", "warm", "on-error"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("inputs = %q\nwant     %q (in action.yml's order)", names, want)
	}
	for name, def := range map[string]string{"batch-size": "auto", "max-retries": "5", "timeout": "10m", "dry-run": "false",
		"api-url": cloudflare.DefaultBaseURL, "concurrency": "8", "plan": "", "zone-id": "", "mode": "purge", "nope": "",
		"verify": "none", "warm": "false", "on-error": "fail", "wait-for": ""} {
		if got := s.Default(name); got != def {
			t.Errorf("Default(%q) = %q, want %q", name, got, def)
		}
	}
}

func TestParseSpecRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, yml, want string }{
		{"not YAML", "inputs: [", "action.yml"},
		{"no inputs", "name: x\nruns:\n  using: docker\n", "declares no inputs"},
		{"an input that is not a mapping", "inputs:\n  zone-id: [1, 2]\n", "input zone-id"},
	} {
		if _, err := config.ParseSpec([]byte(tt.yml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

// TestInputsMatchActionYML checks the one table against the struct that
// holds the values: every field of config.Inputs is an input declared in
// action.yml, and every input declared there is a field. (The env tags are
// read here only; production code reads action.yml.)
func TestInputsMatchActionYML(t *testing.T) {
	t.Parallel()
	declared := map[string]bool{}
	for _, in := range spec(t).Inputs {
		declared[in.Name] = true
	}
	fields := map[string]bool{}
	typ := reflect.TypeFor[config.Inputs]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		key, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		if key == "" || opts != "" || f.Type.Kind() != reflect.String {
			t.Errorf("field %s: env tag %q, type %s; want a plain key and a string", f.Name, f.Tag.Get("env"), f.Type)
			continue
		}
		name := config.InputName(key)
		fields[name] = true
		if !declared[name] {
			t.Errorf("field %s (input %s) is not declared in action.yml", f.Name, name)
		}
	}
	for name := range declared {
		if !fields[name] {
			t.Errorf("action.yml declares input %s, which config.Inputs has no field for", name)
		}
	}
}

// The defaults come from the spec that Env carries, not from the code.
func TestLoadTakesDefaultsFromTheSpec(t *testing.T) {
	t.Parallel()
	s := spec(t)
	s.Inputs = slices.Clone(s.Inputs)
	for i := range s.Inputs {
		switch s.Inputs[i].Name {
		case "concurrency":
			s.Inputs[i].Default = "3"
		case "timeout":
			s.Inputs[i].Default = "42s"
		}
	}
	cfg, _, err := loadAll(nil, config.Env{Getenv: env(base(), nil), Spec: s, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Concurrency != 3 || cfg.Timeout != 42*time.Second {
		t.Errorf("concurrency %d, timeout %v; want the spec's defaults 3 and 42s", cfg.Concurrency, cfg.Timeout)
	}
}

func TestLoadReturnsTheInputsEvenWhenInvalid(t *testing.T) {
	t.Parallel()
	_, in, err := loadAll(nil, config.Env{Getenv: env(with(base(), "zone-id", "a/b"), nil), Spec: spec(t), WorkDir: t.TempDir()})
	if err == nil {
		t.Fatal("a bad zone-id was accepted")
	}
	if in.APIToken != "tok" || in.ZoneID != "a/b" || in.Timeout != "10m" {
		t.Errorf("inputs = %+v; want them as read, defaults applied", in)
	}
	if got := in.Secrets(env(nil, map[string]string{"CLOUDFLARE_API_TOKEN": " envtok "})); !reflect.DeepEqual(got, []string{"tok", "envtok"}) {
		t.Errorf("Secrets = %q", got)
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
	link := func(to, name string) {
		t.Helper()
		if err := os.Symlink(to, filepath.Join(ws, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(ws, "purge/urls.txt", "\uFEFFhttps://a.example/1\r\nhttps://a.example/2\r\n")
	write(outside, "secret.txt", "https://a.example/3\n")
	link(filepath.Join(outside, "secret.txt"), "escape.txt")
	link("purge/urls.txt", "inside-link.txt")
	link("loop-b", "loop-a")
	link("loop-a", "loop-b")
	write(ws, "big.txt", "")
	if err := os.Truncate(filepath.Join(ws, "big.txt"), 64<<20+1); err != nil { // sparse: no 64 MiB written
		t.Fatal(err)
	}
	write(ws, "bad.txt", "https://a.example/ok\nnot a url\n")
	files := func(kv ...string) map[string]string {
		return with(base(), append([]string{"purge-type", "files", "targets", ""}, kv...)...)
	}
	inWorkspace := map[string]string{"GITHUB_WORKSPACE": ws}

	t.Run("read from the workspace, added to targets", func(t *testing.T) {
		t.Parallel()
		cfg, err := load(t, with(files("targets-file", "purge/urls.txt"), "targets", "https://a.example/0\nhttps://a.example/1"), inWorkspace, "")
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
	for _, tt := range []struct{ name, file string }{
		{"symlink inside the workspace", "inside-link.txt"},
		{"absolute path inside the workspace", filepath.Join(ws, "purge", "urls.txt")},
		{"dot-dot that stays inside", "purge/../purge/urls.txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := load(t, files("targets-file", tt.file), inWorkspace, ""); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("workdir when not in Actions", func(t *testing.T) {
		t.Parallel()
		if _, err := load(t, files("targets-file", "purge/urls.txt"), nil, ws); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range []struct{ name, file, want string }{
		{"missing", "nope.txt", `"nope.txt" does not exist; want a file inside the workspace`},
		{"folder", "purge", `"purge" is not a regular file but a folder`},
		{"symlink outside", "escape.txt", `"escape.txt" lies outside the workspace`},
		{"dot-dot", "../" + filepath.Base(outside) + "/secret.txt", "lies outside the workspace"},
		{"absolute outside", filepath.Join(outside, "secret.txt"), "lies outside the workspace"},
		{"symlink loop", "loop-a", `"loop-a" is a symbolic link loop`},
		{"over 64 MiB", "big.txt", `"big.txt" is 67108865 bytes, larger than the 67108864 read`},
		{"bad lines", "bad.txt", "1 bad target(s): line 2: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, files("targets-file", tt.file), inWorkspace, "")
			if got := problems(t, err)["targets-file"]; !strings.Contains(got, tt.want) {
				t.Errorf("targets-file problem = %q, want %q", got, tt.want)
			}
			if strings.Contains(err.Error(), "a.example/3") {
				t.Errorf("the error shows what the file outside holds: %v", err)
			}
		})
	}
}

// A named pipe is refused at once: opening it for reading must not wait
// for a writer that never comes.
func TestTargetsFileRefusesANamedPipeAtOnce(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(ws, "pipe"), 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	inputs := with(base(), "purge-type", "files", "targets", "", "targets-file", "pipe")
	done := make(chan error, 1)
	go func() {
		_, _, err := loadAll(nil, config.Env{Getenv: env(inputs, map[string]string{"GITHUB_WORKSPACE": ws}), Spec: spec(t), WorkDir: ws})
		done <- err
	}()
	select {
	case err := <-done:
		if got := problems(t, err)["targets-file"]; !strings.Contains(got, `"pipe" is not a regular file but a named pipe`) {
			t.Errorf("targets-file problem = %q, want it refused as a named pipe", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Load still waits on the named pipe after 20s")
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	var usage strings.Builder
	flags, err := config.ParseFlags([]string{"--dry-run", "--zone-id", "z1", "--purge-type=tags", "--targets", "a,b"}, spec(t), &usage)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dry-run": "true", "zone-id": "z1", "purge-type": "tags", "targets": "a,b"}
	if !reflect.DeepEqual(flags, want) {
		t.Fatalf("flags = %v, want %v", flags, want)
	}
	if usage.Len() != 0 {
		t.Errorf("usage printed without --help: %q", usage.String())
	}
	// Flags win over inputs.
	cfg, _, err := loadAll(flags, config.Env{Getenv: env(with(base(), "zone-id", "other"), nil), Spec: spec(t), WorkDir: t.TempDir()})
	if err != nil || !slices.Equal(cfg.ZoneIDs, ids("z1")) || !cfg.DryRun {
		t.Fatalf("Load = %+v, %v", cfg, err)
	}
}

// The boolean input takes its value in every form a person types.
func TestParseFlagsDryRunForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		value  string
		dryRun bool
	}{
		{"--dry-run false", []string{"--zone-id", "z1", "--dry-run", "false"}, "false", false},
		{"--dry-run=false", []string{"--zone-id", "z1", "--dry-run=false"}, "false", false},
		{"--dry-run alone", []string{"--dry-run", "--zone-id", "z1"}, "true", true},
		{"--dry-run alone last", []string{"--zone-id", "z1", "--dry-run"}, "true", true},
		{"--dry-run true", []string{"--dry-run", "true", "--zone-id", "z1"}, "true", true},
		{"--dry-run=true", []string{"--dry-run=true", "--zone-id", "z1"}, "true", true},
		{"-dry-run FALSE", []string{"-dry-run", "FALSE", "--zone-id", "z1"}, "FALSE", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			flags, err := config.ParseFlags(tt.args, spec(t), &strings.Builder{})
			if err != nil {
				t.Fatalf("ParseFlags(%q): %v", tt.args, err)
			}
			if flags["dry-run"] != tt.value || flags["zone-id"] != "z1" {
				t.Fatalf("flags = %v, want dry-run %q and zone-id z1", flags, tt.value)
			}
			cfg, _, err := loadAll(flags, config.Env{Getenv: env(base(), nil), Spec: spec(t), WorkDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DryRun != tt.dryRun {
				t.Errorf("DryRun = %v, want %v", cfg.DryRun, tt.dryRun)
			}
		})
	}
}

func TestParseFlagsRejects(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--nope", "x"},
		{"--zone-id"},                    // no value
		{"--dry-run=true", "false"},      // the value was given already
		{"--targets", "a", "true"},       // targets is not boolean
		{"--zone-id", "z", "--", "more"}, // nothing after --
	} {
		flags, err := config.ParseFlags(args, spec(t), &strings.Builder{})
		if err == nil || errors.Is(err, config.ErrHelp) {
			t.Errorf("ParseFlags(%q) = %v, %v; want an error", args, flags, err)
		}
	}
}

func TestParseFlagsHelpListsEveryInput(t *testing.T) {
	t.Parallel()
	var usage strings.Builder
	if _, err := config.ParseFlags([]string{"--help"}, spec(t), &usage); !errors.Is(err, config.ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	help := usage.String()
	for _, in := range spec(t).Inputs {
		arg := " value"
		if in.Name == "dry-run" || in.Name == "warm" {
			arg = " [true|false]"
		}
		if !strings.Contains(help, "  --"+in.Name+arg+"\n") {
			t.Errorf("--help does not list --%s%s", in.Name, arg)
		}
		// The description, folded to one line as the usage prints it.
		desc := strings.Join(strings.Fields(in.Description), " ")
		if !strings.Contains(help, desc) {
			t.Errorf("--help does not give the description of --%s: %q", in.Name, desc)
		}
		if in.Default != "" && !strings.Contains(help, desc+" (default "+in.Default+")") {
			t.Errorf("--help does not give the default of --%s (%s)", in.Name, in.Default)
		}
	}
}

func TestParseFlagsRejectsPositionalWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	_, err := config.ParseFlags([]string{"--zone-id", "z", "my-secret-token"}, spec(t), &strings.Builder{})
	if err == nil || strings.Contains(err.Error(), "my-secret-token") {
		t.Fatalf("err = %v", err)
	}
}

// ids parses IDs written in a test.
func ids(ss ...string) []cloudflare.ID {
	out := make([]cloudflare.ID, len(ss))
	for i, s := range ss {
		out[i] = cloudflare.MustParseID(s)
	}
	return out
}
