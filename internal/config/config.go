// Package config turns the action's inputs (or the same names as
// command-line flags) into a validated Config. Every problem names its
// input and says what a valid value looks like, and all of them are
// reported together, before any request is sent. The inputs' names and
// defaults come from action.yml (Spec).
//
// It checks only what the inputs say, with no request: looking up names,
// checking the answers and routing targets to zones is the next step
// (package resolve).
//
// It knows nothing of scheduling or of the runner: it imports cloudflare
// (types and limits), targets and safetext, never purge or action.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
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
	// maxZones bounds the zones of one step: lookups count against
	// Cloudflare's API limit, whose pacing keeps 60 requests spare.
	maxZones = 50
	// maxEnvironmentName bounds an environment's name.
	maxEnvironmentName = 100
)

// Config is a validated configuration: everything needed to plan and send
// the requests.
type Config struct {
	Credentials cloudflare.Credentials
	// Operation is purge or invalidate (the mode input).
	Operation cloudflare.Operation
	// ZoneIDs and ZoneNames are the zones, in input order, as given: IDs
	// to use as they are, names to look up. At least one in all.
	ZoneIDs   []cloudflare.ID
	ZoneNames []string
	// EnvironmentID or EnvironmentName (to look up) names one environment
	// of the one zone; both empty means the zone itself.
	EnvironmentID   cloudflare.ID
	EnvironmentName string
	PurgeType       cloudflare.PurgeType
	Targets         []cloudflare.Target
	// Sources are the texts the targets were read from, by input name,
	// to find a target's line again for a message.
	Sources     []Source
	BatchSize   int
	MaxRetries  int
	Timeout     time.Duration
	DryRun      bool
	APIURL      string
	Concurrency int
	Plan        cloudflare.Plan
	// The checks around the purge (checks.go): wait for the new build
	// before it, verify and warm after it.
	Checks
	// Changed is set for purge-type changed, whose PurgeType is files
	// until the changes are known.
	Changed *Changed
}

// Source is one text of targets: the targets input or the targets-file.
type Source struct {
	Input string
	Text  string
}

// WantsEnvironment reports whether the inputs ask for one environment
// rather than the zone: then every request must go to an environment
// path, whatever the lookups answer.
func (c *Config) WantsEnvironment() bool {
	return !c.EnvironmentID.IsZero() || c.EnvironmentName != ""
}

// NeedsLookups reports whether the run must ask the API before it
// purges: a zone or environment given by name, or several zones whose
// names route files, hosts or prefixes. One zone-id and no names needs
// none, and so no permission beyond Cache Purge.
func (c *Config) NeedsLookups() bool {
	return len(c.ZoneNames) > 0 || c.EnvironmentName != "" || (c.Zones() > 1 && c.PurgeType.ByHost())
}

// Zones is how many zones the config names, by ID and by name.
func (c *Config) Zones() int { return len(c.ZoneIDs) + len(c.ZoneNames) }

