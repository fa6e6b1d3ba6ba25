// Package targets reads target lists (the targets input and the
// targets-file) and checks every target against the rules Cloudflare's
// purge API sets for its purge type, so that a bad line is reported before
// any request is sent.
//
// It imports cloudflare (the Target type and the limits) and safetext.
package targets

import (
	"encoding/json"
	"fmt"
	"iter"
	"net"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// maxHostnameLength is DNS's limit on a whole name.
const maxHostnameLength = 253

// MaxShown is how many bad lines a BadLinesError keeps; the rest are only
// counted, so a huge file of bad lines costs no memory for its errors.
const MaxShown = 10

// LineError is one target that breaks the rules.
type LineError struct {
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the problem with the target.
func (e LineError) Unwrap() error { return e.Err }

// BadLinesError is every bad target of one text: the first MaxShown, and
// how many there were in all.
type BadLinesError struct {
	First []LineError
	Count int
}

func (e *BadLinesError) Error() string {
	msgs := make([]string, 0, len(e.First)+1)
	for _, l := range e.First {
		msgs = append(msgs, l.Error())
	}
	if more := e.Count - len(e.First); more > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", more))
	}
	return fmt.Sprintf("%d bad target(s): %s", e.Count, strings.Join(msgs, "; "))
}

// Add counts one bad target, and keeps it if fewer than MaxShown are.
func (e *BadLinesError) Add(line int, err error) {
	e.Count++
	if len(e.First) < MaxShown {
		e.First = append(e.First, LineError{Line: line, Err: err})
	}
}

// List collects the targets of one purge type from one or more texts,
// dropping repeats (the first is kept) across all of them.
type List struct {
	typ   cloudflare.PurgeType
	items []cloudflare.Target
	seen  map[string]struct{} // dedupe keys of items
}

// NewList starts an empty list for typ.
func NewList(typ cloudflare.PurgeType) *List {
	return &List{typ: typ, seen: map[string]struct{}{}}
}

// add appends t unless an earlier target purges the same thing.
func (l *List) add(t cloudflare.Target) {
	key := dedupeKey(l.typ, t)
	if _, repeat := l.seen[key]; repeat {
		return
	}
	l.seen[key] = struct{}{}
	l.items = append(l.items, t)
}

// Targets returns the targets added so far, in order.
func (l *List) Targets() []cloudflare.Target { return l.items }

// Add reads text (see Items for the format). Valid targets are added;
// the bad ones make a *BadLinesError. Targets keep pointing into text, so
// a large text is not copied.
func (l *List) Add(text string) error {
	bad := &BadLinesError{}
	for it := range Items(l.typ, text) {
		if it.Err != nil {
			bad.Add(it.Line, it.Err)
			continue
		}
		l.add(it.Target)
	}
	if bad.Count > 0 {
		return bad
	}
	return nil
}

// Item is one item of a text: a target, or why it is not one.
type Item struct {
	Line   int // 1-based
	Target cloudflare.Target
	Err    error
}

// Lines yields the lines of a list input that hold something, trimmed,
// with their 1-based numbers: blank lines and lines starting with # are
// skipped; CRLF line ends and a leading UTF-8 byte order mark are
// accepted, since files saved on Windows have them.
func Lines(text string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		n := 0
		for line := range strings.Lines(strings.TrimPrefix(text, "\uFEFF")) {
			n++
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !yield(n, line) {
				return
			}
		}
	}
}

// Items reads text one line at a time (Lines) and yields every item in
// it: one target a line; for tags and hosts a line may hold a
// comma-separated list. Repeats are yielded as they come.
func Items(typ cloudflare.PurgeType, text string) iter.Seq[Item] {
	return func(yield func(Item) bool) {
		for n, line := range Lines(text) {
			for raw := range split(typ, line) {
				t, err := parse(typ, raw)
				if !yield(Item{Line: n, Target: t, Err: err}) {
					return
				}
			}
		}
	}
}

