package resolve_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
)

// fakeLookups is resolve.Lookups without a network, as ratchet's
// resolver/test.go fakes its API: it answers from the zones and
// environments it is given, unless its script answers a call first, and
// records every call. It is safe for concurrent use.
type fakeLookups struct {
	Zones []cloudflare.Zone
	// Envs are each zone's environments, by zone ID.
	Envs map[string][]cloudflare.Environment
	// Script, when set, is asked first about every call; false leaves
	// the call to Zones and Envs.
	Script func(c call) (reply, bool)

	mu    sync.Mutex
	calls []call
}

// call is one call the fake got.
type call struct {
	Method string    // "ZonesByName", "Zone" or "Environments"
	Arg    string    // the name, or the zone's ID
	N      int       // its number among every call the fake got, from 0
	At     time.Time // when it came: virtual time in a synctest bubble
}

// reply is a scripted answer.
type reply struct {
	Zones []cloudflare.Zone        // what ZonesByName lists; Zone answers the first
	Envs  []cloudflare.Environment // what Environments lists
	Err   error
	// Hang: no answer until the call's context ends, as a server that
	// accepts the connection and never answers.
	Hang bool
}

func (f *fakeLookups) ZonesByName(ctx context.Context, name string) ([]cloudflare.Zone, error) {
	r, scripted := f.called(ctx, "ZonesByName", name)
	if !scripted {
		for _, z := range f.Zones {
			if strings.EqualFold(z.Name, name) {
				r.Zones = append(r.Zones, z)
			}
		}
	}
	return r.Zones, r.Err
}

func (f *fakeLookups) Zone(ctx context.Context, id cloudflare.ID) (cloudflare.Zone, error) {
	r, scripted := f.called(ctx, "Zone", id.String())
	if !scripted {
		i := slices.IndexFunc(f.Zones, func(z cloudflare.Zone) bool { return z.ID == id.String() })
		if i < 0 {
			return cloudflare.Zone{}, &cloudflare.APIError{Status: 404, Errors: []cloudflare.ErrorItem{{Code: 7003, Message: "Could not route"}}}
		}
		r.Zones = f.Zones[i : i+1]
	}
	if len(r.Zones) == 0 {
		return cloudflare.Zone{}, r.Err
	}
	return r.Zones[0], r.Err
}

func (f *fakeLookups) Environments(ctx context.Context, zone cloudflare.ID) ([]cloudflare.Environment, error) {
	r, scripted := f.called(ctx, "Environments", zone.String())
	if !scripted {
		r.Envs = f.Envs[zone.String()]
	}
	return r.Envs, r.Err
}

// called records a call and gives the script's reply to it, if the
// script has one; a hung reply returns when ctx ends, with its error.
func (f *fakeLookups) called(ctx context.Context, method, arg string) (reply, bool) {
	f.mu.Lock()
	c := call{Method: method, Arg: arg, N: len(f.calls), At: time.Now()}
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if f.Script == nil {
		return reply{}, false
	}
	r, ok := f.Script(c)
	if !ok {
		return reply{}, false
	}
	if r.Hang {
		<-ctx.Done()
		return reply{Err: fmt.Errorf("GET %s %s: %w", method, arg, ctx.Err())}, true
	}
	return r, true
}

// Calls are the calls the fake got, in order.
func (f *fakeLookups) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// inTurn answers the first calls with replies, one each in order, and
// leaves the later ones to the fake's zones.
func inTurn(replies ...reply) func(call) (reply, bool) {
	return func(c call) (reply, bool) {
		if c.N < len(replies) {
			return replies[c.N], true
		}
		return reply{}, false
	}
}

// always answers every call of method with r.
func always(method string, r reply) func(call) (reply, bool) {
	return func(c call) (reply, bool) { return r, c.Method == method }
}

// The errors Cloudflare's lookups answer with, as the client returns
// them.
var (
	// refused: a token without the permission (403, code 10000).
	refused error = &cloudflare.APIError{Status: 403, Errors: []cloudflare.ErrorItem{{Code: 10000, Message: "Authentication error"}}}
	// unavailable: a 5xx, which is retried.
	unavailable error = &cloudflare.APIError{Status: 503}
)