// Secrets returns the values that must never be printed: the token, the
// Global API Key and the GitHub token.
func (in Inputs) Secrets(getenv func(string) string) []string {
	var out []string
	for _, s := range []string{in.APIToken, in.APIKey, getenv("CLOUDFLARE_API_TOKEN"), in.gitHubToken(getenv)} {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Env is what loading reads from outside the inputs.
type Env struct {
	Getenv func(string) string
	// Spec is action.yml's table of inputs, for the defaults.
	Spec Spec
	// WorkDir is where targets-file is resolved when GITHUB_WORKSPACE is
	// not set (a local run): the current directory.
	WorkDir string
}

// Validate checks every input and builds the Config. The error, if any,
// is a *problem.Error of kind Invalid naming each bad input.
func Validate(in Inputs, env Env) (*Config, error) {
	v := &validator{}
	cfg := &Config{
		Operation:       v.mode(in.Mode),
		ZoneIDs:         v.zoneIDs(in.ZoneID),
		ZoneNames:       v.zoneNames(in.Zone),
		EnvironmentID:   v.id("environment-id", in.EnvironmentID),
		EnvironmentName: v.environmentName(in.Environment),
		PurgeType:       v.purgeType(in.PurgeType),
		MaxRetries:      v.intRange("max-retries", in.MaxRetries, 0, maxRetriesLimit),
		Timeout:         v.timeout(in.Timeout),
		DryRun:          v.boolean("dry-run", in.DryRun),
		APIURL:          v.apiURL(in.APIURL),
		Concurrency:     v.intRange("concurrency", in.Concurrency, 1, maxConcurrency),
		Plan:            v.plan(in.Plan),
	}
	cfg.Credentials = v.credentials(in, env.Getenv, cfg.DryRun)
	cfg.BatchSize = v.batchSize(in.BatchSize, cfg.PurgeType, cfg.Plan)
	if isChangedType(in.PurgeType) {
		cfg.Changed = v.changed(in, env)
	} else {
		v.notChanged(in, env.Spec)
		cfg.Targets, cfg.Sources = v.targets(in, env, cfg.PurgeType)
	}
	v.scope(cfg)
	cfg.Checks = v.checks(in, cfg.PurgeType)
	if cfg.NeedsLookups() && cfg.Credentials == (cloudflare.Credentials{}) && !v.has("api-token") {
		v.add("api-token", "is needed to look up zones and environments by name, even in a dry run (lookups only read); give api-token, or give zone-id and environment-id")
	}
	if len(v.problems) > 0 {
		return nil, &problem.Error{Kind: problem.Invalid, Problems: v.problems}
	}
	return cfg, nil
}

type validator struct{ problems []problem.Problem }

func (v *validator) add(input, format string, args ...any) {
	v.problems = append(v.problems, problem.Problem{Input: input, Message: fmt.Sprintf(format, args...)})
}

// idWant says what a valid zone or environment ID looks like.
const idWant = cloudflare.IDRule

// id checks a zone or environment ID by cloudflare.ParseID, the one rule
// that every ID going into a path passes, from an input or an answer.
// Empty is not an error here: the input was not given.
func (v *validator) id(input, s string) cloudflare.ID {
	if s == "" {
		return cloudflare.ID{}
	}
	id, err := cloudflare.ParseID(s)
	if err != nil {
		v.add(input, "%v", err)
	}
	return id
}

// mode accepts purge or invalidate, in any letter case.
func (v *validator) mode(s string) cloudflare.Operation {
	switch strings.ToLower(s) {
	case "purge", "":
		return cloudflare.Purge
	case "invalidate":
		return cloudflare.Invalidate
	}
	v.add("mode", "%s is not a mode; want purge (delete the cached content) or invalidate (mark it stale, to be revalidated with the origin)", safetext.Quote(s))
	return cloudflare.Purge
}

// lines splits a list input: one item a line, blank lines skipped.
func lines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// zoneIDs reads zone-id: one ID a line, repeats dropped.
func (v *validator) zoneIDs(s string) []cloudflare.ID {
	var ids []cloudflare.ID
	for _, line := range lines(s) {
		if id := v.id("zone-id", line); !id.IsZero() && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// zoneNames reads zone: one zone name a line (example.com), repeats
// dropped; names are case-insensitive.
func (v *validator) zoneNames(s string) []string {
	var names []string
	for _, name := range lines(s) {
		name = strings.TrimSuffix(strings.ToLower(name), ".")
		if err := targets.CheckHost(name); err != nil || !strings.Contains(name, ".") {
			v.add("zone", "%s is not a zone name; want a domain like example.com, one a line", safetext.Quote(name))
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

func (v *validator) environmentName(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) }) || utf8.RuneCountInString(s) > maxEnvironmentName || !utf8.ValidString(s) {
		v.add("environment", "%s is not an environment name; want the name the dashboard shows, like staging", safetext.Quote(s))
		return ""
	}
	return s
}

// scope checks the zones and the environment together: at least one
// zone, at most one environment, and an environment only with one zone.
func (v *validator) scope(cfg *Config) {
	switch n := cfg.Zones(); {
	case n == 0 && !v.has("zone-id") && !v.has("zone"):
		v.add("zone-id", "is required: give one zone ID a line in zone-id (%s), or zone names in zone", idWant)
	case n > maxZones:
		v.add("zone-id", "%d zones in one step; at most %d (split the list over several steps)", n, maxZones)
	case n > 1 && cfg.WantsEnvironment():
		input := "environment-id"
		if cfg.EnvironmentName != "" {
			input = "environment"
		}
		v.add(input, "names an environment of one zone, but %d zones are given; purge an environment in a step of its own", n)
	}
	if !cfg.EnvironmentID.IsZero() && cfg.EnvironmentName != "" {
		v.add("environment", "is given together with environment-id; give one of them")
	}
}

// purgeType accepts the names in any case ("Files"): the meaning is
// unambiguous and a workflow author should not fail a deploy over it.
func (v *validator) purgeType(s string) cloudflare.PurgeType {
	const want = "one of everything, files, tags, hosts, prefixes, changed"
	if s == "" {
		v.add("purge-type", "is required; want %s", want)
		return ""
	}
	if isChangedType(s) {
		return cloudflare.Files // until the changes are known
	}
	if t := cloudflare.PurgeType(strings.ToLower(s)); slices.Contains(cloudflare.PurgeTypes, t) {
		return t
	}
	v.add("purge-type", "%s is not a purge type; want %s", safetext.Quote(s), want)
	return ""
}

func (v *validator) plan(s string) cloudflare.Plan {
	if p := cloudflare.Plan(strings.ToLower(s)); p == cloudflare.PlanUnknown || slices.Contains(cloudflare.Plans, p) {
		return p
	}
	v.add("plan", "%s is not a plan; want free, pro, business, enterprise, or empty when unknown", safetext.Quote(s))
	return cloudflare.PlanUnknown
}

func (v *validator) intRange(input, s string, lo, hi int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		v.add(input, "%s is not a whole number from %d to %d", safetext.Quote(s), lo, hi)
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
	v.add(input, "%s is not true or false", safetext.Quote(s))
	return false
}

func (v *validator) timeout(s string) time.Duration {
	d, ok := ParseTimeout(s)
	if !ok {
		v.add("timeout", "%s is not a positive Go duration; want e.g. 10m, 90s or 1h30m", safetext.Quote(s))
	}
	return d
}

// ParseTimeout reads the timeout input: a positive Go duration. The run
// needs it before validation, to bound reading targets-file; validation
// reports it when it is not one.
func ParseTimeout(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// apiURL checks api-url, where the Cloudflare token is sent.
func (v *validator) apiURL(s string) string {
	if problem := tokenURLProblem(s); problem != "" {
		v.add("api-url", "%s %s; want an https:// URL like %s", safetext.Quote(s), problem, cloudflare.DefaultBaseURL)
		return ""
	}
	return strings.TrimRight(s, "/")
}

// tokenURLProblem says why s cannot be a base URL that a token is sent
// to (api-url, GITHUB_API_URL), or "". Request paths are appended to it,
// and plain http:// is allowed only to loopback hosts (tests, local
// proxies): anywhere else the token would travel in clear text.
func tokenURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http"):
		// Hostname, not Host: "https://:" has a Host (":") but no host.
		return "is not an https:// URL"
	case u.User != nil || strings.ContainsAny(s, "?#"):
		// ContainsAny, not u.RawQuery and u.Fragment: a bare trailing ?
		// or # leaves both empty, yet the request path appended to the
		// base URL would land in the query or fragment.
		return "must not hold credentials, a query or a fragment"
	case u.Scheme == "http" && !targets.IsLoopback(u.Hostname()):
		return "uses plain http:// to a host that is not loopback, which would send the token in clear text"
	}
	return ""
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
		// Any Unicode space or control character (a no-break space, U+2028,
		// C1 controls), not only ASCII ones: none belongs in a credential.
		if strings.ContainsFunc(s.secret, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError }) {
			v.add(s.input, "contains white space, a control character or invalid UTF-8; paste the value alone, without spaces or line breaks")
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
		v.add("batch-size", "%s is not auto or a whole number from 1 to %d (the API's most %s in one request)", safetext.Quote(s), hi, itemNoun(typ))
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

func (v *validator) targets(in Inputs, env Env, typ cloudflare.PurgeType) ([]cloudflare.Target, []Source) {
	if typ == "" {
		return nil, nil // purge-type is already reported
	}
	if typ == cloudflare.Everything {
		if in.Targets != "" || in.TargetsFile != "" {
			v.add(targetsInput(in), "must be empty when purge-type is everything, which purges the whole cache")
		}
		return nil, nil
	}
	var sources []Source
	list := targets.NewList(typ)
	if len(in.Targets) > maxInputBytes {
		v.add("targets", "is %d bytes; an input can hold at most %d (Linux's limit on one environment variable): put long lists in targets-file", len(in.Targets), maxInputBytes)
	} else {
		v.lines("targets", list.Add(in.Targets))
		sources = append(sources, Source{Input: "targets", Text: in.Targets})
	}
	if in.TargetsFile != "" {
		if text, ok := v.readTargetsFile(in.TargetsFile, env); ok {
			v.lines("targets-file", list.Add(text))
			sources = append(sources, Source{Input: "targets-file", Text: text})
		}
	}
	if len(list.Targets()) == 0 && !v.has("targets") && !v.has("targets-file") && !(typ == cloudflare.Files && strings.TrimSpace(in.Sitemap) != "") {
		v.add("targets", "no targets for purge-type %s; give one %s a line in targets or targets-file", typ, exampleTarget(typ))
	}
	return list.Targets(), sources
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
	return slices.ContainsFunc(v.problems, func(p problem.Problem) bool { return p.Input == input })
}

func (v *validator) lines(input string, err error) {
	if err != nil {
		v.add(input, "%v", err)
	}
}

// readTargetsFile reads the file, which must be a regular file inside the
// workspace once every symlink is resolved: a workflow must not be able to
// make the action read (and print, in error messages) files elsewhere.
// os.OpenInRoot enforces that in the open itself, so nothing can swap a
// link between a check and the open.
func (v *validator) readTargetsFile(name string, env Env) (string, bool) {
	workspace := env.Getenv("GITHUB_WORKSPACE")
	if workspace == "" {
		workspace = env.WorkDir
	}
	const want = "a file inside the workspace, given relative to it (like purge/urls.txt)"
	bad := func(format string, args ...any) (string, bool) {
		v.add("targets-file", "%s %s; want %s", safetext.Quote(name), fmt.Sprintf(format, args...), want)
		return "", false
	}
	rel := name
	if filepath.IsAbs(name) {
		r, err := filepath.Rel(workspace, name)
		if err != nil || !filepath.IsLocal(r) {
			return bad("lies outside the workspace")
		}
		rel = r
	}
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer forever; it is refused below as not a regular file.
	root, err := os.OpenRoot(workspace)
	if err != nil {
		v.add("targets-file", "cannot open the workspace folder: %v", errors.Unwrap(err))
		return "", false
	}
	defer root.Close()
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return bad("%s", openProblem(workspace, rel, err))
	}
	defer f.Close()
	info, err := f.Stat()
	switch {
	case err != nil:
		return bad("cannot be read (%v)", errors.Unwrap(err))
	case !info.Mode().IsRegular():
		return bad("is not a regular file but %s", fileKind(info.Mode()))
	case info.Size() > maxTargetsFileBytes:
		return bad("is %d bytes, larger than the %d read", info.Size(), maxTargetsFileBytes)
	}
	// Read straight into the string the targets will point into: no
	// second copy of a file that may be 64 MiB.
	var text strings.Builder
	text.Grow(int(info.Size()))
	if _, err := io.Copy(&text, io.LimitReader(f, maxTargetsFileBytes)); err != nil {
		return bad("cannot be read (%v)", errors.Unwrap(err))
	}
	return text.String(), true
}

// openProblem says in a user's words why the file could not be opened.
func openProblem(workspace, rel string, err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "does not exist"
	case errors.Is(err, syscall.ELOOP):
		return "is a symbolic link loop"
	case errors.Is(err, os.ErrPermission):
		return "cannot be read (permission denied)"
	}
	// The open was refused for leaving the workspace (the error is not
	// exported): resolve the links only to word the message.
	if resolved, e := filepath.EvalSymlinks(filepath.Join(workspace, rel)); e == nil {
		if root, e := filepath.EvalSymlinks(workspace); e == nil {
			if r, e := filepath.Rel(root, resolved); e == nil && !filepath.IsLocal(r) {
				return "lies outside the workspace"
			}
		}
	}
	if !filepath.IsLocal(rel) {
		return "lies outside the workspace"
	}
	return fmt.Sprintf("cannot be opened (%v)", errors.Unwrap(err))
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeDevice != 0, m&os.ModeCharDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}
