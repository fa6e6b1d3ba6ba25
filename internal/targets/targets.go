// Package targets reads target lists (the targets input and the
// targets-file) and checks every target against the rules Cloudflare's
// purge API sets for its purge type, so that a bad line is reported before
// any request is sent.
package targets

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// Limits from Cloudflare's purge documentation.
const (
	maxTagLength      = 1024
	maxPrefixSlashes  = 31
	maxHostnameLength = 253
)

// LineError is one target line that breaks the rules.
type LineError struct {
	Line    int
	Problem string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Problem) }

// List collects the targets of one purge type from one or more texts,
// dropping repeats (the first is kept) across all of them.
type List struct {
	typ   cloudflare.PurgeType
	items []cloudflare.Target
	seen  map[string]bool
}

// NewList starts an empty list for typ.
func NewList(typ cloudflare.PurgeType) *List {
	return &List{typ: typ, seen: map[string]bool{}}
}

// Targets returns the targets added so far, in order.
func (l *List) Targets() []cloudflare.Target { return l.items }

// Add reads text: one target a line; for tags and hosts a line may hold a
// comma-separated list; blank lines and lines starting with # are skipped;
// CRLF line ends and a leading UTF-8 byte order mark are accepted, since
// files saved on Windows have them. Valid targets are added; every bad
// one is returned as a LineError, in line order.
func (l *List) Add(text string) []LineError {
	text = strings.TrimPrefix(text, "\uFEFF")
	var problems []LineError
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, raw := range l.split(line) {
			t, err := parse(l.typ, raw)
			if err != "" {
				problems = append(problems, LineError{Line: i + 1, Problem: err})
				continue
			}
			if k := dedupeKey(l.typ, t); !l.seen[k] {
				l.seen[k] = true
				l.items = append(l.items, t)
			}
		}
	}
	return problems
}

func (l *List) split(line string) []string {
	if l.typ != cloudflare.Tags && l.typ != cloudflare.Hosts {
		return []string{line}
	}
	var out []string
	for _, part := range strings.Split(line, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// dedupeKey says when two targets purge the same thing: tags and host
// names are case-insensitive at Cloudflare; URLs and prefixes are not
// (their paths are case-sensitive), and a URL with other headers is
// another cache entry.
func dedupeKey(typ cloudflare.PurgeType, t cloudflare.Target) string {
	switch typ {
	case cloudflare.Tags, cloudflare.Hosts:
		// ASCII only: Unicode case folding would make different host
		// names (İ.example and i.example) one.
		return asciiLower(t.Value)
	case cloudflare.Files:
		if t.Headers == nil {
			return t.Value
		}
		names := make([]string, 0, len(t.Headers))
		for k := range t.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		b.WriteString(t.Value)
		b.WriteString("\x00{}")
		for _, k := range names {
			fmt.Fprintf(&b, "\x00%s\x00%s", strings.ToLower(k), t.Headers[k])
		}
		return b.String()
	default:
		return t.Value
	}
}

// parse checks one target; a non-empty string is the problem, worded to
// say what a valid value looks like.
func parse(typ cloudflare.PurgeType, raw string) (cloudflare.Target, string) {
	if typ == cloudflare.Files && strings.HasPrefix(raw, "{") {
		// JSON may hold white space between its tokens; the URL inside
		// gets the full check.
		if p := encodingProblem(raw); p != "" {
			return cloudflare.Target{}, p
		}
		return parseFileObject(raw)
	}
	if p := textProblem(raw); p != "" {
		return cloudflare.Target{}, p
	}
	switch typ {
	case cloudflare.Files:
		return cloudflare.Target{Value: raw}, urlProblem(raw)
	case cloudflare.Tags:
		return cloudflare.Target{Value: raw}, tagProblem(raw)
	case cloudflare.Hosts:
		return cloudflare.Target{Value: raw}, hostProblem(raw, "host")
	case cloudflare.Prefixes:
		return cloudflare.Target{Value: raw}, prefixProblem(raw)
	}
	return cloudflare.Target{}, fmt.Sprintf("purge type %q takes no targets", typ)
}

// textProblem rejects what no purge type allows: invalid UTF-8, control
// characters (NUL included) and white space inside a target.
func textProblem(s string) string {
	if p := encodingProblem(s); p != "" {
		return p
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			return fmt.Sprintf("%s contains white space; targets are one a line (encode spaces in URLs as %%20)", Quote(s))
		}
	}
	return ""
}

// encodingProblem rejects invalid UTF-8 and control characters (NUL
// included).
func encodingProblem(s string) string {
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%s is not valid UTF-8", Quote(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("%s contains a control character (U+%04X)", Quote(s), r)
		}
	}
	return ""
}

