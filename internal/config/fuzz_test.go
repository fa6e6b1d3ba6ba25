package config_test

import (
	"errors"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
)

// Markers that begin the fuzzed secrets: text no input would hold unless
// a message quoted the secret.
const (
	fuzzTokenMarker    = "TOKENMARK7q"
	fuzzKeyMarker      = "KEYMARK7q"
	fuzzEnvTokenMarker = "ENVTOKMARK7q"
	// fuzzOutsideMarker is in a file outside the workspace, which
	// targets-file must never read, and so never list in a message.
	fuzzOutsideMarker = "outsidemark7q"
)

var fuzzIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

// fuzzWorkspace lays out a workspace with a targets file for each purge
// type, a folder, a symlink inside and one to a file outside it.
func fuzzWorkspace(f *testing.F) string {
	root := f.TempDir()
	ws := filepath.Join(root, "ws")
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	write(filepath.Join(ws, "urls.txt"), "https://inside.example/a\n")
	write(filepath.Join(ws, "purge", "names.txt"), "inside.example\n")
	write(filepath.Join(root, "outside", "secret.txt"), fuzzOutsideMarker+".example\nhttps://"+fuzzOutsideMarker+".example/x\n")
	for link, to := range map[string]string{"escape.txt": "../outside/secret.txt", "inside-link.txt": "urls.txt"} {
		if err := os.Symlink(to, filepath.Join(ws, link)); err != nil {
			f.Fatal(err)
		}
	}
	return ws
}

