// Package resolve is the step between reading the inputs and purging: it
// turns zone and environment names into validated IDs, asking Cloudflare,
// and the targets into one purge job per zone. Nothing is purged until it
// has finished without a problem.
//
// Every answer it reads is untrusted input. An ID from an answer (a
// zone's, an environment's ref, an account's) passes cloudflare.ParseID,
// the rule the inputs pass, before it is used; a zone name must be a
// domain name; two entries that a name matches equally are an error, not
// "take the first". Whether a job goes to an environment or to the zone
// follows from the inputs alone (config.Config.WantsEnvironment), never
// from what a lookup answered: no answer can widen an environment purge
// into a purge of the whole zone.
//
// Lookups are bounded like purges: each attempt by retry.LookupAttempt, retries
// by max-retries, the whole by the run's context; a Retry-After that would
// pass the deadline fails at once.
//
// It imports config (what was asked), cloudflare (the lookups, IDs,
// scopes), purge (jobs), targets and safetext; the runner side reports
// its Error.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// The permissions lookups need, beside Zone › Cache Purge, as the
// dashboard names them.
const (
	ZoneReadPermission       = "Zone > Zone > Read"
	VersioningReadPermission = "Zone > Zone Versioning > Read"
)

// Lookups are the calls that find zones and environments;
// *cloudflare.Client makes them.
type Lookups interface {
	ZonesByName(ctx context.Context, name string) ([]cloudflare.Zone, error)
	Zone(ctx context.Context, id cloudflare.ID) (cloudflare.Zone, error)
	Environments(ctx context.Context, zone cloudflare.ID) ([]cloudflare.Environment, error)
}

// Options say how lookups are retried.
type Options struct {
	// MaxRetries is how often one lookup is sent again after a 429, a
	// 5xx, a network error or an attempt that timed out.
	MaxRetries int
	// NewBackOff gives each lookup its own retry delays.
	NewBackOff func() backoff.BackOff
	// Compare reads the changes of purge-type changed (nil otherwise).
	Compare Compare
	// Secrets are the run's known secrets: targets that hold one are left
	// out (nil: none).
	Secrets *Secrets
	// Site reads the sitemap input (nil when there is none).
	Site *site.Client
	// Explain, if set, says why Cloudflare refused a lookup on the
	// credentials (asking it about the token), or "": its words replace
	// the bare advice to add the permission.
	Explain func(ctx context.Context, err error, permission, zoneName string) string
}

// Zone is one zone of the run.
type Zone struct {
	ID cloudflare.ID
	// Name is the zone's domain name in lower case, "" when the zone was
	// given by ID and not looked up.
	Name string
	// Account is the account's ID, "" when unknown; AccountName its name
	// as the lookup answered it (untrusted text: quote it to print it).
	Account, AccountName string
	// Plan is the zone's plan as the lookup answered it, PlanUnknown when
	// not looked up or not one of the plans known.
	Plan cloudflare.Plan
}

// Label names a zone for a person: its name and ID when looked up.
func (z Zone) Label() string {
	if z.Name == "" {
		return "zone " + z.ID.String()
	}
	return fmt.Sprintf("zone %s (%s)", z.Name, z.ID)
}

// Environment is the run's environment.
type Environment struct {
	ID cloudflare.ID
	// Name is the name given in the environment input, "" when it was
	// given by ID.
	Name string
}

// Label names the environment for a person: the name given, with its
// ref, or the ref alone.
func (e Environment) Label() string {
	if e.Name == "" {
		return "environment " + e.ID.String()
	}
	// The name is an input, checked by config (no control characters,
	// at most 100 characters): printed as given, like the zone's name.
	return fmt.Sprintf("environment %s (%s)", e.Name, e.ID)
}

// Plan is what the run will purge. It is made from the validated Config,
// which it never changes: what purge-type changed resolves to, and the
// targets left once those holding a secret are out, are the Plan's.
type Plan struct {
	Zones []Zone
	// Environment is the one environment of the one zone, nil for the
	// zones themselves.
	Environment *Environment
	// Jobs are one a zone: Jobs[i] is Zones[i]'s.
	Jobs []purge.Job
	// PurgeType is what the run purges: the input's, or for purge-type
	// changed files or everything.
	PurgeType cloudflare.PurgeType
	// Targets are every target of the run, before routing (none for
	// everything); VerifyURLs the verify-urls to check (nil when none
	// were given). Neither holds a secret.
	Targets, VerifyURLs []cloudflare.Target
	// NotPurged and NotChecked are the targets and URLs to check left
	// out because they held a secret, quoted and redacted.
	NotPurged, NotChecked []string
	// Changes says how purge-type changed was resolved; nil for other
	// purge types.
	Changes *Changes
	// Nothing, when not "", says why there is nothing to purge: the run
	// ends there, with Zones as the inputs give them (not looked up).
	Nothing string
	// Sitemap is how the sitemap input was read; nil without one.
	Sitemap *Sitemap
}

