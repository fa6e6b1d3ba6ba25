// Package config turns the action's inputs (or the same names as
// command-line flags) into a validated Config. Every problem names its
// input and says what a valid value looks like, and all of them are
// reported together, before any request is sent.
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// Limits on what the inputs may hold.
const (
	// maxInputBytes is Linux's cap on one environment variable
	// (MAX_ARG_STRLEN): the runner cannot pass a longer input, so a longer
	// one (possible only from a flag) is refused the same way.
	maxInputBytes = 128 << 10
	// maxTargetsFileBytes bounds the targets file: 64 MiB is about a
	// million URLs, far past what one deploy purges.
	maxTargetsFileBytes = 64 << 20
	maxRetriesLimit     = 100
	maxConcurrency      = 64
	maxIDLength         = 32
	// maxListedLines is how many bad target lines one message lists.
	maxListedLines = 10
)

// Config is a validated configuration: everything needed to plan and send
// the purge.
type Config struct {
	Credentials   cloudflare.Credentials
	ZoneID        string
	EnvironmentID string
	PurgeType     cloudflare.PurgeType
	Targets       []cloudflare.Target
	BatchSize     int
	MaxRetries    int
	Timeout       time.Duration
	DryRun        bool
	APIURL        string
	Concurrency   int
	Plan          cloudflare.Plan
}

// Secrets returns the values that must never be printed: the token and the
// Global API Key.
func (in Inputs) Secrets(getenv func(string) string) []string {
	var out []string
	for _, s := range []string{in.APIToken, in.APIKey, getenv("CLOUDFLARE_API_TOKEN")} {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Problem is one invalid input.
type Problem struct {
	Input   string
	Message string
}

// InvalidError lists every invalid input.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = fmt.Sprintf("input %s: %s", p.Input, p.Message)
	}
	return strings.Join(msgs, "\n")
}

// Env is what validation reads from outside the inputs.
type Env struct {
	Getenv func(string) string
	// WorkDir is where targets-file is resolved when GITHUB_WORKSPACE is
	// not set (a local run): the current directory.
	WorkDir string
}

// Validate checks every input and builds the Config. The error, if any,
// is an *InvalidError naming each bad input.
func Validate(in Inputs, env Env) (*Config, error) {
	v := &validator{}
	cfg := &Config{
		ZoneID:        v.id("zone-id", in.ZoneID, true),
		EnvironmentID: v.id("environment-id", in.EnvironmentID, false),
		PurgeType:     v.purgeType(in.PurgeType),
		MaxRetries:    v.intRange("max-retries", in.MaxRetries, 0, maxRetriesLimit),
		Timeout:       v.timeout(in.Timeout),
		DryRun:        v.boolean("dry-run", in.DryRun),
		APIURL:        v.apiURL(in.APIURL),
		Concurrency:   v.intRange("concurrency", in.Concurrency, 1, maxConcurrency),
		Plan:          v.plan(in.Plan),
	}
	cfg.Credentials = v.credentials(in, env.Getenv, cfg.DryRun)
	cfg.BatchSize = v.batchSize(in.BatchSize, cfg.PurgeType, cfg.Plan)
	cfg.Targets = v.targets(in, env, cfg.PurgeType)
	if len(v.problems) == 0 {
		v.timeBudget(cfg)
	}
	if len(v.problems) > 0 {
		return nil, &InvalidError{Problems: v.problems}
	}
	return cfg, nil
}

type validator struct{ problems []Problem }

func (v *validator) add(input, format string, args ...any) {
	v.problems = append(v.problems, Problem{Input: input, Message: fmt.Sprintf(format, args...)})
}

// id checks a zone or environment ID. Only letters and digits are
// allowed, so that nothing (/, .., %, spaces) can change the request path.
func (v *validator) id(input, s string, required bool) string {
	const want = "1-32 letters and digits, like 023e105f4ecef8ad9ca31a8372d0c353"
	switch {
	case s == "" && required:
		v.add(input, "is required; want %s", want)
	case len(s) > maxIDLength:
		v.add(input, "is %d characters long; want %s", len(s), want)
	default:
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				v.add(input, "has %q, which an ID cannot hold; want %s", r, want)
				break
			}
		}
	}
	return s
}

// purgeType accepts the names in any case ("Files"): the meaning is
// unambiguous and a workflow author should not fail a deploy over it.
func (v *validator) purgeType(s string) cloudflare.PurgeType {
	const want = "one of everything, files, tags, hosts, prefixes"
	if s == "" {
		v.add("purge-type", "is required; want %s", want)
		return ""
	}
	if t := cloudflare.PurgeType(strings.ToLower(s)); slices.Contains(cloudflare.PurgeTypes, t) {
		return t
	}
	v.add("purge-type", "%s is not a purge type; want %s", targets.Quote(s), want)
	return ""
}

