package command

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cenkalti/backoff/v5"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// The permissions lookups need, beside Zone › Cache Purge, as the
// dashboard names them.
const (
	zoneReadPermission       = "Zone > Zone > Read"
	versioningReadPermission = "Zone > Zone Versioning > Read"
)

// zone is one zone of the run: its ID, and its name and account when it
// was looked up.
type zone struct {
	ID, Name, Account string
}

// lookups are the calls that find zones and environments by name;
// *cloudflare.Client makes them.
type lookups interface {
	ZonesByName(ctx context.Context, name string) ([]cloudflare.Zone, error)
	Zone(ctx context.Context, id string) (cloudflare.Zone, error)
	Environments(ctx context.Context, zoneID string) ([]cloudflare.Environment, error)
}

// resolver finds what the config names by name, before anything is
// purged. A lookup that fails is a problem of the input that asked for it.
type resolver struct {
	api        lookups
	retries    int
	newBackOff func() purge.BackOff
	problems   []config.Problem
}

func (r *resolver) add(input, format string, args ...any) {
	r.problems = append(r.problems, config.Problem{Input: input, Message: fmt.Sprintf(format, args...)})
}

// err is the problems found, as the error validation gives.
func (r *resolver) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return &config.InvalidError{Problems: r.problems}
}

// needsLookups reports whether the run must ask the API before it purges:
// a zone or environment given by name, or several zones whose names route
// files, hosts or prefixes. One zone-id and no names needs none, and so no
// permission beyond Cache Purge.
func needsLookups(cfg *config.Config) bool {
	return len(cfg.ZoneNames) > 0 || cfg.EnvironmentName != "" || (cfg.Zones() > 1 && routed(cfg.PurgeType))
}

// routed reports whether targets of typ go to the zone that owns their
// host, rather than to every zone.
func routed(typ cloudflare.PurgeType) bool {
	return typ == cloudflare.Files || typ == cloudflare.Hosts || typ == cloudflare.Prefixes
}

// zones returns the run's zones in input order (zone-id, then zone),
// each once, with the names routing needs.
func (r *resolver) zones(ctx context.Context, cfg *config.Config) []zone {
	var zones []zone
	addZone := func(z zone) {
		if i := slices.IndexFunc(zones, func(o zone) bool { return o.ID == z.ID }); i >= 0 {
			if zones[i].Name == "" {
				zones[i].Name, zones[i].Account = z.Name, z.Account
			}
			return
		}
		zones = append(zones, z)
	}
	for _, id := range cfg.ZoneIDs {
		addZone(zone{ID: id})
	}
	for _, name := range cfg.ZoneNames {
		found, err := retry(ctx, r, func() ([]cloudflare.Zone, error) { return r.api.ZonesByName(ctx, name) })
		// Exact match only: the API's default, checked again here.
		found = slices.DeleteFunc(found, func(z cloudflare.Zone) bool { return !strings.EqualFold(z.Name, name) })
		switch {
		case err != nil:
			r.add("zone", "looking up %s %s", safetext.Quote(name), failure(err, zoneReadPermission))
		case len(found) == 0:
			r.add("zone", "%s matches no zone this token can read; check the name, or give the token the %s permission on it", safetext.Quote(name), zoneReadPermission)
		case len(found) > 1:
			r.add("zone", "%s matches %d zones (in accounts %s); give the one meant by its zone-id", safetext.Quote(name), len(found), accounts(found))
		default:
			addZone(zone{ID: found[0].ID, Name: strings.ToLower(found[0].Name), Account: found[0].Account.ID})
		}
	}
	if len(zones) > 1 && routed(cfg.PurgeType) {
		// Routing needs every zone's name.
		for i, z := range zones {
			if z.Name != "" {
				continue
			}
			found, err := retry(ctx, r, func() (cloudflare.Zone, error) { return r.api.Zone(ctx, z.ID) })
			if err != nil {
				r.add("zone-id", "looking up zone %s, whose name decides which %s go to it, %s; or purge each zone in a step of its own", z.ID, cfg.PurgeType, failure(err, zoneReadPermission))
				continue
			}
			zones[i].Name, zones[i].Account = strings.ToLower(found.Name), found.Account.ID
		}
	}
	return zones
}