// IsLoopback reports whether host is this machine: localhost, or an
// address of 127.0.0.0/8 or ::1. Plain http:// is allowed only there
// (tests, local proxies), for the API, GitHub's API and the user's site.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckHost checks a bare host name (www.example.com).
func CheckHost(s string) error { return hostProblem(s, "host") }

// Host is the host name a target of typ names: the URL's host for files,
// the host itself, or a prefix's host; "" for tags.
func Host(typ cloudflare.PurgeType, t cloudflare.Target) string {
	host := ""
	switch typ {
	case cloudflare.Files:
		if u, err := url.Parse(t.Value); err == nil {
			host = u.Hostname()
		}
	case cloudflare.Hosts:
		host = t.Value
	case cloudflare.Prefixes:
		host, _, _ = strings.Cut(t.Value, "/")
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// split yields the items of one line: the line itself, or for tags and
// hosts each part of a comma-separated list.
func split(typ cloudflare.PurgeType, line string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if typ != cloudflare.Tags && typ != cloudflare.Hosts {
			yield(line)
			return
		}
		for part := range strings.SplitSeq(line, ",") {
			if part = strings.TrimSpace(part); part != "" && !yield(part) {
				return
			}
		}
	}
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

// parse checks one target; the error says what a valid value looks like.
func parse(typ cloudflare.PurgeType, raw string) (cloudflare.Target, error) {
	if typ == cloudflare.Files && strings.HasPrefix(raw, "{") {
		// JSON may hold white space between its tokens; the URL inside
		// gets the full check.
		if err := encodingProblem(raw); err != nil {
			return cloudflare.Target{}, err
		}
		return parseFileObject(raw)
	}
	if err := textProblem(raw); err != nil {
		return cloudflare.Target{}, err
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
	return cloudflare.Target{}, fmt.Errorf("purge type %q takes no targets", typ)
}

// textProblem rejects what no purge type allows: invalid UTF-8, control
// characters (NUL included) and white space inside a target.
func textProblem(s string) error {
	if err := encodingProblem(s); err != nil {
		return err
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			return fmt.Errorf("%s contains white space; targets are one a line (encode spaces in URLs as %%20)", safetext.Quote(s))
		}
	}
	return nil
}

// encodingProblem rejects invalid UTF-8 and control characters (NUL
// included).
func encodingProblem(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", safetext.Quote(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s contains a control character (U+%04X)", safetext.Quote(s), r)
		}
	}
	return nil
}

// parseFileObject reads {"url": "...", "headers": {"Name": "value"}}.
func parseFileObject(raw string) (cloudflare.Target, error) {
	var obj struct {
		URL     *string             `json:"url"`
		Headers *map[string]*string `json:"headers"`
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	const want = `a JSON object like {"url": "https://example.com/a.jpg", "headers": {"CF-IPCountry": "US"}}`
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return cloudflare.Target{}, fmt.Errorf("%s is not %s", safetext.Quote(raw), want)
	}
	if obj.URL == nil {
		return cloudflare.Target{}, fmt.Errorf("%s has no \"url\"; want %s", safetext.Quote(raw), want)
	}
	t := cloudflare.Target{Value: *obj.URL}
	if err := textProblem(t.Value); err != nil {
		return cloudflare.Target{}, err
	}
	if err := urlProblem(t.Value); err != nil {
		return cloudflare.Target{}, err
	}
	if obj.Headers == nil {
		if strings.Contains(raw, `"headers"`) {
			return cloudflare.Target{}, fmt.Errorf(`%s has "headers": null; give an object of header names and string values, or leave "headers" out`, safetext.Quote(raw))
		}
		return t, nil
	}
	t.Headers = make(map[string]string, len(*obj.Headers))
	lower := make(map[string]bool, len(*obj.Headers))
	for name, value := range *obj.Headers {
		if !validHeaderName(name) {
			return cloudflare.Target{}, fmt.Errorf("%s has a header name %s that is not a valid HTTP header name", safetext.Quote(raw), safetext.Quote(name))
		}
		// Header names are case-insensitive: two spellings of one name
		// would leave it to Cloudflare which value counts.
		l := strings.ToLower(name)
		if lower[l] {
			return cloudflare.Target{}, fmt.Errorf("%s has header %s more than once (header names are case-insensitive)", safetext.Quote(raw), safetext.Quote(l))
		}
		lower[l] = true
		if value == nil {
			return cloudflare.Target{}, fmt.Errorf("%s has a null value for header %s; give a string", safetext.Quote(raw), safetext.Quote(name))
		}
		for _, r := range *value {
			if unicode.IsControl(r) {
				return cloudflare.Target{}, fmt.Errorf("%s has a control character in header %s", safetext.Quote(raw), safetext.Quote(name))
			}
		}
		t.Headers[name] = *value
	}
	return t, nil
}

