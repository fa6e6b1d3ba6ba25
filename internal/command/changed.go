package command

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// maxTableRows bounds the log's table of changed paths; the rest are
// counted.
const maxTableRows = 1000

// contentsRead is the permission the compare API needs, as a workflow
// names it.
const contentsRead = "permissions: contents: read"

// resolveChanged turns purge-type changed into what it purges: files
// (the URLs of the changed paths, validated as any files target, less
// those that hold a secret), or everything with a notice saying why, or
// nothing. done is true when the run ends here (nothing to purge, or the
// changes could not be read), with code its exit code.
func resolveChanged(ctx context.Context, cfg *config.Config, env Env, rep *action.Reporter, newBackOff func() purge.BackOff, s *secrets) (code int, done bool) {
	c := cfg.Changed
	var paths []string
	var source, everything string
	switch {
	case c.FilesGiven:
		paths, source = c.Files, "changed-files"
	case c.Since == "":
		everything = "changed-since is empty (github.event.before is empty for events other than push), so what changed is unknown."
	case c.NewBranch():
		everything = "changed-since is all zeros: the first push of a new branch has no commit before it."
	default:
		gh := &changed.GitHub{
			BaseURL: c.GitHubAPIURL, Repository: c.Repository, Token: c.GitHubToken, OtherSecrets: s.values,
			HTTP:      httpClient(env.HTTPClient, 2, rep),
			UserAgent: "cloudflare-purge-action/" + env.Version, MaxRetries: cfg.MaxRetries, NewBackOff: newBackOff,
		}
		cmp, err := gh.Compare(ctx, c.Since, c.Head)
		rep.Debugf("compare %s...%s in %s: status %q, %d path(s), %d commit(s) walked, %d request(s)",
			c.Since, c.Head, c.Repository, cmp.Status, len(cmp.Paths), cmp.Walked, cmp.Requests)
		if err != nil {
			problem := []action.Problem{{Input: "changed-since", Message: compareFailure(ctx, c, err)}}
			if !rep.StoppedBeforePurge(problem, cfg.OnErrorWarn, zonesAsGiven(cfg)) || !cfg.OnErrorWarn {
				return ExitFailure, true
			}
			return ExitOK, true
		}
		if cmp.Walked > 0 {
			rep.Infof("GitHub's comparison lists %d files, its most, so its %d commits were read one by one.", changed.CompareFilesCap, cmp.Walked)
		}
		paths, source, everything = cmp.Paths, fmt.Sprintf("changed since %s", c.Since), cmp.Everything
		if everything == "" && cmp.Status == "identical" {
			return nothingToPurge(cfg, rep, fmt.Sprintf("GITHUB_SHA is the commit changed-since names (%s): no file changed.", safetext.Quote(c.Since)))
		}
	}
	if everything == "" && len(paths) == 0 {
		return nothingToPurge(cfg, rep, fmt.Sprintf("No file changed (%s).", source))
	}
	if everything == "" {
		out := changed.Plan(paths, c.Rules, c.Patterns, c.Max)
		urls, held := checkURLs(&out, s)
		printTable(rep, source, out, s)
		warnWithheld(rep, held, nil)
		if everything = out.Everything; everything == "" {
			if len(urls) == 0 {
				return nothingToPurge(cfg, rep, fmt.Sprintf("None of the %d changed path(s) maps to a URL: no url-map rule matches them, or they are not safe to map (the log lists why).", len(out.Rows)))
			}
			cfg.Targets = urls
			// Routing names the source of a URL no zone owns.
			cfg.Sources = []config.Source{{Input: "url-map", Text: joinURLs(urls)}}
			return 0, false
		}
		everything += "."
	}
	cfg.PurgeType, cfg.Targets, cfg.Sources = cloudflare.Everything, nil, nil
	title := "Purging everything"
	if cfg.DryRun {
		title = "Dry run: would purge everything"
	}
	rep.Notice(title, "purge-type changed purges everything instead of the changed files: "+everything)
	return 0, false
}

// checkURLs validates the URLs of out as any files target is validated;
// a path whose URL fails, or holds a secret (a file named after a
// token), is skipped, with the reason. It returns the valid targets, and
// the URLs (quoted, redacted) skipped for a secret.
func checkURLs(out *changed.Outcome, s *secrets) (valid []cloudflare.Target, held []string) {
	list := targets.NewList(cloudflare.Files)
	for i, row := range out.Rows {
		for _, u := range row.URLs {
			if s.held(cloudflare.Target{Value: u}) {
				out.Rows[i].Skipped = "its URL holds a secret, so no request carries it"
				held = append(held, s.quote(u))
			} else if err := list.Add(u); err != nil {
				out.Rows[i].Skipped = "not mapped: " + err.Error()
			}
		}
		if out.Rows[i].Skipped != "" {
			out.Rows[i].URLs = nil
		}
	}
	// Keep only the URLs of rows still mapped, in order.
	keep := map[string]bool{}
	for _, row := range out.Rows {
		for _, u := range row.URLs {
			keep[u] = true
		}
	}
	for _, t := range list.Targets() {
		if keep[t.Value] {
			valid = append(valid, t)
		}
	}
	return valid, held
}

// printTable logs every changed path and what it purges. Each line
// starts with the quoted path (redacted first), so no file name can
// start a workflow command.
func printTable(rep *action.Reporter, source string, out changed.Outcome, s *secrets) {
	skipped := 0
	for _, row := range out.Rows {
		if row.Skipped != "" {
			skipped++
		}
	}
	rep.Group(fmt.Sprintf("Changed files (%s): %d path(s), %d not purged", source, len(out.Rows), skipped))
	for i, row := range out.Rows {
		if i == maxTableRows {
			rep.Infof("and %d more path(s)", len(out.Rows)-i)
			break
		}
		what := "not purged: " + row.Skipped
		if row.Skipped == "" {
			what = strings.Join(row.URLs, " ")
		}
		rep.Infof("%s -> %s", s.quote(row.Path), what)
	}
	rep.EndGroup()
}

func joinURLs(ts []cloudflare.Target) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

// nothingToPurge ends the run: no request to Cloudflare, a notice,
// count 0.
func nothingToPurge(cfg *config.Config, rep *action.Reporter, why string) (int, bool) {
	if !rep.Nothing("Nothing to purge", why, zonesAsGiven(cfg)) {
		return ExitFailure, true
	}
	return ExitOK, true
}

// zonesAsGiven are the results output's objects of a run that ended
// before any lookup: one a zone, as the inputs give them (IDs, then
// names, not looked up: nothing needed them), nothing done.
func zonesAsGiven(cfg *config.Config) []action.Zone {
	envID := cfg.EnvironmentID.String() // "" for the zone itself, or a name not looked up
	zones := make([]action.Zone, 0, cfg.Zones())
	for _, id := range cfg.ZoneIDs {
		zones = append(zones, action.Zone{ID: id.String(), EnvironmentID: envID})
	}
	for _, name := range cfg.ZoneNames {
		zones = append(zones, action.Zone{Name: name, EnvironmentID: envID})
	}
	return zones
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