func (v *validator) plan(s string) cloudflare.Plan {
	if p := cloudflare.Plan(strings.ToLower(s)); p == cloudflare.PlanUnknown || slices.Contains(cloudflare.Plans, p) {
		return p
	}
	v.add("plan", "%s is not a plan; want free, pro, business, enterprise, or empty when unknown", targets.Quote(s))
	return cloudflare.PlanUnknown
}

func (v *validator) intRange(input, s string, lo, hi int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		v.add(input, "%s is not a whole number from %d to %d", targets.Quote(s), lo, hi)
		return lo
	}
	return n
}

func (v *validator) boolean(input, s string) bool {
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false", "":
		return false
	}
	v.add(input, "%s is not true or false", targets.Quote(s))
	return false
}

func (v *validator) timeout(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		v.add("timeout", "%s is not a positive Go duration; want e.g. 10m, 90s or 1h30m", targets.Quote(s))
		return 0
	}
	return d
}

// timeBudget refuses a timeout the purge cannot finish in, before anything
// is sent: past about a thousand requests, Cloudflare's global API limit
// makes every further lot wait five minutes, so a big purge with a short
// timeout would purge the first part and fail the rest.
func (v *validator) timeBudget(cfg *Config) {
	requests := purge.Requests(cfg.PurgeType, len(cfg.Targets), cfg.BatchSize)
	least := purge.LeastDuration(requests)
	if least == 0 || least < cfg.Timeout {
		return
	}
	v.add("timeout", "%s is too short: %d targets at %d a request are %d requests, which take at least %s under %s; want a timeout over %s (e.g. %s), or a larger batch-size",
		minutes(cfg.Timeout), len(cfg.Targets), cfg.BatchSize, requests, minutes(least),
		purge.APILimitText, minutes(least), minutes(least+cloudflare.APIRequestWindow))
}

// minutes prints a duration without a trailing "0s" (10m, not 10m0s).
func minutes(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

// apiURL allows plain http:// only to loopback hosts (tests, local
// proxies): anywhere else it would send the token in clear text.
func (v *validator) apiURL(s string) string {
	const want = "an https:// URL like " + cloudflare.DefaultBaseURL
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http"):
		// Hostname, not Host: "https://:" has a Host (":") but no host.
		v.add("api-url", "%s is not %s", targets.Quote(s), want)
	case u.User != nil || strings.ContainsAny(s, "?#"):
		// ContainsAny, not u.RawQuery and u.Fragment: a bare trailing ?
		// or # leaves both empty, yet the request path appended to the
		// base URL would land in the query or fragment.
		v.add("api-url", "must not hold credentials, a query or a fragment; want %s", want)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		v.add("api-url", "%s uses plain http:// to a host that is not loopback, which would send the token in clear text; want %s", targets.Quote(s), want)
	default:
		return strings.TrimRight(s, "/")
	}
	return ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentials picks the one way to authenticate. CLOUDFLARE_API_TOKEN is
// only a fallback when no credential input is set at all: inputs given in
// the step win over a variable set for the whole job.
func (v *validator) credentials(in Inputs, getenv func(string) string, dryRun bool) cloudflare.Credentials {
	c := cloudflare.Credentials{Token: in.APIToken, Email: in.APIEmail, Key: in.APIKey}
	if c.Token == "" && c.Email == "" && c.Key == "" {
		c.Token = strings.TrimSpace(getenv("CLOUDFLARE_API_TOKEN"))
	}
	const how = "give api-token (or set CLOUDFLARE_API_TOKEN), or both api-email and api-key"
	switch {
	case c.Token != "" && (c.Key != "" || c.Email != ""):
		v.add("api-token", "is given together with api-email/api-key; use one way to authenticate: %s", how)
	case c.Email != "" && c.Key == "":
		v.add("api-key", "is empty while api-email is set; %s", how)
	case c.Key != "" && c.Email == "":
		v.add("api-email", "is empty while api-key is set; %s", how)
	case c.Token == "" && c.Key == "" && !dryRun:
		v.add("api-token", "no credentials: %s", how)
	}
	// The secret itself is never quoted: only where it is bad.
	for _, s := range []struct{ input, secret string }{{"api-token", c.Token}, {"api-key", c.Key}} {
		if strings.ContainsFunc(s.secret, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			v.add(s.input, "contains white space or a control character; paste the value without line breaks")
		}
	}
	if strings.ContainsAny(c.Email, "\r\n\x00") {
		v.add("api-email", "contains a line break or NUL; want an email address like ops@example.com")
	}
	return c
}

func (v *validator) batchSize(s string, typ cloudflare.PurgeType, plan cloudflare.Plan) int {
	auto := plan.Limits().BatchSize(typ)
	if s == "" || strings.EqualFold(s, "auto") {
		return auto
	}
	hi := cloudflare.MaxBatchSize(typ)
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > hi {
		v.add("batch-size", "%s is not auto or a whole number from 1 to %d (the API's most %s in one request)", targets.Quote(s), hi, itemNoun(typ))
		return auto
	}
	return n
}

func itemNoun(typ cloudflare.PurgeType) string {
	switch typ {
	case cloudflare.Files:
		return "URLs"
	case cloudflare.Everything, "":
		return "items"
	}
	return string(typ)
}

func (v *validator) targets(in Inputs, env Env, typ cloudflare.PurgeType) []cloudflare.Target {
	if typ == "" {
		return nil // purge-type is already reported
	}
	if typ == cloudflare.Everything {
		if in.Targets != "" || in.TargetsFile != "" {
			v.add(targetsInput(in), "must be empty when purge-type is everything, which purges the whole cache")
		}
		return nil
	}
	list := targets.NewList(typ)
	if len(in.Targets) > maxInputBytes {
		v.add("targets", "is %d bytes; an input can hold at most %d (Linux's limit on one environment variable): put long lists in targets-file", len(in.Targets), maxInputBytes)
	} else {
		v.lines("targets", list.Add(in.Targets))
	}
	if in.TargetsFile != "" {
		if text, ok := v.readTargetsFile(in.TargetsFile, env); ok {
			v.lines("targets-file", list.Add(text))
		}
	}
	if len(list.Targets()) == 0 && !v.has("targets") && !v.has("targets-file") {
		v.add("targets", "no targets for purge-type %s; give one %s a line in targets or targets-file", typ, exampleTarget(typ))
	}
	return list.Targets()
}

func targetsInput(in Inputs) string {
	if in.Targets == "" {
		return "targets-file"
	}
	return "targets"
}

func exampleTarget(typ cloudflare.PurgeType) string {
	switch typ {
	case cloudflare.Files:
		return "URL (https://www.example.com/index.html)"
	case cloudflare.Tags:
		return "cache tag (blog-posts)"
	case cloudflare.Hosts:
		return "host name (www.example.com)"
	}
	return "prefix (www.example.com/images)"
}

func (v *validator) has(input string) bool {
	return slices.ContainsFunc(v.problems, func(p Problem) bool { return p.Input == input })
}

func (v *validator) lines(input string, errs []targets.LineError) {
	if len(errs) == 0 {
		return
	}
	msgs := make([]string, 0, maxListedLines+1)
	for i, e := range errs {
		if i == maxListedLines {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(errs)-maxListedLines))
			break
		}
		msgs = append(msgs, e.Error())
	}
	v.add(input, "%d bad target(s): %s", len(errs), strings.Join(msgs, "; "))
}

