// Package changed turns the files a deploy changed into the URLs to
// purge: it reads the changes from GitHub's compare API, or from the
// trees of the two commits when the compare API's list may be cut (or
// from a list the user gives), maps each path to its URLs through the
// url-map rules, and matches the purge-everything-when patterns. Every
// file name is untrusted text: one that could change a URL's meaning (a
// control character, a .. segment, a backslash) is never mapped, only
// listed.
//
// It knows nothing of Cloudflare, the inputs or the runner: it imports
// only safetext (to quote what it cannot use), targets (the one reader of
// list inputs' lines), outbound (the guard every request to GitHub
// passes) and the standard library with backoff; command wires it in.
package changed

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// Limits on what the inputs of this package may hold.
const (
	// MaxRules bounds url-map: every changed path is checked against
	// every rule.
	MaxRules = 100
	// MaxPatterns bounds purge-everything-when, for the same reason.
	MaxPatterns = 100
	// maxRuleBytes bounds one rule or pattern line.
	maxRuleBytes = 1000
)

// Rule is one url-map line: a changed path under Path maps to URL plus
// the rest of the path.
type Rule struct {
	// Path is the folder (or file) prefix without a trailing slash; ""
	// is the repository's root and matches every path.
	Path string
	// URL is the URL prefix as given.
	URL string
}