// Resolve turns the validated inputs into one job a zone, for every
// purge type: it resolves purge-type changed (Changes), leaves out the
// targets that hold a secret, looks up what cfg names by name, checks
// every answer and routes the targets to their zones. Its error, if any,
// is a *problem.Error (Stopped: a lookup failed or the changes could not
// be read; Invalid: targets no zone owns); then nothing may be purged.
// A Plan with Nothing set has nothing to purge.
func Resolve(ctx context.Context, cfg *config.Config, api Lookups, opts Options) (*Plan, error) {
	r := &resolver{ctx: ctx, api: api, opts: opts, secrets: opts.Secrets}
	// On an error the plan is still returned, its zones as the inputs
	// give them: the results output names them, nothing done.
	stopped := func(err error) (*Plan, error) {
		return &Plan{Zones: zonesAsGiven(cfg), PurgeType: cfg.PurgeType}, err
	}
	p, sources, fromSitemap := r.targets(ctx, cfg)
	if err := r.err(); err != nil {
		return stopped(err)
	}
	if p.Nothing != "" {
		return p, nil
	}
	p.Zones = r.zones(ctx, cfg, p.PurgeType)
	if err := r.err(); err != nil {
		return stopped(err)
	}
	r.owned(p, fromSitemap)
	if cfg.WantsEnvironment() {
		env, ok := r.environment(ctx, cfg, p.Zones[0])
		if !ok {
			return stopped(r.err())
		}
		p.Environment = &env
	}
	perZone, err := route(p.PurgeType, p.Targets, sources, p.Zones)
	if err != nil {
		return stopped(err)
	}
	// Zones of one account share its purge buckets. Each zone is paced
	// with its account's only when every account is known: a zone whose
	// account is unknown may share one with any other, so then all are
	// paced as one account.
	known := !slices.ContainsFunc(p.Zones, func(z Zone) bool { return z.Account == "" })
	for i, z := range p.Zones {
		job := purge.NewJob(p.scope(z), cfg.Operation, p.PurgeType, perZone[i], cfg.BatchSize)
		if known {
			job.Account = z.Account
		}
		if cfg.Plan == cloudflare.PlanUnknown {
			// The plan input, when given, is the user's word for every
			// zone; else each zone is paced by the plan its lookup named.
			job.Plan = z.Plan
		}
		p.Jobs = append(p.Jobs, job)
	}
	return p, nil
}

// targets are what the run purges and checks, before any lookup: the
// inputs' targets, or what purge-type changed resolves to, less those
// that hold a secret; and the sources a target no zone owns is named by.
// A Plan with Nothing set ends the run.
func (r *resolver) targets(ctx context.Context, cfg *config.Config) (*Plan, []config.Source, map[string]bool) {
	p := &Plan{PurgeType: cfg.PurgeType}
	ts, sources := cfg.Targets, cfg.Sources
	if cfg.Changed != nil {
		typ, mapped, ch, nothing, ok := r.changes(ctx, cfg, r.opts.Compare)
		if !ok {
			return nil, nil, nil
		}
		p.Changes, p.PurgeType, ts = ch, typ, mapped
		// Routing names the source of a URL no zone owns.
		sources = []config.Source{{Input: "url-map", Text: joinURLs(mapped)}}
		p.Nothing = nothing
	}
	verify := cfg.VerifyURLs
	var fromSitemap map[string]bool
	if p.Sitemap = r.readSitemap(ctx, cfg, p.PurgeType); p.Sitemap != nil {
		urls := sitemapTargets(p.Sitemap)
		fromSitemap = make(map[string]bool, len(urls))
		for _, t := range urls {
			fromSitemap[t.Value] = true
		}
		if p.PurgeType == cloudflare.Files {
			ts = merge(ts, urls)
		}
		if verify == nil && (cfg.Verify != config.VerifyNone || cfg.Warm) {
			verify = urls
		}
	} else if r.err() != nil {
		return nil, nil, nil
	}
	if cfg.Changed == nil || p.Sitemap != nil {
		var held []string
		ts, held = r.secrets.withhold(ts)
		r.notPurged = append(r.notPurged, held...)
	}
	p.VerifyURLs, p.NotChecked = r.secrets.withhold(verify)
	p.Targets, p.NotPurged = ts, r.notPurged
	if p.Nothing == "" && p.PurgeType != cloudflare.Everything && len(ts) == 0 {
		p.Nothing = "Every target holds a secret, so none was sent (the warning lists them)."
		if p.Sitemap != nil && len(r.notPurged) == 0 {
			p.Nothing = "The sitemap lists no URL to purge (the log says what it read and skipped)."
		}
	}
	if p.Nothing != "" {
		p.Zones = zonesAsGiven(cfg)
	}
	return p, sources, fromSitemap
}