// readTargetsFile reads the file, which must be a regular file inside the
// workspace once every symlink is resolved: a workflow must not be able to
// make the action read (and print, in error messages) files elsewhere.
func (v *validator) readTargetsFile(name string, env Env) (string, bool) {
	workspace := env.Getenv("GITHUB_WORKSPACE")
	if workspace == "" {
		workspace = env.WorkDir
	}
	const want = "a file inside the workspace, given relative to it (like purge/urls.txt)"
	root, err := filepath.EvalSymlinks(workspace)
	if err != nil {
		v.add("targets-file", "cannot resolve the workspace folder: %v", err)
		return "", false
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(workspace, path)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			v.add("targets-file", "%s does not exist; want %s", targets.Quote(name), want)
		} else {
			v.add("targets-file", "%s cannot be read (%v); want %s", targets.Quote(name), errors.Unwrap(err), want)
		}
		return "", false
	}
	if rel, err := filepath.Rel(root, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		v.add("targets-file", "%s lies outside the workspace; want %s", targets.Quote(name), want)
		return "", false
	}
	f, err := os.Open(resolved)
	if err != nil {
		v.add("targets-file", "%s cannot be opened (%v); want %s", targets.Quote(name), errors.Unwrap(err), want)
		return "", false
	}
	defer f.Close()
	info, err := f.Stat()
	switch {
	case err != nil:
		v.add("targets-file", "%s cannot be read; want %s", targets.Quote(name), want)
		return "", false
	case !info.Mode().IsRegular():
		v.add("targets-file", "%s is not a regular file (a folder?); want %s", targets.Quote(name), want)
		return "", false
	case info.Size() > maxTargetsFileBytes:
		v.add("targets-file", "%s is %d bytes; at most %d are read", targets.Quote(name), info.Size(), maxTargetsFileBytes)
		return "", false
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTargetsFileBytes))
	if err != nil {
		v.add("targets-file", "%s cannot be read (%v)", targets.Quote(name), err)
		return "", false
	}
	return string(data), true
}

// Load reads and validates the configuration: flags first, then the
// runner's inputs, then defaults. It prints nothing, and returns the
// inputs as read even when they are invalid, so the caller can mask the
// secrets among them before it reports anything.
func Load(ctx context.Context, flags map[string]string, env Env) (*Config, Inputs, error) {
	in, err := ReadInputs(ctx, flags, env.Getenv)
	if err != nil {
		return nil, in, fmt.Errorf("reading inputs: %w", err)
	}
	cfg, err := Validate(in, env)
	return cfg, in, err
}
