package resolve

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/sitemap"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// Sitemap is how the sitemap input was read: its URLs are targets of a
// files purge and, when verify-urls is empty, the URLs to check.
type Sitemap struct {
	URL    string
	Result sitemap.Result
	// Cut, when not nil, is the bound a purge of everything read past:
	// only the checks are cut (a files purge stops instead).
	Cut error
	// Unowned are the URLs of hosts no listed zone owns: skipped, never
	// sent (quoted, redacted).
	Unowned []string
}

// readSitemap reads cfg.Sitemap through the site's client, with the
// rules of every request to the site. The protocol's own rule (URLs on
// the sitemap's host) holds when zones are given by ID only, since no
// name says which hosts are theirs. A file past a bound, or any failure,
// stops the run before the purge (named sitemap), unless the purge is of
// everything: then only the checks are cut.
func (r *resolver) readSitemap(ctx context.Context, cfg *config.Config, typ cloudflare.PurgeType) *Sitemap {
	if cfg.Sitemap == "" {
		return nil
	}
	res, err := sitemap.Read(ctx, r.opts.Site, cfg.Sitemap, sitemap.Options{
		SameHost: len(cfg.ZoneNames) == 0, Since: cfg.SitemapSince, Quote: r.secrets.Quote,
	})
	sm := &Sitemap{URL: cfg.Sitemap, Result: res}
	switch {
	case err == nil:
	case typ == cloudflare.Everything && errors.Is(err, sitemap.ErrBound):
		sm.Cut = err
	default:
		r.add("sitemap", "reading the sitemap %s failed: %s; nothing was purged", r.secrets.Quote(cfg.Sitemap), oneLine(err))
		return nil
	}
	return sm
}

// oneLine is a joined error (one line a file) on one line.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// sitemapTargets are the sitemap's URLs as files targets, most important
// first (sitemap.ByImportance: a timeout that cuts warming cuts the least
// important pages).
func sitemapTargets(sm *Sitemap) []cloudflare.Target {
	urls := slices.Clone(sm.Result.URLs)
	sitemap.ByImportance(urls)
	ts := make([]cloudflare.Target, len(urls))
	for i, u := range urls {
		ts[i] = cloudflare.Target{Value: u.Loc}
	}
	return ts
}

// merge adds the sitemap's URLs to ts, each once (a target given first).
func merge(ts, more []cloudflare.Target) []cloudflare.Target {
	seen := make(map[string]bool, len(ts))
	for _, t := range ts {
		seen[t.Value] = true
	}
	out := slices.Clip(ts)
	for _, t := range more {
		if !seen[t.Value] {
			seen[t.Value] = true
			out = append(out, t)
		}
	}
	return out
}

// owned drops from p's targets and URLs to check the sitemap's URLs whose
// host no zone owns (by the one ownership rule, Owner), listing them in
// p.Sitemap.Unowned: a sitemap may list any host, and nobody asked to
// purge another's. With no zone name known, the sitemap's same-host rule
// already held.
func (r *resolver) owned(p *Plan, fromSitemap map[string]bool) {
	if p.Sitemap == nil || !slices.ContainsFunc(p.Zones, func(z Zone) bool { return z.Name != "" }) {
		return
	}
	keep := func(ts []cloudflare.Target) []cloudflare.Target {
		if ts == nil {
			return nil
		}
		out := make([]cloudflare.Target, 0, len(ts))
		for _, t := range ts {
			if fromSitemap[t.Value] && Owner(targets.Host(cloudflare.Files, t), p.Zones) < 0 {
				if !slices.Contains(p.Sitemap.Unowned, r.secrets.Quote(t.Value)) {
					p.Sitemap.Unowned = append(p.Sitemap.Unowned, r.secrets.Quote(t.Value))
				}
				continue
			}
			out = append(out, t)
		}
		return out
	}
	if p.PurgeType == cloudflare.Files {
		p.Targets = keep(p.Targets)
	}
	p.VerifyURLs = keep(p.VerifyURLs)
}
