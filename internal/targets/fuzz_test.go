package targets_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// fuzzPurgeTypes are the purge types that take targets; every fuzzed text
// is read as each of them.
var fuzzPurgeTypes = []cloudflare.PurgeType{cloudflare.Files, cloudflare.Tags, cloudflare.Hosts, cloudflare.Prefixes}

// FuzzAdd reads two arbitrary texts into one list of each purge type and
// checks what came out against the API's rules, written out here again
// from the reference (docs/cloudflare-purge-api.md's "Rules per type")
// rather than by calling the package's own checks. Beyond the rules: no
// two targets purge the same thing, every target encodes to valid JSON
// that reads back as itself, and no valid item is lost or bad item
// dropped silently.
func FuzzAdd(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://www.example.com/css/styles.css\nhttp://example.com/b?x=1", ""},
		{"# comment\n\n  blog  \n\t\nhome, Blog,BLOG", "blog\nnews"},
		{"www.example.com,images.example.com\nbücher.example", "WWW.example.com"},
		{"www.example.com/images\nwww.example.com/a/b/c/d", "www.example.com/images"},
		{`{"url": "https://www.example.com/cat.jpg", "headers": {"CF-IPCountry": "US", "CF-Device-Type": "desktop"}}`, `{"url":"https://www.example.com/cat.jpg","headers":{"cf-ipcountry":"US","cf-device-type":"desktop"}}`},
		{`{"url": "https://www.example.com/cat.jpg", "headers": {}}`, "https://www.example.com/cat.jpg"},
		{`{"url": "https://www.example.com/cat.jpg", "headers": null}`, `{"url": "https://www.example.com/cat.jpg", "headers": {"Origin": null}}`},
		{"\uFEFFa\r\nb\r\n\uFEFFc", "https://[::1]:8443/x\nhttps://a.example:/x"},
		{"https://a.example/*\nexample.com/a?b\nhttps://user@a.example/\nhttps://a.example/#top", "a b\nx\x00y\n\xff"},
		{"a.example" + strings.Repeat("/p", 31) + "\na.example" + strings.Repeat("/p", 32), strings.Repeat("t", 1025)},
		{"http://example.com\nhttps:example.com\n//example.com/a\nexample.com:8080", "İ.example\ni.example\nσ.example\nΣ.example"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, text, more string) {
		for _, typ := range fuzzPurgeTypes {
			l := targets.NewList(typ)
			errs1 := l.Add(text)
			errs2 := l.Add(more)
			got := l.Targets()
			for _, tg := range got {
				if p := ruleViolation(typ, tg); p != "" {
					t.Errorf("%s: accepted %q (headers %q), which %s", typ, tg.Value, tg.Headers, p)
				}
				checkJSON(t, typ, tg)
			}
			checkNoDuplicates(t, typ, got)
			checkNothingLost(t, typ, got, []string{text, more}, [][]targets.LineError{errs1, errs2})
		}
	})
}

// ruleViolation says which of the API's rules for typ t breaks, or "".
func ruleViolation(typ cloudflare.PurgeType, t cloudflare.Target) string {
	v := t.Value
	if t.Headers != nil && typ != cloudflare.Files {
		return "has headers, which only files targets may have"
	}
	switch {
	case v == "":
		return "is empty"
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	case strings.ContainsFunc(v, unicode.IsControl):
		return "has a control character"
	case strings.ContainsFunc(v, unicode.IsSpace):
		return "has white space"
	}
	switch typ {
	case cloudflare.Files:
		if p := fileURLViolation(v); p != "" {
			return p
		}
		names := map[string]bool{}
		for name, value := range t.Headers {
			if !isHeaderName(name) {
				return fmt.Sprintf("has header name %q, which is not an HTTP token", name)
			}
			// Header names are case-insensitive: two spellings of one
			// name would leave Cloudflare to pick a value.
			if names[asciiLower(name)] {
				return fmt.Sprintf("names header %q twice (in different cases)", name)
			}
			names[asciiLower(name)] = true
			if !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl) {
				return fmt.Sprintf("has header %q with a value that is not text: %q", name, value)
			}
		}
	case cloudflare.Tags:
		if len(v) > 1024 {
			return fmt.Sprintf("is %d characters, more than 1024", len(v))
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x21 || v[i] > 0x7e || v[i] == ',' {
				return fmt.Sprintf("has byte %#x, which is not printable ASCII other than a comma", v[i])
			}
		}
	case cloudflare.Hosts:
		if strings.ContainsAny(v, "/:?#,@") {
			return "is not a bare host name (scheme, port, path, query, fragment, user or comma)"
		}
	case cloudflare.Prefixes:
		lower := strings.ToLower(v)
		switch {
		case strings.Contains(v, "://") || strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:"):
			return "has a scheme"
		case strings.ContainsAny(v, "?#"):
			return "has a query string or fragment"
		case strings.Count(v, "/") > 31:
			return fmt.Sprintf("has %d path separators, more than 31", strings.Count(v, "/"))
		case strings.HasPrefix(v, "/"):
			return "has no host"
		}
	default:
		return "belongs to a purge type that takes no targets"
	}
	return ""
}