// FuzzValidate feeds arbitrary inputs to Validate and checks properties,
// not the rules again (the table tests pin those): it does not panic; it
// returns either a Config or a *problem.Error whose every problem names an
// input action.yml declares; no message quotes the token or key, or
// anything read from outside the workspace; and a Config holds only what
// is safe to use: IDs of 1-32 letters and digits, which cannot change the
// request path, and an endpoint that is https, or plain http to loopback.
func FuzzValidate(f *testing.F) {
	ws := fuzzWorkspace(f)
	type seed struct {
		zone, env, typ, targets, file, batch, retries, timeout, dryRun, apiURL, concurrency, plan, email string
		token, key, envToken                                                                             string
		hasToken, hasKey, hasEnvToken                                                                    bool
	}
	ok := seed{zone: "023e105f4ecef8ad9ca31a8372d0c353", typ: "tags", targets: "a", batch: "auto", retries: "5", timeout: "10m",
		dryRun: "false", apiURL: cloudflare.DefaultBaseURL, concurrency: "8", token: "x", hasToken: true}
	seedWith := func(change func(*seed)) seed { s := ok; change(&s); return s }
	for _, s := range []seed{
		ok,
		seedWith(func(s *seed) {
			s.env = "a1B2"
			s.typ = "Files"
			s.targets = "https://a.example/"
			s.plan = "Enterprise"
			s.batch = "500"
		}),
		seedWith(func(s *seed) { s.typ = "everything"; s.targets = "" }),
		seedWith(func(s *seed) { s.typ = "hosts"; s.targets = ""; s.file = "purge/names.txt" }),
		seedWith(func(s *seed) { s.typ = "files"; s.targets = ""; s.file = "inside-link.txt" }),
		seedWith(func(s *seed) { s.typ = "tags"; s.targets = ""; s.file = "escape.txt" }),
		seedWith(func(s *seed) { s.typ = "tags"; s.targets = ""; s.file = "../outside/secret.txt" }),
		seedWith(func(s *seed) { s.typ = "prefixes"; s.targets = "www.example.com/images"; s.file = "purge" }),
		seedWith(func(s *seed) { s.hasToken = false; s.dryRun = "TRUE" }),
		seedWith(func(s *seed) { s.hasToken = false; s.hasEnvToken = true; s.envToken = "e" }),
		seedWith(func(s *seed) { s.hasToken = false; s.hasKey = true; s.key = "k"; s.email = "ops@example.com" }),
		seedWith(func(s *seed) { s.hasKey = true; s.key = "k\n"; s.email = "a\r\nb"; s.token = "x y" }),
		seedWith(func(s *seed) { s.apiURL = "http://127.0.0.1:8080/client/v4/"; s.plan = "free" }),
		seedWith(func(s *seed) { s.apiURL = "http://[::1]:9/x"; s.concurrency = "64"; s.retries = "0" }),
		seedWith(func(s *seed) { s.apiURL = "http://example.com/client/v4"; s.timeout = "0s"; s.batch = "101" }),
		seedWith(func(s *seed) { s.apiURL = "https://user:pw@example.com/?q#f"; s.concurrency = "0"; s.retries = "-1" }),
		seedWith(func(s *seed) { s.apiURL = "http://localhost./x"; s.env = "" }),
		seedWith(func(s *seed) { s.apiURL = "http://[::ffff:127.0.0.1]/x" }),
		seedWith(func(s *seed) { s.zone = "../x"; s.env = strings.Repeat("a", 33); s.typ = "everything"; s.targets = "a" }),
		seedWith(func(s *seed) { s.typ = "purge"; s.plan = "gold"; s.dryRun = "yes"; s.timeout = "1h30m" }),
	} {
		f.Add(s.zone, s.env, s.typ, s.targets, s.file, s.batch, s.retries, s.timeout, s.dryRun, s.apiURL, s.concurrency, s.plan, s.email,
			s.token, s.key, s.envToken, s.hasToken, s.hasKey, s.hasEnvToken)
	}
	known := map[string]bool{}
	inputs := spec(f)
	for _, in := range inputs.Inputs {
		known[in.Name] = true
	}
	f.Fuzz(func(t *testing.T, zone, envID, typ, targets, file, batch, retries, timeout, dryRun, apiURL, concurrency, plan, email string,
		token, key, envToken string, hasToken, hasKey, hasEnvToken bool) {
		in := config.Inputs{
			ZoneID: zone, EnvironmentID: envID, PurgeType: typ, Targets: targets, TargetsFile: file,
			BatchSize: batch, MaxRetries: retries, Timeout: timeout, DryRun: dryRun, APIURL: apiURL,
			Concurrency: concurrency, Plan: plan, APIEmail: email,
		}
		var secrets []string
		if hasToken {
			in.APIToken = fuzzTokenMarker + token
			secrets = append(secrets, in.APIToken)
		}
		if hasKey {
			in.APIKey = fuzzKeyMarker + key
			secrets = append(secrets, in.APIKey)
		}
		getenv := func(name string) string {
			switch {
			case name == "GITHUB_WORKSPACE":
				return ws
			case name == "CLOUDFLARE_API_TOKEN" && hasEnvToken:
				return fuzzEnvTokenMarker + envToken
			}
			return ""
		}
		if hasEnvToken {
			secrets = append(secrets, fuzzEnvTokenMarker+envToken)
		}

		cfg, err := config.Validate(in, config.Env{Getenv: getenv, Spec: inputs, WorkDir: ws})

		// Texts a message may fairly repeat: every input but the secrets.
		public := strings.Join([]string{zone, envID, typ, targets, file, batch, retries, timeout, dryRun, apiURL, concurrency, plan, email}, "\x00")
		if err != nil {
			if cfg != nil {
				t.Errorf("Validate returned both a Config and an error: %v", err)
			}
			invalid, ok := errors.AsType[*problem.Error](err)
			if !ok || len(invalid.Problems) == 0 {
				t.Fatalf("error %q (%T) is not a *problem.Error with problems", err, err)
			}
			for _, p := range invalid.Problems {
				if !known[p.Input] {
					t.Errorf("problem names input %q, which the action does not have: %s", p.Input, p.Message)
				}
				if strings.ContainsFunc(p.Message, unicode.IsControl) {
					t.Errorf("input %s: message %q holds a control character", p.Input, p.Message)
				}
			}
			checkNotQuoted(t, err.Error(), public, secrets)
			return
		}
		if cfg == nil {
			t.Fatal("Validate returned neither a Config nor an error")
		}
		checkConfig(t, cfg, public)
	})
}

// checkNotQuoted fails when a message holds a secret, a secret's marker
// or text from outside the workspace, unless a public input holds it too.
func checkNotQuoted(t *testing.T, msg, public string, secrets []string) {
	t.Helper()
	for _, s := range append([]string{fuzzTokenMarker, fuzzKeyMarker, fuzzEnvTokenMarker, fuzzOutsideMarker}, secrets...) {
		if strings.Contains(msg, s) && !strings.Contains(public, s) {
			t.Errorf("error message holds %q:\n%s", s, msg)
		}
	}
}

