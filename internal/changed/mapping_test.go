package changed

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func mustMap(t *testing.T, text string) []Rule {
	t.Helper()
	rules, err := ParseMap(text)
	if err != nil {
		t.Fatalf("ParseMap(%q): %v", text, err)
	}
	return rules
}

func TestURLsFollowTheMappingRules(t *testing.T) {
	t.Parallel()
	rules := mustMap(t, `
# the site, and its docs on another host
public/ => https://www.example.com/
public/docs => https://docs.example.com/v2/
static/robots.txt => https://www.example.com/robots.txt
public/spaced => https://www.example.com/a%20b/
`)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"public/index.html", []string{"https://www.example.com/", "https://www.example.com/index.html"}},
		{"public/blog/index.html", []string{"https://www.example.com/blog/", "https://www.example.com/blog/index.html"}},
		{"public/about.html", []string{"https://www.example.com/about.html", "https://www.example.com/about"}},
		{"public/css/site.css", []string{"https://www.example.com/css/site.css"}},
		{"public/docs/intro.html", []string{"https://docs.example.com/v2/intro.html", "https://docs.example.com/v2/intro"}},
		{"public/docs/index.html", []string{"https://docs.example.com/v2/", "https://docs.example.com/v2/index.html"}},
		{"public/docsearch.js", []string{"https://www.example.com/docsearch.js"}}, // by whole segments
		{"static/robots.txt", []string{"https://www.example.com/robots.txt"}},
		// A URL prefix may be percent-encoded (only encoded dots and
		// slashes are refused).
		{"public/spaced/x.css", []string{"https://www.example.com/a%20b/x.css"}},
		// Each segment escaped as url.PathEscape does.
		{"public/my page.html", []string{"https://www.example.com/my%20page.html", "https://www.example.com/my%20page"}},
		{"public/a#b?c.txt", []string{"https://www.example.com/a%23b%3Fc.txt"}},
		{"public/café/100%.png", []string{"https://www.example.com/caf%C3%A9/100%25.png"}},
		{"public/x*y.txt", []string{"https://www.example.com/x%2Ay.txt"}},
		{"public/.html", []string{"https://www.example.com/.html"}},
	} {
		got, ok, err := URLs(rules, tc.path)
		if err != nil || !ok || !slices.Equal(got, tc.want) {
			t.Errorf("URLs(%q) = %q, %v, %v; want %q", tc.path, got, ok, err, tc.want)
		}
	}
}

func TestRootRuleAndUnmatchedPaths(t *testing.T) {
	t.Parallel()
	root := mustMap(t, "/ => https://example.org")
	got, ok, _ := URLs(root, "index.html")
	if want := []string{"https://example.org/", "https://example.org/index.html"}; !ok || !slices.Equal(got, want) {
		t.Errorf("root index.html = %q; want %q", got, want)
	}
	site := mustMap(t, "public/ => https://www.example.com/")
	for _, p := range []string{"README.md", "publicity.html", "src/public/a.html"} {
		if got, ok, err := URLs(site, p); ok || err != nil || got != nil {
			t.Errorf("URLs(%q) = %q, %v, %v; want no rule", p, got, ok, err)
		}
	}
}

func TestUnsafePathsAreNeverMapped(t *testing.T) {
	t.Parallel()
	rules := mustMap(t, "/ => https://www.example.com/")
	for _, p := range []string{
		"public/../secret.html", "..", "a/./b.html", `public\index.html`, "a//b", "/abs.html", "dir/",
		"evil\n::error::pwned.html", "nul\x00.html", "bell\a", "del\x7f", "c1\u0085.html", "bad\xff.html",
	} {
		if got, ok, err := URLs(rules, p); err == nil || ok || got != nil {
			t.Errorf("URLs(%q) = %q, %v, %v; want it refused", p, got, ok, err)
		}
	}
}

func TestParseMapNamesEveryBadLine(t *testing.T) {
	t.Parallel()
	text := strings.Join([]string{
		"public/ => https://www.example.com/", // 1 fine
		"public/ https://www.example.com/",    // 2 no =>
		"docs/ => www.example.com/docs/",      // 3 no scheme
		"a/ => https://example.com/?q=1",      // 4 query
		"b/ => https://user:pw@example.com/",  // 5 credentials
		"../x => https://example.com/",        // 6 .. in the path
		"public => https://other.example/",    // 7 same prefix again
		"c*/ => https://example.com/",         // 8 wildcard prefix
		"d/ => https://example.com/a/../b/",   // 9 .. in the URL
		"e/ => ftp://example.com/",            // 10 scheme
		"f/ => https://example.com/a/%2E%2e/", // 11 .. in the URL, encoded
		"g/ => https://example.com/a%2Fb/",    // 12 encoded slash
	}, "\n")
	rules, err := ParseMap(text)
	var bad LinesError
	if !errors.As(err, &bad) {
		t.Fatalf("err = %v; want a LinesError", err)
	}
	var lines []int
	for _, l := range bad {
		lines = append(lines, l.Line)
	}
	if want := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; !slices.Equal(lines, want) {
		t.Errorf("bad lines %v; want %v (%v)", lines, want, err)
	}
	if len(rules) != 1 || rules[0].Path != "public" {
		t.Errorf("rules = %+v; want the one good rule", rules)
	}
	if _, err := ParseMap(strings.Repeat("a/ => https://example.com/\n", MaxRules+1)); err == nil || !strings.Contains(err.Error(), "at most 100") {
		t.Errorf("too many rules: err = %v", err)
	}
}

func TestPlanDedupesAndFallsBack(t *testing.T) {
	t.Parallel()
	rules := mustMap(t, "public/ => https://www.example.com/")
	pats, err := ParsePatterns("layouts/**\nconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"public/a.html", "public/a.html", "public/b/index.html", "README.md", "public/../x"}
	out := Plan(paths, rules, pats, 100)
	want := []string{"https://www.example.com/a.html", "https://www.example.com/a", "https://www.example.com/b/", "https://www.example.com/b/index.html"}
	if out.Everything != "" || !slices.Equal(out.URLs, want) {
		t.Errorf("Plan = %q, everything %q; want %q", out.URLs, out.Everything, want)
	}
	if len(out.Rows) != 4 || out.Rows[2].Skipped != NoRule || !strings.Contains(out.Rows[3].Skipped, ".. segment") {
		t.Errorf("rows = %+v", out.Rows)
	}

	out = Plan([]string{"public/a.html", "layouts/base.html"}, rules, pats, 100)
	if !strings.Contains(out.Everything, `"layouts/base.html" matches purge-everything-when pattern "layouts/**"`) {
		t.Errorf("pattern: everything = %q", out.Everything)
	}
	out = Plan([]string{"public/a.html", "public/b.css"}, rules, nil, 2)
	if !strings.Contains(out.Everything, "3 URLs, more than max-changed (2)") {
		t.Errorf("max: everything = %q", out.Everything)
	}
	if out := Plan([]string{"public/a.css", "public/b.css"}, rules, nil, 2); out.Everything != "" {
		t.Errorf("exactly max: everything = %q", out.Everything)
	}
}
