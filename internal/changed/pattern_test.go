package changed

import (
	"strings"
	"testing"
)

func TestPatternsMatchAsGitHubPathFilters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{"config.toml", []string{"config.toml"}, []string{"a/config.toml", "config.toml.bak"}},
		{"*.css", []string{"site.css", ".css"}, []string{"css/site.css", "site.scss"}},
		{"**/*.css", []string{"site.css", "a/site.css", "a/b/c.css"}, []string{"a/site.css.map"}},
		{"layouts/**", []string{"layouts/a.html", "layouts/x/y/z"}, []string{"layouts", "src/layouts/a"}},
		{"docs/**/*.md", []string{"docs/a.md", "docs/x/y/a.md"}, []string{"docs.md", "a/docs/b.md"}},
		{"**", []string{"a", "a/b/c", "line\nbreak"}, nil},
		{"src/*/index.html", []string{"src/a/index.html"}, []string{"src/index.html", "src/a/b/index.html"}},
		{"a.b(c)$^.txt", []string{"a.b(c)$^.txt"}, []string{"aXb(c)$^.txt"}},
	} {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", tc.pattern, err)
		}
		for _, s := range tc.yes {
			if !p.Match(s) {
				t.Errorf("%q does not match %q", tc.pattern, s)
			}
		}
		for _, s := range tc.no {
			if p.Match(s) {
				t.Errorf("%q matches %q", tc.pattern, s)
			}
		}
	}
}

func TestBadPatternsAreRefused(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"a?.css", "[ab].css", "!docs/**", "a+.js", "***", "../x", "/abs", `a\b`, "a//b", "x\x00"} {
		if _, err := ParsePattern(s); err == nil {
			t.Errorf("ParsePattern(%q) accepted", s)
		}
	}
	_, err := ParsePatterns("ok/**\n[bad]\n")
	if err == nil || !strings.Contains(err.Error(), "line 2:") {
		t.Errorf("ParsePatterns: err = %v; want line 2 named", err)
	}
}
