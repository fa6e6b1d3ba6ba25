package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// Compare reads what changed between two commits: GitHub's compare API
// (*changed.GitHub).
type Compare interface {
	Compare(ctx context.Context, base, head string) (changed.Comparison, error)
}

// contentsRead is the permission the compare API needs, as a workflow
// names it.
const contentsRead = "permissions: contents: read"

// Changes is how purge-type changed was resolved: from which source, each
// changed path and what it purges, and why everything is purged instead
// when it is.
type Changes struct {
	Source string        // "changed-files", or "changed since SHA"
	Rows   []changed.Row // each path and its URLs, or why it is not purged
	// Everything, when not "", says why everything is purged instead of
	// the changed files.
	Everything string
	// FromTrees says the comparison's list was possibly cut (300 files),
	// so the changed paths are the difference of the two commits' trees.
	FromTrees bool
}

// changes turns purge-type changed into what it purges: the targets of a
// files purge (the URLs of the changed paths, validated as any files
// target), or everything (the reason in Changes.Everything), or nothing
// (the reason returned as nothing). It never writes cfg.
func (r *resolver) changes(ctx context.Context, cfg *config.Config, gh Compare) (typ cloudflare.PurgeType, ts []cloudflare.Target, ch *Changes, nothing string, ok bool) {
	c := cfg.Changed
	ch = &Changes{}
	var paths []string
	switch {
	case c.FilesGiven:
		paths, ch.Source = c.Files, "changed-files"
	case c.Since == "":
		ch.Everything = "changed-since is empty (github.event.before is empty for events other than push), so what changed is unknown."
	case c.NewBranch():
		ch.Everything = "changed-since is all zeros: the first push of a new branch has no commit before it."
	default:
		cmp, err := gh.Compare(ctx, c.Since, c.Head)
		if err != nil {
			r.add("changed-since", "%s", compareFailure(ctx, c, err))
			return "", nil, nil, "", false
		}
		paths, ch.Source, ch.Everything, ch.FromTrees = cmp.Paths, fmt.Sprintf("changed since %s", c.Since), cmp.Everything, cmp.FromTrees
		if ch.Everything == "" && cmp.Status == "identical" {
			return "", nil, ch, fmt.Sprintf("GITHUB_SHA is the commit changed-since names (%s): no file changed.", safetext.Quote(c.Since)), true
		}
	}
	if ch.Everything != "" {
		return cloudflare.Everything, nil, ch, "", true
	}
	if len(paths) == 0 {
		return "", nil, ch, fmt.Sprintf("No file changed (%s).", ch.Source), true
	}
	out := changed.Plan(paths, c.Rules, c.Patterns, c.Max)
	ts = r.mappedURLs(&out)
	ch.Rows = out.Rows
	if out.Everything != "" {
		ch.Everything = out.Everything + "."
		return cloudflare.Everything, nil, ch, "", true
	}
	if len(ts) == 0 {
		return "", nil, ch, fmt.Sprintf("None of the %d changed path(s) maps to a URL: no url-map rule matches them, or they are not safe to map (the log lists why).", len(out.Rows)), true
	}
	return cloudflare.Files, ts, ch, "", true
}

// mappedURLs validates the URLs of out as any files target is validated
// (the rule lives in targets); a path whose URL fails, or holds a secret
// (a file named after a token), is skipped with the reason. It returns
// the valid targets, in order.
func (r *resolver) mappedURLs(out *changed.Outcome) []cloudflare.Target {
	list := targets.NewList(cloudflare.Files)
	for i, row := range out.Rows {
		for _, u := range row.URLs {
			if r.secrets.Held(cloudflare.Target{Value: u}) {
				out.Rows[i].Skipped = "its URL holds a secret, so no request carries it"
				r.notPurged = append(r.notPurged, r.secrets.Quote(u))
			} else if err := list.Add(u); err != nil {
				out.Rows[i].Skipped = "not mapped: " + err.Error()
			}
		}
		if out.Rows[i].Skipped != "" {
			out.Rows[i].URLs = nil
		}
	}
	keep := map[string]bool{} // the URLs of rows still mapped
	for _, row := range out.Rows {
		for _, u := range row.URLs {
			keep[u] = true
		}
	}
	var valid []cloudflare.Target
	for _, t := range list.Targets() {
		if keep[t.Value] {
			valid = append(valid, t)
		}
	}
	return valid
}

// compareFailure says why the changes could not be read, and what to do.
func compareFailure(ctx context.Context, c *config.Changed, err error) string {
	what := fmt.Sprintf("Reading the files changed since %s in %s from GitHub's compare API", safetext.Quote(c.Since), c.Repository)
	apiErr, isAPI := errors.AsType[*changed.APIError](err)
	switch {
	case isAPI && apiErr.RepositoryHidden:
		return fmt.Sprintf("%s failed: GitHub answers 404 for the repository itself, so github-token cannot see it. Give the job %s (or pass a github-token that can read %s). Nothing was purged.", what, contentsRead, c.Repository)
	case isAPI && apiErr.AuthFailure():
		return fmt.Sprintf("%s was refused (%v). Give the job %s, or pass a github-token that can read the repository. Nothing was purged.", what, err, contentsRead)
	case isAPI && !apiErr.RateLimitReset.IsZero():
		return fmt.Sprintf("%s failed: %v. Run again after the reset, or give changed-files instead. Nothing was purged.", what, err)
	case isAPI && (apiErr.Status >= 500 || apiErr.Status == http.StatusTooManyRequests):
		return fmt.Sprintf("%s failed: the API could not answer (%v) after every retry (max-retries). Nothing was purged; run again.", what, err)
	case ctx.Err() != nil:
		return fmt.Sprintf("%s did not finish: %v. Nothing was purged.", what, retry.Interrupted(ctx.Err()))
	}
	return fmt.Sprintf("%s failed: %v. Nothing was purged.", what, err)
}

// joinURLs is the targets' values, one a line: the source a route
// problem of purge-type changed names (url-map made them).
func joinURLs(ts []cloudflare.Target) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.Value)
		b.WriteByte('\n')
	}
	return b.String()
}
