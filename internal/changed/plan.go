package changed

import (
	"fmt"

	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// Row is what one changed path became: its URLs, or why it has none.
type Row struct {
	Path string
	URLs []string
	// Skipped says why the path purges nothing: no rule matches it, or
	// it is not safe to map. "" when it has URLs.
	Skipped string
}

// Outcome is what a set of changed paths purges.
type Outcome struct {
	Rows []Row    // one a distinct path, in the order given
	URLs []string // every URL once, in the order the paths gave them
	// Everything, when not "", is why the whole cache is purged instead
	// of the URLs.
	Everything string
}

// NoRule is the Skipped of a path no url-map rule matches.
const NoRule = "matches no url-map rule"

// Plan maps the changed paths through rules. The whole cache is purged
// instead when a path matches one of the patterns, or when the URLs are
// more than maxURLs.
func Plan(paths []string, rules []Rule, patterns []Pattern, maxURLs int) Outcome {
	var out Outcome
	seenPath := map[string]bool{}
	seenURL := map[string]bool{}
	for _, p := range paths {
		if seenPath[p] {
			continue
		}
		seenPath[p] = true
		if out.Everything == "" {
			for _, pat := range patterns {
				if pat.Match(p) {
					out.Everything = fmt.Sprintf("changed path %s matches purge-everything-when pattern %s", safetext.Quote(p), safetext.Quote(pat.Text))
					break
				}
			}
		}
		row := Row{Path: p}
		urls, ok, err := URLs(rules, p)
		switch {
		case err != nil:
			row.Skipped = "not mapped: it " + err.Error()
		case !ok:
			row.Skipped = NoRule
		}
		row.URLs = urls
		for _, u := range urls {
			if !seenURL[u] {
				seenURL[u] = true
				out.URLs = append(out.URLs, u)
			}
		}
		out.Rows = append(out.Rows, row)
	}
	if out.Everything == "" && len(out.URLs) > maxURLs {
		out.Everything = fmt.Sprintf("the changed files map to %d URLs, more than max-changed (%d)", len(out.URLs), maxURLs)
	}
	return out
}