func urlProblem(s string) error {
	const want = "an absolute http(s) URL like https://www.example.com/css/styles.css"
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Errorf("%s is not %s", safetext.Quote(s), want)
	case u.User != nil:
		return fmt.Errorf("%s has user credentials in it; want %s", safetext.Quote(s), want)
	case strings.Contains(s, "*"):
		return fmt.Errorf("%s has a wildcard; Cloudflare purges exact URLs only (use prefixes for a path)", safetext.Quote(s))
	case u.Fragment != "" || strings.HasSuffix(s, "#"):
		return fmt.Errorf("%s has a #fragment, which is never sent to Cloudflare; remove it", safetext.Quote(s))
	}
	if err := hostProblem(u.Hostname(), "URL host"); err != nil && !strings.HasPrefix(u.Host, "[") {
		return err
	}
	return nil
}

func tagProblem(s string) error {
	if len(s) > cloudflare.MaxTagLength {
		return fmt.Errorf("tag %s is %d characters; Cloudflare allows at most %d", safetext.Quote(s), len(s), cloudflare.MaxTagLength)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("tag %s has %q; tags are printable ASCII without spaces or commas", safetext.Quote(s), r)
		}
	}
	return nil
}

// hostProblem checks a bare host name: letters (any script), digits,
// hyphens, dots and underscores, in labels of 1–63 characters.
func hostProblem(s, what string) error {
	const want = "a bare host name like www.example.com"
	switch {
	case strings.Contains(s, "://"):
		return fmt.Errorf("%s %s has a scheme; want %s", what, safetext.Quote(s), want)
	case strings.ContainsAny(s, "/?#"):
		return fmt.Errorf("%s %s has a path; want %s", what, safetext.Quote(s), want)
	case strings.Contains(s, ":"):
		return fmt.Errorf("%s %s has a port; want %s", what, safetext.Quote(s), want)
	case len(s) > maxHostnameLength:
		return fmt.Errorf("%s %s is longer than %d characters", what, safetext.Quote(s), maxHostnameLength)
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || utf8.RuneCountInString(label) > 63 {
			return fmt.Errorf("%s %s is not %s", what, safetext.Quote(s), want)
		}
		for _, r := range label {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
				return fmt.Errorf("%s %s has %q; want %s", what, safetext.Quote(s), r, want)
			}
		}
	}
	return nil
}

func prefixProblem(s string) error {
	const want = "host/path without a scheme, like www.example.com/images"
	if strings.Contains(s, "://") {
		return fmt.Errorf("prefix %s has a scheme; want %s", safetext.Quote(s), want)
	}
	if strings.ContainsAny(s, "?#") {
		return fmt.Errorf("prefix %s has a query string or fragment; want %s", safetext.Quote(s), want)
	}
	host, _, _ := strings.Cut(s, "/")
	if err := hostProblem(host, "prefix host"); err != nil {
		return err
	}
	if n := strings.Count(s, "/"); n > cloudflare.MaxPrefixSlashes {
		return fmt.Errorf("prefix %s has %d path separators; Cloudflare allows at most %d", safetext.Quote(s), n, cloudflare.MaxPrefixSlashes)
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf("prefix %s has a wildcard; a prefix already matches everything below it", safetext.Quote(s))
	}
	return nil
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

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