// fileURLViolation checks an absolute http(s) URL by hand: scheme, then
// an authority with a non-empty host (a bracketed IP literal, or a name
// with an optional numeric port), no user info, no wildcard.
func fileURLViolation(v string) string {
	lower := strings.ToLower(v)
	var rest string
	switch {
	case strings.HasPrefix(lower, "https://"):
		rest = v[len("https://"):]
	case strings.HasPrefix(lower, "http://"):
		rest = v[len("http://"):]
	default:
		return "is not an http:// or https:// URL"
	}
	if strings.Contains(v, "*") {
		return "has a wildcard"
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.Contains(authority, "@") {
		return "has user info"
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.Index(authority, "]")
		if end < 0 {
			return "has an unterminated IP literal"
		}
		host, port = authority[1:end], authority[end+1:]
		if zone := strings.Index(host, "%25"); zone >= 0 {
			host = host[:zone]
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return fmt.Sprintf("has IP literal [%s], which is not an IPv6 address", host)
		}
		if port != "" && !strings.HasPrefix(port, ":") {
			return "has text after its IP literal"
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndex(authority, ":"); i >= 0 {
		host, port = authority[:i], authority[i+1:]
	}
	if host == "" {
		return "has no host"
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return fmt.Sprintf("has port %q, which is not a number", port)
		}
	}
	return ""
}

// isHeaderName reports whether s is a token (RFC 9110 §5.6.2).
func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// checkJSON encodes a target as a request body does and reads it back: a
// plain target is a JSON string, a target with headers an object of the
// URL and string header values.
func checkJSON(t *testing.T, typ cloudflare.PurgeType, tg cloudflare.Target) {
	t.Helper()
	raw, err := json.Marshal(tg)
	if err != nil || !json.Valid(raw) {
		t.Errorf("%s: %q encodes to %q, %v; want valid JSON", typ, tg.Value, raw, err)
		return
	}
	if tg.Headers == nil {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s != tg.Value {
			t.Errorf("%s: %q encodes to %s, which reads back as %q (%v)", typ, tg.Value, raw, s, err)
		}
		return
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Errorf("%s: %s is not a JSON object: %v", typ, raw, err)
		return
	}
	headers, ok := obj["headers"].(map[string]any)
	if len(obj) != 2 || obj["url"] != tg.Value || !ok || len(headers) != len(tg.Headers) {
		t.Errorf("%s: %s is not {\"url\": %q, \"headers\": {...%d}}", typ, raw, tg.Value, len(tg.Headers))
		return
	}
	for name, value := range headers {
		if s, ok := value.(string); !ok || s != tg.Headers[name] {
			t.Errorf("%s: %s has header %q = %#v; want the string %q", typ, raw, name, value, tg.Headers[name])
		}
	}
}

// targetKey is the documented dedupe rule: two targets purge the same
// thing when their keys are equal. Tags and host names are
// case-insensitive (compared here by ASCII case only, which every
// case-insensitive comparison agrees with); URLs and prefixes compare
// exactly; a URL with headers is another entry than the URL without (and
// {} is kept apart from no headers: a different request body); header
// names compare case-insensitively, values exactly.
func targetKey(typ cloudflare.PurgeType, t cloudflare.Target) string {
	switch typ {
	case cloudflare.Tags, cloudflare.Hosts:
		return asciiLower(t.Value)
	case cloudflare.Files:
		if t.Headers == nil {
			return strconv.Quote(t.Value)
		}
		pairs := make([]string, 0, len(t.Headers))
		for name, value := range t.Headers {
			pairs = append(pairs, strconv.Quote(asciiLower(name))+"="+strconv.Quote(value))
		}
		sort.Strings(pairs)
		return strconv.Quote(t.Value) + " {" + strings.Join(pairs, ",") + "}"
	}
	return t.Value
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// foldKey is equal for two strings exactly when strings.EqualFold says
// they are: each rune becomes the smallest of its simple-folding orbit.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

func checkNoDuplicates(t *testing.T, typ cloudflare.PurgeType, got []cloudflare.Target) {
	t.Helper()
	first := map[string]int{}
	for i, tg := range got {
		k := targetKey(typ, tg)
		if j, ok := first[k]; ok {
			t.Errorf("%s: targets %d (%q %q) and %d (%q %q) purge the same thing", typ, j, got[j].Value, got[j].Headers, i, tg.Value, tg.Headers)
			continue
		}
		first[k] = i
	}
}

// checkNothingLost splits the texts the way Add documents (one item a line;
// comma lists for tags and hosts; blank and # lines skipped; a leading byte
// order mark dropped; CRLF accepted), reads each item into a list of its
// own, and checks the combined list against that: every bad item gives an
// error on its own line, in order, and every good one is in the list, or a
// case-insensitive repeat (strings.ToLower or EqualFold, whichever the code
// chose) of an earlier one.
func checkNothingLost(t *testing.T, typ cloudflare.PurgeType, got []cloudflare.Target, texts []string, errs [][]targets.LineError) {
	t.Helper()
	index := keep(typ, got)
	for k, text := range texts {
		var wantLines []int
		text = strings.TrimPrefix(text, "\uFEFF")
		for n, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			items := []string{line}
			if typ == cloudflare.Tags || typ == cloudflare.Hosts {
				items = nil
				for _, part := range strings.Split(line, ",") {
					if part = strings.TrimSpace(part); part != "" {
						items = append(items, part)
					}
				}
			}
			for _, item := range items {
				// The item on a line of its own after an empty first
				// one, so that neither a byte order mark nor a leading #
				// (a tag may start with one) is read as such; the comma
				// keeps a #tag from being a comment.
				alone := targets.NewList(typ)
				prefix := "\n"
				if typ == cloudflare.Tags || typ == cloudflare.Hosts {
					prefix = "\n,"
				}
				if e := alone.Add(prefix + item); len(e) > 0 {
					wantLines = append(wantLines, n+1)
					continue
				}
				if len(alone.Targets()) != 1 {
					t.Errorf("%s: item %q alone gives %d targets and no error; want 1", typ, item, len(alone.Targets()))
					continue
				}
				if !index.has(typ, alone.Targets()[0]) {
					t.Errorf("%s: valid item %q (text %d, line %d) is missing from the list of %d", typ, item, k+1, n+1, len(got))
				}
			}
		}
		var gotLines []int
		for _, e := range errs[k] {
			gotLines = append(gotLines, e.Line)
		}
		if !reflect.DeepEqual(gotLines, wantLines) {
			t.Errorf("%s: text %d: errors on lines %v; items that fail alone are on lines %v (errors %v)", typ, k+1, gotLines, wantLines, errs[k])
		}
	}
}

// kept indexes a list by the dedupe rule, and for tags and hosts also by
// both readings of case-insensitive the code may have chosen
// (strings.ToLower and strings.EqualFold).
type kept map[string]bool

func keep(typ cloudflare.PurgeType, got []cloudflare.Target) kept {
	k := kept{}
	for _, g := range got {
		k[targetKey(typ, g)] = true
		if typ == cloudflare.Tags || typ == cloudflare.Hosts {
			k["lower\x00"+strings.ToLower(g.Value)] = true
			k["fold\x00"+foldKey(g.Value)] = true
		}
	}
	return k
}

func (k kept) has(typ cloudflare.PurgeType, t cloudflare.Target) bool {
	if k[targetKey(typ, t)] {
		return true
	}
	return (typ == cloudflare.Tags || typ == cloudflare.Hosts) &&
		(k["lower\x00"+strings.ToLower(t.Value)] || k["fold\x00"+foldKey(t.Value)])
}