// zonesAsGiven are the zones as the inputs give them (IDs, then names),
// not looked up: a run that ends before any lookup needs no more.
func zonesAsGiven(cfg *config.Config) []Zone {
	zones := make([]Zone, 0, cfg.Zones())
	for _, id := range cfg.ZoneIDs {
		zones = append(zones, Zone{ID: id})
	}
	for _, name := range cfg.ZoneNames {
		zones = append(zones, Zone{Name: name})
	}
	return zones
}

// scope is where z's requests go: its environment when one was asked for,
// else the zone. Resolve gives a plan an Environment exactly when the
// inputs ask for one, and an Environment's ID is always a parsed one.
func (p *Plan) scope(z Zone) cloudflare.Scope {
	if p.Environment != nil {
		return cloudflare.EnvironmentScope(z.ID, p.Environment.ID)
	}
	return cloudflare.ZoneScope(z.ID)
}

type resolver struct {
	ctx       context.Context // the run's, for Explain
	api       Lookups
	opts      Options
	secrets   *Secrets
	notPurged []string // targets left out for holding a secret, quoted
	problems  []problem.Problem
}

func (r *resolver) add(input string, format string, args ...any) {
	r.problems = append(r.problems, problem.Problem{Input: input, Message: fmt.Sprintf(format, args...)})
}

func (r *resolver) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return &problem.Error{Kind: problem.Stopped, Problems: r.problems}
}

// explain is Options.Explain's words for a refused lookup, or "".
func (r *resolver) explain(err error, permission, zoneName string) string {
	if r.opts.Explain == nil {
		return ""
	}
	return r.opts.Explain(r.ctx, err, permission, zoneName)
}

// failed records a lookup that got no usable answer, by what kept it.
func (r *resolver) failed(input, what string, err error, permission string) {
	apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		r.add(input, "stopped while looking up %s: %v; nothing was purged", what, retry.Why(err))
	case isAPI && apiErr.AuthFailure():
		// The bare permission, and the advice after it ("; or purge each
		// zone …"); the zone is what the lookup was to find, so the
		// explanation names none.
		bare, advice, _ := strings.Cut(permission, ";")
		if advice != "" {
			advice = ";" + advice
		}
		if why := r.explain(err, bare, ""); why != "" {
			r.add(input, "looking up %s was refused (%v): %s%s", what, err, why, advice)
			return
		}
		r.add(input, "looking up %s was refused (%v): give the token the %s permission%s", what, err, bare, advice)
	default:
		r.add(input, "looking up %s failed: %v", what, err)
	}
}

// zones returns the run's zones in input order (zone-id, then zone),
// each once, with the names routing needs.
func (r *resolver) zones(ctx context.Context, cfg *config.Config, typ cloudflare.PurgeType) []Zone {
	var zones []Zone
	addZone := func(z Zone) {
		if i := slices.IndexFunc(zones, func(o Zone) bool { return o.ID == z.ID }); i >= 0 {
			if zones[i].Name == "" {
				zones[i].Name, zones[i].Account, zones[i].AccountName, zones[i].Plan = z.Name, z.Account, z.AccountName, z.Plan
			}
			return
		}
		zones = append(zones, z)
	}
	for _, id := range cfg.ZoneIDs {
		addZone(Zone{ID: id})
	}
	for _, name := range cfg.ZoneNames {
		if z, ok := r.zoneByName(ctx, name); ok {
			addZone(z)
		}
	}
	if len(zones) > 1 && typ.ByHost() {
		// Routing needs every zone's name.
		for i, z := range zones {
			if z.Name != "" {
				continue
			}
			what := fmt.Sprintf("zone %s (its name decides which %s go to it)", z.ID, typ)
			found, err := lookup(ctx, r, func(ctx context.Context) (cloudflare.Zone, error) { return r.api.Zone(ctx, z.ID) })
			if err != nil {
				r.failed("zone-id", what, err, ZoneReadPermission+"; or purge each zone in a step of its own")
				continue
			}
			name, nameOK := domainName(found.Name)
			account, accountOK := accountID(found)
			switch {
			case !nameOK:
				r.add("zone-id", "Cloudflare gave zone %s the name %s, which is not a domain name; nothing was purged", z.ID, safetext.Quote(found.Name))
			case !accountOK:
				r.add("zone-id", "Cloudflare gave zone %s the account ID %s, which is not an ID (%s); nothing was purged", z.ID, safetext.Quote(found.Account.ID), cloudflare.IDRule)
			default:
				zones[i].Name, zones[i].Account, zones[i].AccountName, zones[i].Plan = name, account, found.Account.Name, plan(found)
			}
		}
		r.sameNames(zones)
	}
	return zones
}

