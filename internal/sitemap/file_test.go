package sitemap

import (
	"fmt"
	"strings"
	"testing"
)

// A file holds at most MaxSkipsShown skips while it waits to be merged,
// however many it counts: a sitemap of 50,000 bad entries costs no
// memory for them.
func TestFileKeepsAtMostTheSkipsShown(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for i := range MaxSkipsShown + 50 {
		fmt.Fprintf(&b, "<url><loc>/relative/%d</loc></url>", i)
	}
	b.WriteString("</urlset>")
	f := &file{url: "https://www.example.com/sitemap.xml", host: "www.example.com", quote: func(s string) string { return s }}
	if err := f.parse(strings.NewReader(b.String()), false, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(f.skips) != MaxSkipsShown || f.skipCount != MaxSkipsShown+50 {
		t.Errorf("%d skips kept, %d counted; want %d, %d", len(f.skips), f.skipCount, MaxSkipsShown, MaxSkipsShown+50)
	}
}
