package action

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// Checks are what the requests to the user's site found around the
// purge: the wait-for before it, verify and warm after it. A nil part did
// not run.
type Checks struct {
	Wait   *Wait
	Verify *Verify
	Warm   *Warm
}

// Wait is how the wait for the new build went.
type Wait struct {
	URL     string
	Polls   int
	Took    time.Duration
	Matched bool
}

// Verify is how the purged URLs were judged.
type Verify struct {
	// Rows are the URLs to show (stale first), at most maxRows; the
	// summary counts the rest.
	Rows                            []CheckRow
	Fresh, Stale, Broken, Unchecked int
}

// CheckRow is one URL of the verify table. Every field is text from
// outside (the site's headers): it is escaped when shown.
type CheckRow struct {
	URL, Status, Age, Judgement string
}

// Warm is how the warm requests went.
type Warm struct {
	Requested, Warmed int
	Broken            int // requests answered with an origin error (5xx, or none)
}

// maxRows is how many URLs the verify table shows; the rest are counted.
const maxRows = 50

// setCheckOutputs writes verified, stale, broken and warmed: 0 for a
// check that did not run.
func (r *Reporter) setCheckOutputs(c Checks) bool {
	verified, stale, broken, warmed := 0, 0, 0, 0
	if c.Verify != nil {
		verified, stale, broken = c.Verify.Fresh, c.Verify.Stale, c.Verify.Broken
	}
	if c.Warm != nil {
		warmed = c.Warm.Warmed
	}
	return r.SetOutput("verified", fmt.Sprint(verified)) &&
		r.SetOutput("stale", fmt.Sprint(stale)) &&
		r.SetOutput("broken", fmt.Sprint(broken)) &&
		r.SetOutput("warmed", fmt.Sprint(warmed))
}

// checksMarkdown is the summary's part for the checks: a line for the
// wait, a table for verify, a line for warm.
func (r *Reporter) checksMarkdown(c Checks) string {
	var md strings.Builder
	if w := c.Wait; w != nil {
		if w.Matched {
			fmt.Fprintf(&md, "\n**wait-for** %s: served the new build after %s (%d poll(s)).\n", r.Markdown(w.URL), w.Took.Round(time.Second), w.Polls)
		} else {
			fmt.Fprintf(&md, "\n**wait-for** %s: never matched in %s (%d poll(s)); nothing was purged.\n", r.Markdown(w.URL), w.Took.Round(time.Second), w.Polls)
		}
	}
	if v := c.Verify; v != nil {
		fmt.Fprintf(&md, "\n**verify**: %d fresh, %d stale, %d broken, %d not checked.\n", v.Fresh, v.Stale, v.Broken, v.Unchecked)
		if len(v.Rows) > 0 {
			md.WriteString("\n| URL | Status | Age | Judgement |\n|---|---|---|---|\n")
			for _, row := range v.Rows[:min(len(v.Rows), maxRows)] {
				fmt.Fprintf(&md, "| %s | %s | %s | %s |\n", r.Markdown(row.URL), r.Markdown(row.Status), r.Markdown(row.Age), r.Markdown(row.Judgement))
			}
			if more := v.Fresh + v.Stale + v.Broken + v.Unchecked - min(len(v.Rows), maxRows); more > 0 {
				fmt.Fprintf(&md, "\nand %d more URL(s).\n", more)
			}
		}
	}
	if w := c.Warm; w != nil {
		fmt.Fprintf(&md, "\n**warm**: %d of %d request(s) answered 2xx or 3xx; %d origin error(s).\n", w.Warmed, w.Requested, w.Broken)
	}
	return md.String()
}

// DryGet is one request to the site a dry run prints.
type DryGet struct {
	Step    string // wait-for, verify, warm
	URL     string
	Headers map[string]string
}

// dryGets prints the requests to the site a run would send.
func (r *Reporter) dryGets(count int, gets iter.Seq[DryGet]) {
	if count == 0 || gets == nil {
		return
	}
	r.Group(fmt.Sprintf("Dry run: %d GET request(s) to the site (nothing is sent)", count))
	i := 0
	for g := range gets {
		i++
		headers := ""
		if len(g.Headers) > 0 {
			parts := make([]string, 0, len(g.Headers))
			for k, v := range g.Headers {
				parts = append(parts, k+": "+v)
			}
			slices.Sort(parts)
			headers = " with " + strings.Join(parts, ", ")
		}
		r.Infof("[%d/%d] %s: GET %s%s", i, count, g.Step, g.URL, headers)
	}
	r.EndGroup()
}