// environment returns the ID of the environment named in the config,
// looked up in the one zone.
func (r *resolver) environment(ctx context.Context, cfg *config.Config, zones []zone) string {
	if cfg.EnvironmentName == "" || len(zones) != 1 {
		return cfg.EnvironmentID
	}
	envs, err := retry(ctx, r, func() ([]cloudflare.Environment, error) { return r.api.Environments(ctx, zones[0].ID) })
	if err != nil {
		r.add("environment", "looking up %s in zone %s %s", safetext.Quote(cfg.EnvironmentName), zones[0].ID, failure(err, versioningReadPermission))
		return ""
	}
	var names []string
	for _, e := range envs {
		if strings.EqualFold(e.Name, cfg.EnvironmentName) {
			return e.Ref
		}
		names = append(names, safetext.Quote(e.Name))
	}
	if len(names) == 0 {
		names = []string{"none: zone versioning may be off for this zone"}
	}
	r.add("environment", "zone %s has no environment named %s; it has %s", zones[0].ID, safetext.Quote(cfg.EnvironmentName), strings.Join(names, ", "))
	return ""
}

// failure words a failed lookup, naming the permission it needs when it
// was refused.
func failure(err error, permission string) string {
	if apiErr, ok := errors.AsType[*cloudflare.APIError](err); ok && apiErr.AuthFailure() {
		return fmt.Sprintf("was refused (%v): give the token the %s permission", err, permission)
	}
	return fmt.Sprintf("failed: %v", err)
}

func accounts(zones []cloudflare.Zone) string {
	var names []string
	for _, z := range zones {
		names = append(names, safetext.Quote(z.Account.Name))
	}
	return strings.Join(names, ", ")
}

// retry runs a lookup, again after a 429, a 5xx or a network error, as
// often as max-retries allows, waiting as Retry-After says.
func retry[T any](ctx context.Context, r *resolver, call func() (T, error)) (T, error) {
	return backoff.Retry(ctx, func() (T, error) {
		v, err := call()
		if err == nil {
			return v, nil
		}
		apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
		switch {
		case isAPI && !apiErr.Retryable(), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return v, backoff.Permanent(err)
		case isAPI && apiErr.HasRetryAfter:
			return v, waitThen{err, &backoff.RetryAfterError{Duration: apiErr.RetryAfter}}
		}
		return v, err
	}, backoff.WithBackOff(r.newBackOff()), backoff.WithMaxTries(uint(r.retries)+1), backoff.WithMaxElapsedTime(0))
}

// waitThen is a lookup error that asks backoff.Retry to wait as the
// server said, and still reads as the server's error if it is the last.
type waitThen struct {
	err   error
	after *backoff.RetryAfterError
}

func (w waitThen) Error() string   { return w.err.Error() }
func (w waitThen) Unwrap() []error { return []error{w.err, w.after} }

// route gives each zone its targets: tags and everything go to every
// zone; files, hosts and prefixes, with several zones, to the zone whose
// name is the target's host or its longest parent domain
// (cdn.example.org → example.org). A target no zone owns is a problem of
// the input it came from, listed by line.
func route(cfg *config.Config, zones []zone) ([][]cloudflare.Target, error) {
	out := make([][]cloudflare.Target, len(zones))
	if len(zones) == 1 || !routed(cfg.PurgeType) {
		for i := range zones {
			out[i] = cfg.Targets
		}
		return out, nil
	}
	unowned := map[string]bool{}
	for _, t := range cfg.Targets {
		if i := owner(targets.Host(cfg.PurgeType, t), zones); i >= 0 {
			out[i] = append(out[i], t)
		} else {
			unowned[t.Value] = true
		}
	}
	if len(unowned) == 0 {
		return out, nil
	}
	var names []string
	for _, z := range zones {
		names = append(names, z.Name)
	}
	var problems []config.Problem
	for _, src := range cfg.Sources {
		bad := &targets.BadLinesError{}
		for it := range targets.Items(cfg.PurgeType, src.Text) {
			if it.Err == nil && unowned[it.Target.Value] {
				bad.Add(it.Line, fmt.Errorf("%s is in none of the zones", safetext.Quote(it.Target.Value)))
			}
		}
		if bad.Count > 0 {
			problems = append(problems, config.Problem{Input: src.Input, Message: fmt.Sprintf("%v; the zones are %s: add the zone that owns them, or remove them", bad, strings.Join(names, ", "))})
		}
	}
	return nil, &config.InvalidError{Problems: problems}
}

// owner is the index of the zone whose name is host or its longest
// parent domain, or -1.
func owner(host string, zones []zone) int {
	best := -1
	for i, z := range zones {
		if (host == z.Name || strings.HasSuffix(host, "."+z.Name)) && (best < 0 || len(z.Name) > len(zones[best].Name)) {
			best = i
		}
	}
	return best
}