// busy is a 429 asking to wait after.
func busy(after time.Duration) error {
	return &cloudflare.APIError{Status: 429, Errors: []cloudflare.ErrorItem{{Code: 971, Message: "Please wait and consider throttling your request speed"}},
		RetryAfter: after, HasRetryAfter: true}
}

// fakeCompare is resolve.Compare without GitHub: it answers every call
// with its Comparison or Err, or with none until the context ends
// (Hang), and records each as base...head.
type fakeCompare struct {
	Comparison changed.Comparison
	Err        error
	Hang       bool

	mu    sync.Mutex
	calls []string
}

func (f *fakeCompare) Compare(ctx context.Context, base, head string) (changed.Comparison, error) {
	f.mu.Lock()
	f.calls = append(f.calls, base+"..."+head)
	f.mu.Unlock()
	if f.Hang {
		<-ctx.Done()
		return changed.Comparison{}, fmt.Errorf("GET compare: %w", ctx.Err())
	}
	if f.Err != nil {
		return changed.Comparison{}, f.Err
	}
	return f.Comparison, nil
}

// Calls are the comparisons asked for, as base...head.
func (f *fakeCompare) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// The zones of the tests, as Cloudflare's lookups describe them.
const (
	comID = "023e105f4ecef8ad9ca31a8372d0c353" // example.com
	orgID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9" // example.org
	cdnID = "f9e8d7c6b5a4938271605f4e3d2c1b0a" // cdn.example.org
	stgID = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e" // example.com's Staging
	envID = "e7c3b1a2d4f5e6a7b8c9d0e1f2a3b4c5" // an environment given by ID

	token   = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
	ghToken = "ghs_Q7yV3kLm9PzR2xW8sT5nB1cD4fG6hJ0aE3iK"
	// before and head are a push's github.event.before and GITHUB_SHA.
	before     = "1111111111111111111111111111111111111111"
	head       = "2222222222222222222222222222222222222222"
	repository = "octo-org/site"
)

// zoneEntry is a zone as a lookup answers it; account "" leaves the
// account out.
func zoneEntry(id, name, account, plan string) cloudflare.Zone {
	var z cloudflare.Zone
	z.ID, z.Name, z.Plan.LegacyID = id, name, plan
	if account != "" {
		z.Account.ID, z.Account.Name = accountID(account), account
	}
	return z
}

// accountID is the ID of the account named name: 32 hex digits.
func accountID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:16])
}

// knownZones is a fake that knows example.com (with the environments
// Staging and Preview), example.org and cdn.example.org, all of Acme on
// the Pro plan.
func knownZones() *fakeLookups {
	return &fakeLookups{
		Zones: []cloudflare.Zone{
			zoneEntry(comID, "example.com", "Acme", "pro"),
			zoneEntry(orgID, "example.org", "Acme", "pro"),
			zoneEntry(cdnID, "cdn.example.org", "Acme", "pro"),
		},
		Envs: map[string][]cloudflare.Environment{comID: {{Ref: stgID, Name: "Staging"}, {Ref: "7e7e7e", Name: "Preview"}}},
	}
}

// readSpec reads the repository's action.yml, the one table of inputs
// and their defaults, once for every test.
var readSpec = sync.OnceValues(func() (config.Spec, error) {
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		return config.Spec{}, err
	}
	return config.ParseSpec(b)
})

// step is the Config of a step with these inputs (name, value pairs),
// made as a run makes it: read as the runner passes inputs, with
// action.yml's defaults, then validated. It defaults to zone-id
// example.com and an API token; GitHub's variables are a push's. An
// invalid step fails the test.
func step(t *testing.T, kv ...string) *config.Config {
	t.Helper()
	return stepWithFiles(t, nil, kv...)
}