// sameNames refuses two listed zones of one name (one domain in two
// accounts): a host of that domain would go to whichever came first, and
// the other would purge nothing and say so as a success. As with a name
// that matches several zones, the user must list the one meant.
func (r *resolver) sameNames(zones []Zone) {
	for i, z := range zones {
		for _, o := range zones[i+1:] {
			if z.Name != "" && z.Name == o.Name {
				r.add("zone-id", "zones %s (account %s) and %s (account %s) are both named %s, so no host of it can be routed to one of them; list only the one meant",
					z.ID, safetext.Quote(z.AccountName), o.ID, safetext.Quote(o.AccountName), z.Name)
			}
		}
	}
}

// zoneByName finds the one zone named name.
func (r *resolver) zoneByName(ctx context.Context, name string) (Zone, bool) {
	what := safetext.Quote(name)
	listed, err := lookup(ctx, r, func(ctx context.Context) ([]cloudflare.Zone, error) { return r.api.ZonesByName(ctx, name) })
	if err != nil {
		r.failed("zone", what, err, ZoneReadPermission)
		return Zone{}, false
	}
	// Exact match only, as the API's default is; each ID once, whatever
	// the pages repeated.
	var found []cloudflare.Zone
	for _, z := range listed {
		if strings.EqualFold(z.Name, name) && !slices.ContainsFunc(found, func(o cloudflare.Zone) bool { return o.ID == z.ID }) {
			found = append(found, z)
		}
	}
	switch {
	case len(found) == 0:
		r.add("zone", "%s matches no zone this token can read; check the name, or give the token the %s permission on it", what, ZoneReadPermission)
		return Zone{}, false
	case len(found) > 1:
		r.add("zone", "%s matches %d zones (%s); give the one meant by its zone-id", what, len(found), describeZones(found))
		return Zone{}, false
	}
	id, err := cloudflare.ParseID(found[0].ID)
	if err != nil {
		r.add("zone", "Cloudflare answered %s with the zone ID %s, which is not an ID (%s); nothing was purged", what, safetext.Quote(found[0].ID), cloudflare.IDRule)
		return Zone{}, false
	}
	account, ok := accountID(found[0])
	if !ok {
		r.add("zone", "Cloudflare answered %s with the account ID %s, which is not an ID (%s); nothing was purged", what, safetext.Quote(found[0].Account.ID), cloudflare.IDRule)
		return Zone{}, false
	}
	return Zone{ID: id, Name: name, Account: account, AccountName: found[0].Account.Name, Plan: plan(found[0])}, true
}

// plan is the zone's plan from an answer, if it is one of the plans
// whose limits are known; anything else is unknown.
func plan(z cloudflare.Zone) cloudflare.Plan {
	if p := cloudflare.Plan(z.Plan.LegacyID); slices.Contains(cloudflare.Plans, p) {
		return p
	}
	return cloudflare.PlanUnknown
}

// describeZones names zones that share a name: their IDs and accounts,
// as the server wrote them (quoted: they are untrusted text).
func describeZones(zones []cloudflare.Zone) string {
	parts := make([]string, len(zones))
	for i, z := range zones {
		parts[i] = fmt.Sprintf("ID %s in account %s", safetext.Quote(z.ID), safetext.Quote(z.Account.Name))
	}
	return strings.Join(parts, ", ")
}

// accountID is the zone's account ID, "" when the answer has none; false
// when it has one that is not an ID.
func accountID(z cloudflare.Zone) (string, bool) {
	if z.Account.ID == "" {
		return "", true
	}
	id, err := cloudflare.ParseID(z.Account.ID)
	return id.String(), err == nil
}

// domainName is a zone name from an answer in lower case, if it is a
// domain name (what the zone input accepts).
func domainName(s string) (string, bool) {
	name := strings.ToLower(s)
	if targets.CheckHost(name) != nil || !strings.Contains(name, ".") {
		return "", false
	}
	return name, true
}