func checkConfig(t *testing.T, cfg *config.Config, public string) {
	t.Helper()
	if cfg.Zones() == 0 {
		t.Error("no zone")
	}
	for _, id := range cfg.ZoneIDs {
		if !fuzzIDPattern.MatchString(id.String()) {
			t.Errorf("zone ID %q is not 1-32 letters and digits", id)
		}
	}
	if !cfg.EnvironmentID.IsZero() && !fuzzIDPattern.MatchString(cfg.EnvironmentID.String()) {
		t.Errorf("environment ID %q is not 1-32 letters and digits", cfg.EnvironmentID)
	}
	if !slices.Contains(cloudflare.PurgeTypes, cfg.PurgeType) {
		t.Errorf("purge type %q is not one of the API's", cfg.PurgeType)
	}
	if hi := cloudflare.MaxBatchSize(cfg.PurgeType); cfg.BatchSize < 1 || cfg.BatchSize > hi {
		t.Errorf("batch size %d for %s is not within 1..%d, what the API takes", cfg.BatchSize, cfg.PurgeType, hi)
	}
	if cfg.Timeout <= 0 || cfg.MaxRetries < 0 || cfg.Concurrency < 1 {
		t.Errorf("timeout %v, max retries %d, concurrency %d: a run could not proceed", cfg.Timeout, cfg.MaxRetries, cfg.Concurrency)
	}
	if (cfg.PurgeType == cloudflare.Everything) != (len(cfg.Targets) == 0) {
		t.Errorf("%d targets for purge type %s", len(cfg.Targets), cfg.PurgeType)
	}
	for _, tg := range cfg.Targets {
		if strings.Contains(tg.Value, fuzzOutsideMarker) && !strings.Contains(public, fuzzOutsideMarker) {
			t.Errorf("target %q was read from outside the workspace", tg.Value)
		}
	}
	c := cfg.Credentials
	if c.Token == "" && c.Key == "" && !cfg.DryRun {
		t.Error("no credentials, and not a dry run")
	}
	for _, secret := range []string{c.Token, c.Key} {
		if strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Error("a secret holds white space or a control character, which cannot go into a header")
		}
	}
	if strings.ContainsAny(c.Email, "\r\n\x00") {
		t.Errorf("email %q holds a line break or NUL, which cannot go into a header", c.Email)
	}
	checkEndpoint(t, cfg)
}

// checkEndpoint reads the URL the token is sent to, as the client builds
// it: https, or http to a loopback address; and the purge path, not a
// query or fragment that swallowed it.
func checkEndpoint(t *testing.T, cfg *config.Config) {
	t.Helper()
	zoneID := cloudflare.MustParseID("023e105f4ecef8ad9ca31a8372d0c353") // a name would be looked up first
	if len(cfg.ZoneIDs) > 0 {
		zoneID = cfg.ZoneIDs[0]
	}
	scopes := []cloudflare.Scope{cloudflare.ZoneScope(zoneID)}
	if !cfg.EnvironmentID.IsZero() {
		scopes = append(scopes, cloudflare.EnvironmentScope(zoneID, cfg.EnvironmentID))
	}
	for _, scope := range scopes {
		endpoint, err := cloudflare.Endpoint(cfg.APIURL, scope, cfg.Operation)
		if err != nil {
			t.Errorf("no endpoint for %v: %v", scope, err)
			continue
		}
		u, err := url.Parse(endpoint)
		if err != nil {
			t.Errorf("api-url %q gives endpoint %q, which does not parse: %v", cfg.APIURL, endpoint, err)
			continue
		}
		switch {
		case u.Hostname() == "":
			t.Errorf("api-url %q gives endpoint %q without a host", cfg.APIURL, endpoint)
		case u.Scheme == "https":
		case u.Scheme == "http" && fuzzIsLoopback(u.Hostname()):
		default:
			t.Errorf("api-url %q sends the token to %q: not https, nor http to loopback", cfg.APIURL, endpoint)
		}
		if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || !strings.HasSuffix(u.Path, "/purge_cache") {
			t.Errorf("api-url %q gives endpoint %q, whose path is not the purge path", cfg.APIURL, endpoint)
		}
	}
}

func fuzzIsLoopback(host string) bool {
	if strings.ToLower(host) == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