// LineError is one bad line of a list input.
type LineError struct {
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// LinesError is every bad line of one list input.
type LinesError []LineError

func (e LinesError) Error() string {
	msgs := make([]string, len(e))
	for i, l := range e {
		msgs[i] = l.Error()
	}
	return strings.Join(msgs, "; ")
}

// RuleWant says what a valid url-map line looks like.
const RuleWant = "PATH_PREFIX => URL_PREFIX, one a line, like public/ => https://www.example.com/"

// ParseMap reads url-map: one rule a line, PATH_PREFIX => URL_PREFIX;
// blank lines and lines starting with # are skipped. A bad line is a
// LinesError entry; the valid rules are returned either way.
func ParseMap(text string) ([]Rule, error) {
	var rules []Rule
	var bad LinesError
	for n, line := range targets.Lines(text) {
		r, err := parseRule(line)
		if err == nil && slices.ContainsFunc(rules, func(o Rule) bool { return o.Path == r.Path }) {
			err = fmt.Errorf("path prefix %s has a rule already; give each prefix one URL", safetext.Quote(r.Path+"/"))
		}
		if err != nil {
			bad = append(bad, LineError{n, err})
			continue
		}
		rules = append(rules, r)
	}
	if len(rules)+len(bad) > MaxRules {
		return nil, fmt.Errorf("has %d rules; at most %d", len(rules)+len(bad), MaxRules)
	}
	if len(bad) > 0 {
		return rules, bad
	}
	return rules, nil
}

func parseRule(line string) (Rule, error) {
	if len(line) > maxRuleBytes {
		return Rule{}, fmt.Errorf("is %d bytes long; at most %d", len(line), maxRuleBytes)
	}
	path, u, ok := strings.Cut(line, "=>")
	if !ok {
		return Rule{}, fmt.Errorf("%s has no =>; want %s", safetext.Quote(line), RuleWant)
	}
	path, u = strings.TrimSpace(path), strings.TrimSpace(u)
	// "/", "." and "" all name the repository's root.
	clean := strings.Trim(strings.TrimPrefix(path, "./"), "/")
	if clean == "." {
		clean = ""
	}
	if clean != "" {
		if why := unsafePath(clean); why != "" {
			return Rule{}, fmt.Errorf("path prefix %s %s; want a folder of the repository like public/", safetext.Quote(path), why)
		}
		if strings.Contains(clean, "*") {
			return Rule{}, fmt.Errorf("path prefix %s has a *; a prefix already matches every path below it", safetext.Quote(path))
		}
	}
	if err := checkURLPrefix(u); err != nil {
		return Rule{}, err
	}
	return Rule{Path: clean, URL: u}, nil
}

// checkURLPrefix refuses a URL prefix that could name other URLs than
// the ones it is written as. Servers, and Cloudflare's URL normalization,
// decode %2e to a dot before folding . and .. segments, and some read
// %2F or %5C as a slash: so the segments are checked once decoded, and
// an encoded slash or backslash is refused outright.
func checkURLPrefix(s string) error {
	const want = "an absolute https:// URL like https://www.example.com/ or https://www.example.com/docs/"
	p, err := url.Parse(s)
	switch {
	case err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") || p.Opaque != "":
		return fmt.Errorf("URL prefix %s is not %s", safetext.Quote(s), want)
	case p.User != nil:
		return fmt.Errorf("URL prefix %s has user credentials in it; want %s", safetext.Quote(s), want)
	case strings.ContainsAny(s, "?#*\\") || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("URL prefix %s has a query, a fragment, a *, a backslash or white space; want %s", safetext.Quote(s), want)
	case strings.Contains(strings.ToLower(p.EscapedPath()), "%2f") || strings.Contains(strings.ToLower(p.EscapedPath()), "%5c"):
		return fmt.Errorf("URL prefix %s has an encoded slash or backslash (%%2F or %%5C); want %s", safetext.Quote(s), want)
	case strings.Contains("/"+p.Path+"/", "/../") || strings.Contains("/"+p.Path+"/", "/./"): // p.Path is decoded
		return fmt.Errorf("URL prefix %s has a . or .. segment, percent-encoded or not; want %s", safetext.Quote(s), want)
	}
	return nil
}

// unsafePath says why a path cannot be mapped to a URL, or "". A
// control character could end a log line or a request; a backslash is
// read as a slash by some servers; . and .. segments (and empty ones)
// are folded away by browsers and servers, so the URL would name
// another file than the one that changed.
func unsafePath(p string) string {
	switch {
	case !utf8.ValidString(p):
		return "is not valid UTF-8"
	case strings.ContainsFunc(p, unicode.IsControl):
		return "has a control character"
	case strings.Contains(p, `\`):
		return "has a backslash"
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "..":
			return "has a .. segment"
		case ".":
			return "has a . segment"
		case "":
			return "has an empty segment (// or a leading or trailing /)"
		}
	}
	return ""
}

// match is the rule with the longest path prefix matching path (by whole
// segments: public matches public/a.html, never publicity.html), and
// the rest of the path below it; ok is false when none matches.
func match(rules []Rule, path string) (r Rule, rest string, ok bool) {
	best := -1
	for i, rule := range rules {
		if rule.Path != "" && path != rule.Path && !strings.HasPrefix(path, rule.Path+"/") {
			continue
		}
		if best < 0 || len(rule.Path) > len(rules[best].Path) {
			best = i
		}
	}
	if best < 0 {
		return Rule{}, "", false
	}
	r = rules[best]
	rest = strings.TrimPrefix(strings.TrimPrefix(path, r.Path), "/")
	return r, rest, true
}

// URLs are the URLs a changed path purges under rules: the rule's URL
// prefix and the rest of the path, each segment escaped as url.PathEscape
// does. dir/index.html purges dir/ and dir/index.html; page.html purges
// page.html and page (hosts that serve pretty URLs). ok is false when no
// rule matches; err says why a path that is not safe to map is refused.
func URLs(rules []Rule, path string) (urls []string, ok bool, err error) {
	if why := unsafePath(path); why != "" {
		return nil, false, errors.New(why)
	}
	r, rest, ok := match(rules, path)
	if !ok {
		return nil, false, nil
	}
	if rest == "" {
		// The rule names this very file: its URL is the prefix as given.
		return []string{r.URL}, true, nil
	}
	base := strings.TrimRight(r.URL, "/") + "/"
	segs := strings.Split(rest, "/")
	escaped := make([]string, len(segs))
	for i, s := range segs {
		escaped[i] = url.PathEscape(s)
	}
	full := base + strings.Join(escaped, "/")
	last := segs[len(segs)-1]
	switch {
	case last == "index.html":
		dir := base + strings.Join(escaped[:len(escaped)-1], "/")
		if len(escaped) > 1 {
			dir += "/"
		}
		return []string{dir, full}, true, nil
	case strings.HasSuffix(last, ".html") && last != ".html":
		return []string{full, strings.TrimSuffix(full, ".html")}, true, nil
	}
	return []string{full}, true, nil
}