// environment finds the environment the config names in zone z: by ID,
// as given; by name, in the zone's list, where exactly one entry may
// match and its ref must be an ID. false: the problem is recorded, and
// there is no environment to purge.
func (r *resolver) environment(ctx context.Context, cfg *config.Config, z Zone) (Environment, bool) {
	if cfg.EnvironmentName == "" {
		return Environment{ID: cfg.EnvironmentID}, true
	}
	name := safetext.Quote(cfg.EnvironmentName)
	what := fmt.Sprintf("environment %s in %s", name, z.Label())
	envs, err := lookup(ctx, r, func(ctx context.Context) ([]cloudflare.Environment, error) { return r.api.Environments(ctx, z.ID) })
	if err != nil {
		r.failed("environment", what, err, VersioningReadPermission)
		return Environment{}, false
	}
	var matches, names []cloudflare.Environment
	for _, e := range envs {
		if strings.EqualFold(e.Name, cfg.EnvironmentName) {
			if !slices.Contains(matches, e) { // the same entry twice is one
				matches = append(matches, e)
			}
			continue
		}
		names = append(names, e)
	}
	switch {
	case len(matches) == 0:
		listed := "none: zone versioning may be off for this zone"
		if len(names) > 0 {
			listed = quoteNames(names)
		}
		r.add("environment", "%s has no environment named %s; it has %s", z.Label(), name, listed)
		return Environment{}, false
	case len(matches) > 1:
		r.add("environment", "%s has %d environments named %s, differing only in letter case or ref (%s); rename one in the dashboard, or give the one meant by its environment-id", z.Label(), len(matches), name, describeEnvironments(matches))
		return Environment{}, false
	}
	id, err := cloudflare.ParseID(matches[0].Ref)
	if err != nil {
		// Empty, null, blank or missing included: purging the zone
		// instead would purge production and every environment.
		r.add("environment", "Cloudflare listed environment %s of %s with the ref %s, which is not an environment ID (%s); nothing was purged", name, z.Label(), safetext.Quote(matches[0].Ref), cloudflare.IDRule)
		return Environment{}, false
	}
	return Environment{ID: id, Name: cfg.EnvironmentName}, true
}

func quoteNames(envs []cloudflare.Environment) string {
	parts := make([]string, len(envs))
	for i, e := range envs {
		parts[i] = safetext.Quote(e.Name)
	}
	return strings.Join(parts, ", ")
}

func describeEnvironments(envs []cloudflare.Environment) string {
	parts := make([]string, len(envs))
	for i, e := range envs {
		parts[i] = fmt.Sprintf("%s ref %s", safetext.Quote(e.Name), safetext.Quote(e.Ref))
	}
	return strings.Join(parts, ", ")
}

// lookup runs a lookup, each attempt within retry.LookupAttempt, again after a
// 429, a 5xx, a network error or an attempt that timed out, as often as
// max-retries allows, waiting as Retry-After says, unless that wait would
// pass the run's deadline: then it fails at once, saying so.
func lookup[T any](ctx context.Context, r *resolver, call func(context.Context) (T, error)) (T, error) {
	newBackOff := r.opts.NewBackOff
	if newBackOff == nil {
		newBackOff = purge.DefaultBackOff
	}
	return backoff.Retry(ctx, func() (T, error) {
		attemptCtx, cancel := context.WithTimeout(ctx, retry.LookupAttempt)
		defer cancel()
		v, err := call(attemptCtx)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return v, backoff.Permanent(ctx.Err())
		}
		apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
		switch {
		case isAPI && !apiErr.Retryable(), errors.Is(err, cloudflare.ErrIncompleteScope):
			return v, backoff.Permanent(err)
		case isAPI && apiErr.HasRetryAfter:
			if deadline, ok := ctx.Deadline(); ok && retry.PastDeadline(ctx, apiErr.RetryAfter) {
				return v, backoff.Permanent(fmt.Errorf("%w; Cloudflare asked to wait %s (Retry-After), which would pass the timeout (%s left)",
					err, apiErr.RetryAfter, time.Until(deadline).Round(time.Second)))
			}
			return v, retry.WaitThen(err, apiErr.RetryAfter)
		case errors.Is(err, context.DeadlineExceeded):
			return v, fmt.Errorf("no answer within %s", retry.LookupAttempt)
		}
		return v, err
	}, backoff.WithBackOff(newBackOff()), backoff.WithMaxTries(uint(r.opts.MaxRetries)+1), backoff.WithMaxElapsedTime(0))
}
