package changed

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// Pattern is one purge-everything-when line: a path pattern as in
// GitHub's workflow path filters, * matching within one path segment
// and ** any number of segments.
type Pattern struct {
	Text string
	re   *regexp.Regexp
}

// PatternWant says what a valid pattern looks like.
const PatternWant = "a path pattern like layouts/**, config.toml or **/*.css, one a line (* matches within a folder name, ** across folders)"

// ParsePatterns reads purge-everything-when: one pattern a line, blank
// lines and lines starting with # skipped.
func ParsePatterns(text string) ([]Pattern, error) {
	var out []Pattern
	var bad LinesError
	for n, line := range targets.Lines(text) {
		p, err := ParsePattern(line)
		if err != nil {
			bad = append(bad, LineError{n, err})
			continue
		}
		out = append(out, p)
	}
	if len(out)+len(bad) > MaxPatterns {
		return nil, fmt.Errorf("has %d patterns; at most %d", len(out)+len(bad), MaxPatterns)
	}
	if len(bad) > 0 {
		return out, bad
	}
	return out, nil
}

// ParsePattern compiles one pattern. Only * and ** are special: the other
// characters GitHub's filters treat specially (? + [ ] !) are refused
// rather than read as literal, so a pattern never silently means
// something else here than in a workflow's paths filter.
func ParsePattern(s string) (Pattern, error) {
	switch {
	case len(s) > maxRuleBytes:
		return Pattern{}, fmt.Errorf("is %d bytes long; at most %d", len(s), maxRuleBytes)
	case strings.ContainsAny(s, "?+[]!"):
		return Pattern{}, fmt.Errorf("%s has one of ? + [ ] !, which this action does not support; want %s", safetext.Quote(s), PatternWant)
	case strings.Contains(s, "***"):
		return Pattern{}, fmt.Errorf("%s has ***; want %s", safetext.Quote(s), PatternWant)
	}
	if why := unsafePath(strings.ReplaceAll(s, "*", "x")); why != "" {
		return Pattern{}, fmt.Errorf("%s %s; want %s", safetext.Quote(s), why, PatternWant)
	}
	var re strings.Builder
	re.WriteString(`\A`)
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "**/"):
			re.WriteString(`(?:.*/)?`) // none or any number of whole folders
			i += 3
		case strings.HasPrefix(s[i:], "**"):
			re.WriteString(`.*`)
			i += 2
		case s[i] == '*':
			re.WriteString(`[^/]*`)
			i++
		default:
			j := i
			for j < len(s) && s[j] != '*' {
				j++
			}
			re.WriteString(regexp.QuoteMeta(s[i:j]))
			i = j
		}
	}
	re.WriteString(`\z`)
	// (?s): a file name may hold a line break, and .* must still match it.
	compiled, err := regexp.Compile("(?s)" + re.String())
	if err != nil {
		return Pattern{}, fmt.Errorf("%s: %w; want %s", safetext.Quote(s), err, PatternWant)
	}
	return Pattern{Text: s, re: compiled}, nil
}

// Match reports whether path matches the pattern. Go's regexp runs in
// time linear in the path, whatever the pattern.
func (p Pattern) Match(path string) bool { return p.re != nil && p.re.MatchString(path) }
