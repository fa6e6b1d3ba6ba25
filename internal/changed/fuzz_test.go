package changed

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// FuzzURLs feeds url-map rules and a changed path, both untrusted: the
// path comes from GitHub's answer or a user's list. Whatever they hold,
// mapping never panics, never maps an unsafe path, and every URL made is
// under a rule's URL, parses, and holds nothing that could change which
// resource it names or end a log line: no control character, space,
// backslash, query, fragment, . or .. segment (percent-encoded or not),
// or encoded slash.
func FuzzURLs(f *testing.F) {
	for _, s := range []struct{ rules, path, pattern string }{
		{"public/ => https://www.example.com/", "public/blog/index.html", "layouts/**"},
		{"/ => https://example.org", "index.html", "**/*.css"},
		{"public/ => https://www.example.com/\npublic/docs => https://docs.example.com/v2/", "public/docs/a b.html", "*.toml"},
		{"a => https://x.example/a", "a", "a"},
		{"a => https://x.example/a\\b", "a", "a"},
		{"public/ => https://www.example.com/", "public/../x", "**"},
		{"public/ => https://www.example.com/", "public/x\n::error::y.html", "public/*/x"},
		{"public/ => https://www.example.com/", "public/%2e%2e/x", "docs/**/*.md"},
		{"public/ => https://www.example.com/%2e%2e/", "public/x", "*"},
		{"public/ => https://www.example.com/", `public\x`, "***"},
		{"public/ => https://www.example.com/", "public/\xff.html", "[a]"},
	} {
		f.Add(s.rules, s.path, s.pattern)
	}
	f.Fuzz(func(t *testing.T, rulesText, path, pattern string) {
		rules, _ := ParseMap(rulesText)
		if p, err := ParsePattern(pattern); err == nil {
			p.Match(path) // must not panic
		}
		urls, ok, err := URLs(rules, path)
		if unsafePath(path) != "" {
			if err == nil || ok || urls != nil {
				t.Fatalf("unsafe path %q mapped to %q", path, urls)
			}
			return
		}
		if err != nil || (!ok && urls != nil) || (ok && len(urls) == 0) {
			t.Fatalf("URLs(%q) = %q, %v, %v", path, urls, ok, err)
		}
		for _, u := range urls {
			under := false
			for _, r := range rules {
				under = under || strings.HasPrefix(u, strings.TrimRight(r.URL, "/"))
			}
			if !under {
				t.Fatalf("%q is under no rule's URL (%+v)", u, rules)
			}
			if strings.ContainsFunc(u, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' }) {
				t.Fatalf("%q holds a control character, a space or a backslash", u)
			}
			parsed, err := url.Parse(u)
			if err != nil || parsed.RawQuery != "" || parsed.Fragment != "" || strings.ContainsAny(u, "?#") {
				t.Fatalf("%q: %v, query %q, fragment %q", u, err, parsed.RawQuery, parsed.Fragment)
			}
			// Servers decode %2e before folding dot segments: the path
			// is checked decoded, and holds no encoded slash either.
			for seg := range strings.SplitSeq(parsed.Path, "/") {
				if seg == "." || seg == ".." {
					t.Fatalf("%q has a %s segment once decoded", u, seg)
				}
			}
			if escaped := strings.ToLower(parsed.EscapedPath()); strings.Contains(escaped, "%2f") || strings.Contains(escaped, "%5c") {
				t.Fatalf("%q has an encoded slash or backslash", u)
			}
		}
		out := Plan([]string{path, path}, rules, nil, 1000)
		if len(out.Rows) != 1 {
			t.Fatalf("Plan kept %d rows of one path", len(out.Rows))
		}
	})
}