// stepWithFiles is step with files in the workspace (for targets-file).
func stepWithFiles(t *testing.T, files map[string]string, kv ...string) *config.Config {
	t.Helper()
	spec, err := readSpec()
	if err != nil {
		t.Fatal(err)
	}
	workspace := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(workspace, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	inputs := map[string]string{"zone-id": comID, "api-token": token}
	for i := 0; i+1 < len(kv); i += 2 {
		inputs[kv[i]] = kv[i+1]
	}
	vars := map[string]string{"GITHUB_WORKSPACE": workspace, "GITHUB_REPOSITORY": repository, "GITHUB_SHA": head}
	for name, v := range inputs {
		vars["INPUT_"+strings.ToUpper(name)] = v
	}
	getenv := func(k string) string { return vars[k] }
	in, err := config.ReadInputs(t.Context(), nil, getenv, spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Validate(in, config.Env{Getenv: getenv, Spec: spec, WorkDir: workspace})
	if err != nil {
		t.Fatalf("the step's inputs are not valid: %v", err)
	}
	return cfg
}

// resolved is what Resolve returned, and how long it took.
type resolved struct {
	*resolve.Plan
	err  error
	took time.Duration // in virtual time
}

// resolveStep resolves cfg as a run does: the options command.Run gives
// (max-retries, a backoff of one second, the known secrets), the run's
// context bounded by the timeout input. It runs in a synctest bubble, so
// retries, Retry-After and hung lookups pass in virtual time. gh may be
// nil (no purge-type changed). cancelAt, when not 0, cancels the run's
// context that long after the start, as SIGTERM does.
func resolveStep(t *testing.T, cfg *config.Config, api resolve.Lookups, gh resolve.Compare, cancelAt time.Duration) resolved {
	t.Helper()
	var r resolved
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), cfg.Timeout)
		defer cancel()
		if cancelAt > 0 {
			stop := time.AfterFunc(cancelAt, cancel)
			defer stop.Stop()
		}
		opts := resolve.Options{
			MaxRetries: cfg.MaxRetries,
			NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Second) },
			Secrets:    resolve.NewSecrets(token, ghToken),
		}
		if gh != nil { // a nil *fakeCompare is not a nil Compare
			opts.Compare = gh
		}
		start := time.Now()
		r.Plan, r.err = resolve.Resolve(ctx, cfg, api, opts)
		r.took = time.Since(start)
	})
	if r.Plan == nil {
		t.Fatalf("Resolve returned no plan (error %v); it returns one on every end", r.err)
	}
	return r
}

// assertEnded checks that Resolve ended with a *problem.Error of kind
// holding exactly the problems want, and returned nothing to purge: a
// plan of the zones as the inputs give them (IDs, then names, not looked
// up), no environment and no job.
func assertEnded(t *testing.T, r resolved, cfg *config.Config, kind problem.Kind, want ...problem.Problem) {
	t.Helper()
	pe, ok := errors.AsType[*problem.Error](r.err)
	if !ok {
		t.Fatalf("error %v (%T); want a *problem.Error", r.err, r.err)
	}
	if pe.Kind != kind || !slices.Equal(pe.Problems, want) {
		t.Errorf("error of kind %v:\n%s\nwant kind %v:\n%s", pe.Kind, problemLines(pe.Problems), kind, problemLines(want))
	}
	var given []resolve.Zone
	for _, id := range cfg.ZoneIDs {
		given = append(given, resolve.Zone{ID: id})
	}
	for _, name := range cfg.ZoneNames {
		given = append(given, resolve.Zone{Name: name})
	}
	if !slices.Equal(r.Zones, given) || r.Environment != nil || r.Jobs != nil || r.PurgeType != cfg.PurgeType {
		t.Errorf("plan: zones %+v, environment %v, %d jobs, purge type %q; want the zones as given %+v, no environment, no job, purge type %q",
			r.Zones, r.Environment, len(r.Jobs), r.PurgeType, given, cfg.PurgeType)
	}
}

func problemLines(ps []problem.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s: %s\n", p.Input, p.Message)
	}
	return b.String()
}

// sent is what the plan's jobs would send, by zone ID: each job's
// targets in batch order, or "everything".
func sent(p *resolve.Plan) map[string][]string {
	out := map[string][]string{}
	for _, j := range p.Jobs {
		id := j.Scope.Zone().String()
		if j.Type == cloudflare.Everything {
			out[id] = append(out[id], "everything")
			continue
		}
		for _, b := range j.Batches {
			for _, tg := range b.Targets {
				out[id] = append(out[id], tg.Value)
			}
		}
	}
	return out
}

// methods lists the calls as method(arg).
func methods(calls []call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Method+"("+c.Arg+")")
	}
	return out
}