// parseFileObject reads {"url": "...", "headers": {"Name": "value"}}.
func parseFileObject(raw string) (cloudflare.Target, string) {
	var obj struct {
		URL     *string             `json:"url"`
		Headers *map[string]*string `json:"headers"`
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	const want = `a JSON object like {"url": "https://example.com/a.jpg", "headers": {"CF-IPCountry": "US"}}`
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return cloudflare.Target{}, fmt.Sprintf("%s is not %s", Quote(raw), want)
	}
	if obj.URL == nil {
		return cloudflare.Target{}, fmt.Sprintf("%s has no \"url\"; want %s", Quote(raw), want)
	}
	t := cloudflare.Target{Value: *obj.URL}
	if p := textProblem(t.Value); p != "" {
		return cloudflare.Target{}, p
	}
	if p := urlProblem(t.Value); p != "" {
		return cloudflare.Target{}, p
	}
	if obj.Headers == nil {
		if strings.Contains(raw, `"headers"`) {
			return cloudflare.Target{}, fmt.Sprintf(`%s has "headers": null; give an object of header names and string values, or leave "headers" out`, Quote(raw))
		}
		return t, ""
	}
	t.Headers = make(map[string]string, len(*obj.Headers))
	lower := make(map[string]bool, len(*obj.Headers))
	for name, value := range *obj.Headers {
		if !validHeaderName(name) {
			return cloudflare.Target{}, fmt.Sprintf("%s has a header name %s that is not a valid HTTP header name", Quote(raw), Quote(name))
		}
		// Header names are case-insensitive: two spellings of one name
		// would leave it to Cloudflare which value counts.
		l := strings.ToLower(name)
		if lower[l] {
			return cloudflare.Target{}, fmt.Sprintf("%s has header %s more than once (header names are case-insensitive)", Quote(raw), Quote(l))
		}
		lower[l] = true
		if value == nil {
			return cloudflare.Target{}, fmt.Sprintf("%s has a null value for header %s; give a string", Quote(raw), Quote(name))
		}
		for _, r := range *value {
			if unicode.IsControl(r) {
				return cloudflare.Target{}, fmt.Sprintf("%s has a control character in header %s", Quote(raw), Quote(name))
			}
		}
		t.Headers[name] = *value
	}
	return t, ""
}

func urlProblem(s string) string {
	const want = "an absolute http(s) URL like https://www.example.com/css/styles.css"
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Sprintf("%s is not %s", Quote(s), want)
	case u.User != nil:
		return fmt.Sprintf("%s has user credentials in it; want %s", Quote(s), want)
	case strings.Contains(s, "*"):
		return fmt.Sprintf("%s has a wildcard; Cloudflare purges exact URLs only (use prefixes for a path)", Quote(s))
	case u.Fragment != "" || strings.HasSuffix(s, "#"):
		return fmt.Sprintf("%s has a #fragment, which is never sent to Cloudflare; remove it", Quote(s))
	}
	if p := hostProblem(u.Hostname(), "URL host"); p != "" && !strings.HasPrefix(u.Host, "[") {
		return p
	}
	return ""
}

func tagProblem(s string) string {
	if len(s) > maxTagLength {
		return fmt.Sprintf("tag %s is %d characters; Cloudflare allows at most %d", Quote(s), len(s), maxTagLength)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return fmt.Sprintf("tag %s has %q; tags are printable ASCII without spaces or commas", Quote(s), r)
		}
	}
	return ""
}

// hostProblem checks a bare host name: letters (any script), digits,
// hyphens, dots and underscores, in labels of 1–63 characters.
func hostProblem(s, what string) string {
	const want = "a bare host name like www.example.com"
	switch {
	case strings.Contains(s, "://"):
		return fmt.Sprintf("%s %s has a scheme; want %s", what, Quote(s), want)
	case strings.ContainsAny(s, "/?#"):
		return fmt.Sprintf("%s %s has a path; want %s", what, Quote(s), want)
	case strings.Contains(s, ":"):
		return fmt.Sprintf("%s %s has a port; want %s", what, Quote(s), want)
	case len(s) > maxHostnameLength:
		return fmt.Sprintf("%s %s is longer than %d characters", what, Quote(s), maxHostnameLength)
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || utf8.RuneCountInString(label) > 63 {
			return fmt.Sprintf("%s %s is not %s", what, Quote(s), want)
		}
		for _, r := range label {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
				return fmt.Sprintf("%s %s has %q; want %s", what, Quote(s), r, want)
			}
		}
	}
	return ""
}

func prefixProblem(s string) string {
	const want = "host/path without a scheme, like www.example.com/images"
	if strings.Contains(s, "://") {
		return fmt.Sprintf("prefix %s has a scheme; want %s", Quote(s), want)
	}
	if strings.ContainsAny(s, "?#") {
		return fmt.Sprintf("prefix %s has a query string or fragment; want %s", Quote(s), want)
	}
	host, _, _ := strings.Cut(s, "/")
	if p := hostProblem(host, "prefix host"); p != "" {
		return p
	}
	if n := strings.Count(s, "/"); n > maxPrefixSlashes {
		return fmt.Sprintf("prefix %s has %d path separators; Cloudflare allows at most %d", Quote(s), n, maxPrefixSlashes)
	}
	if strings.Contains(s, "*") {
		return fmt.Sprintf("prefix %s has a wildcard; a prefix already matches everything below it", Quote(s))
	}
	return ""
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= utf8.RuneSelf || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// Quote shows a value in a message: quoted, with anything unprintable
// escaped, and cut short (on a character boundary) so one huge line
// cannot flood the log.
func Quote(s string) string {
	const max = 120
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
