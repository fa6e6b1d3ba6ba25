package changed

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPlan maps a large deploy: 3,000 changed paths (the most
// GitHub lists for one commit) through 20 rules and 10 patterns, none of
// which matches, so every path is checked against every pattern.
func BenchmarkPlan(b *testing.B) {
	var rules, patterns strings.Builder
	for i := range 20 {
		fmt.Fprintf(&rules, "site%d/ => https://www.example.com/s%d/\n", i, i)
	}
	for i := range 10 {
		fmt.Fprintf(&patterns, "layouts%d/**/*.tmpl\n", i)
	}
	r, err := ParseMap(rules.String())
	if err != nil {
		b.Fatal(err)
	}
	p, err := ParsePatterns(patterns.String())
	if err != nil {
		b.Fatal(err)
	}
	paths := make([]string, 3000)
	for i := range paths {
		paths[i] = fmt.Sprintf("site%d/blog/2026/post-%d/index.html", i%20, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		out := Plan(paths, r, p, 10000)
		if len(out.URLs) != 6000 || out.Everything != "" {
			b.Fatalf("%d URLs, everything %q", len(out.URLs), out.Everything)
		}
	}
}
