package config

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// PurgeChanged is the purge-type that purges the files a deploy changed.
// It is not one of Cloudflare's bodies: it becomes a files purge (or
// everything) once the changes are known.
const PurgeChanged = "changed"

// DefaultGitHubAPIURL is GITHUB_API_URL outside Actions.
const DefaultGitHubAPIURL = "https://api.github.com"

// maxChangedLimit bounds max-changed: beyond it purging everything is
// cheaper than the requests.
const maxChangedLimit = 100000

// changedInputs are the inputs only purge-type changed reads.
var changedInputs = []string{"changed-since", "changed-files", "url-map", "purge-everything-when", "max-changed"}

// Changed is the configuration of purge-type changed.
type Changed struct {
	// Since is changed-since as given ("" and all zeros included: both
	// mean everything is purged). Files, when FilesGiven, is
	// changed-files instead, one path a line.
	Since      string
	Files      []string
	FilesGiven bool
	Rules      []changed.Rule
	Patterns   []changed.Pattern
	// Max is max-changed: above this many URLs, everything is purged.
	Max int
	// The compare API: GITHUB_API_URL, GITHUB_REPOSITORY and GITHUB_SHA,
	// and the token (a secret, masked first).
	GitHubAPIURL string
	Repository   string
	Head         string
	GitHubToken  string
}

// NewBranch reports whether Since is empty or all zeros: no commit to
// compare with (the before of a new branch's first push is all zeros).
func (c *Changed) NewBranch() bool { return strings.Trim(c.Since, "0") == "" }

// isChangedType reports whether purge-type names changed.
func isChangedType(s string) bool { return strings.EqualFold(strings.TrimSpace(s), PurgeChanged) }

// gitHubToken is the github-token to use: the input, unless it is the
// default's expression unexpanded (a run outside Actions reads
// action.yml's default as text), then GITHUB_TOKEN.
func (in Inputs) gitHubToken(getenv func(string) string) string {
	t := strings.TrimSpace(in.GitHubToken)
	if strings.Contains(t, "${{") {
		t = ""
	}
	if t == "" {
		t = strings.TrimSpace(getenv("GITHUB_TOKEN"))
	}
	return t
}

// notChanged refuses the inputs of purge-type changed with another purge
// type: a user who sets url-map expects it to do something.
func (v *validator) notChanged(in Inputs, spec Spec) {
	given := map[string]bool{
		"changed-since":         in.ChangedSince != "",
		"changed-files":         in.ChangedFiles != "",
		"url-map":               in.URLMap != "",
		"purge-everything-when": in.PurgeEverythingWhen != "",
		"max-changed":           in.MaxChanged != spec.Default("max-changed"),
	}
	for _, name := range changedInputs {
		if given[name] {
			v.add(name, "is read only with purge-type: changed; remove it, or set purge-type: changed")
		}
	}
}

// changed checks the inputs of purge-type changed.
func (v *validator) changed(in Inputs, env Env) *Changed {
	c := &Changed{Since: strings.TrimSpace(in.ChangedSince), Max: v.intRange("max-changed", in.MaxChanged, 1, maxChangedLimit)}
	if in.Targets != "" || in.TargetsFile != "" {
		v.add(targetsInput(in), "must be empty when purge-type is changed, which purges the URLs of the changed files; purge other targets in a step of their own")
	}
	for _, input := range []struct{ name, value string }{{"url-map", in.URLMap}, {"purge-everything-when", in.PurgeEverythingWhen}, {"changed-files", in.ChangedFiles}} {
		if len(input.value) > maxInputBytes {
			v.add(input.name, "is %d bytes; an input can hold at most %d", len(input.value), maxInputBytes)
			return c
		}
	}
	switch rules, err := changed.ParseMap(in.URLMap); {
	case err != nil:
		v.add("url-map", "%v; want %s", err, changed.RuleWant)
	case len(rules) == 0:
		v.add("url-map", "is required with purge-type changed; give %s", changed.RuleWant)
	default:
		c.Rules = rules
	}
	if pats, err := changed.ParsePatterns(in.PurgeEverythingWhen); err != nil {
		v.add("purge-everything-when", "%v", err)
	} else {
		c.Patterns = pats
	}
	c.GitHubToken = in.gitHubToken(env.Getenv)
	if strings.ContainsFunc(c.GitHubToken, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError }) {
		v.add("github-token", "contains white space, a control character or invalid UTF-8; pass ${{ github.token }} or a token from a secret, alone")
	}
	if in.ChangedFiles != "" {
		if c.Since != "" {
			v.add("changed-files", "is given together with changed-since; give one of them")
		}
		c.FilesGiven = true
		for line := range strings.Lines(in.ChangedFiles) {
			// ./public/a.html is public/a.html (find . prints paths so).
			if p := strings.TrimPrefix(strings.TrimSpace(line), "./"); p != "" {
				c.Files = append(c.Files, p)
			}
		}
		if len(c.Files) > changed.MaxPaths {
			v.add("changed-files", "lists %d paths; at most %d (purge everything instead)", len(c.Files), changed.MaxPaths)
		}
		return c
	}
	if c.NewBranch() {
		return c // nothing to compare with: everything is purged
	}
	if !validRef(c.Since) {
		v.add("changed-since", "%s is not a commit; want a commit SHA, tag or branch name, typically ${{ github.event.before }}", safetext.Quote(c.Since))
	}
	c.Repository = env.Getenv("GITHUB_REPOSITORY")
	c.Head = env.Getenv("GITHUB_SHA")
	c.GitHubAPIURL = strings.TrimRight(env.Getenv("GITHUB_API_URL"), "/")
	if c.GitHubAPIURL == "" {
		c.GitHubAPIURL = DefaultGitHubAPIURL
	}
	const outside = "which the runner sets; outside GitHub Actions give changed-files instead"
	if !repoName.MatchString(c.Repository) || strings.Contains(c.Repository, "..") {
		v.add("changed-since", "needs GITHUB_REPOSITORY as owner/name, %s (it is %s)", outside, safetext.Quote(c.Repository))
	}
	if !changed.IsSHA(c.Head) {
		v.add("changed-since", "needs GITHUB_SHA, the commit being deployed, %s (it is %s)", outside, safetext.Quote(c.Head))
	}
	if problem := tokenURLProblem(c.GitHubAPIURL); problem != "" {
		v.add("changed-since", "needs GITHUB_API_URL, where the token is sent, to be an https:// URL like %s; it %s (it is %s)", DefaultGitHubAPIURL, problem, safetext.Quote(c.GitHubAPIURL))
	}
	return c
}

// repoName is owner/name as GitHub allows them.
var repoName = regexp.MustCompile(`\A[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}\z`)

// validRef accepts what git allows in a ref name, less what could change
// the compare URL: letters, digits and . _ / -, no .., no // and no
// leading or trailing . or /.
func validRef(s string) bool {
	if len(s) > 255 || strings.Contains(s, "..") || strings.Contains(s, "//") ||
		strings.HasPrefix(s, "-") || strings.HasSuffix(s, ".lock") ||
		strings.IndexAny(s, "./") == 0 || strings.LastIndexAny(s, "./") == len(s)-1 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._/-", r)) {
			return false
		}
	}
	return s != ""
}
