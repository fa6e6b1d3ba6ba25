// Package command is the action's whole run, from inputs to exit code:
// flags and inputs -> config (the inputs alone) -> resolve (lookups,
// answers checked, targets routed to one job a zone) -> purge -> report.
// Every outside dependency (environment, output, HTTP client, backoff) is
// passed in, so tests drive it with a map and a buffer.
//
// It is the one package that wires the others together. Below it the
// dependencies go one way: resolve imports config and purge; config,
// purge (through pace), site and changed import cloudflare at most, which
// imports none of them; action (the runner side) imports none of config,
// resolve, purge or cloudflare.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // bad input, or the purge failed
	ExitUsage   = 2 // bad command-line flags (local runs only)
)

// Env is everything a run takes from outside.
type Env struct {
	Args    []string
	Getenv  func(string) string
	Stdout  io.Writer
	Stderr  io.Writer
	WorkDir string
	// ActionYML is the action's action.yml: the table of inputs.
	ActionYML []byte
	// HTTPClient sends the requests; nil means a default client.
	HTTPClient *http.Client
	// NewBackOff gives retry delays; nil means purge.DefaultBackOff.
	NewBackOff func() purge.BackOff
	Version    string
}

// Run runs the action and returns the process exit code.
func Run(ctx context.Context, env Env) int {
	spec, err := config.ParseSpec(env.ActionYML)
	if err != nil {
		fmt.Fprintf(env.Stderr, "error: %v\n", err) // a build without its action.yml
		return ExitFailure
	}
	flags, err := config.ParseFlags(env.Args, spec, env.Stderr)
	if errors.Is(err, config.ErrHelp) {
		return ExitOK
	}
	if errors.Is(err, config.ErrVersion) { // a bug report's first line
		fmt.Fprintf(env.Stdout, "cloudflare-purge-action %s\n", env.Version)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "error: %v\nRun with --help to see the flags.\n", err)
		return ExitUsage
	}

	rep := action.New(env.Stdout, env.Stderr, env.Getenv)
	in, err := config.ReadInputs(ctx, flags, env.Getenv, spec)
	// Secrets are masked before anything else is printed, errors included.
	rep.Mask(in.Secrets(env.Getenv))
	// And no request carries one: each client is given them all.
	known := newSecrets(in.Secrets(env.Getenv))
	if err != nil {
		reportInvalid(rep, err)
		return ExitFailure
	}
	// The timeout bounds the whole run from here, reading targets-file
	// included; an invalid one is reported by validation, and meanwhile
	// action.yml's default bounds the reading.
	timeout, ok := config.ParseTimeout(in.Timeout)
	if !ok {
		timeout, _ = config.ParseTimeout(spec.Default("timeout"))
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg, err := validate(ctx, in, config.Env{Getenv: env.Getenv, WorkDir: env.WorkDir, Spec: spec})
	if err != nil {
		reportInvalid(rep, err)
		return ExitFailure
	}
	client := cloudflare.NewClient(cfg.APIURL, cfg.Credentials, httpClient(env.HTTPClient, cfg.Concurrency, rep), "cloudflare-purge-action/"+env.Version, known.values...)
	client.OnWarnings(warnOnce(rep))
	newBackOff := env.NewBackOff
	if newBackOff == nil {
		newBackOff = purge.DefaultBackOff
	}
	if cfg.Changed != nil { // purge-type changed: files, everything or nothing
		if code, done := resolveChanged(ctx, cfg, env, rep, newBackOff, known); done {
			return code
		}
	}
	if !known.withholdFromConfig(cfg, rep) {
		code, _ := nothingToPurge(cfg, rep, "Every target holds a secret, so none was sent (the warning lists them).")
		return code
	}
	resolved, err := resolve.Resolve(ctx, cfg, client, resolve.Options{MaxRetries: cfg.MaxRetries, NewBackOff: newBackOff})
	if err != nil {
		return reportUnresolved(rep, err, cfg.OnErrorWarn)
	}
	p := &plan{Plan: resolved, cfg: cfg, words: wordsFor(cfg.Operation)}
	// The checks around the purge (pipeline.go) take their share of the
	// timeout first; the purge's budget is what is left.
	pl := newPipeline(cfg, p, rep, site.NewClient(httpClient(env.HTTPClient, cfg.Concurrency, rep), "cloudflare-purge-action/"+env.Version, cfg.Concurrency, known.values...), client)
	budget, err := pl.budget(cfg.Timeout)
	if err != nil {
		reportInvalid(rep, err)
		return ExitFailure
	}
	if err := purge.CheckBudget(p.Jobs, cfg.Plan.Limits(), budget); err != nil {
		reportInvalid(rep, pl.budgetProblem(err))
		return ExitFailure
	}
	rep.Debugf("version %s; %s; mode %s; purge type %s; %d target(s); batch size %d; concurrency %d; max retries %d; timeout %s; plan %q; auth %s; api-url %s",
		env.Version, p.scope(), strings.TrimSuffix(string(cfg.Operation), "_cache"), cfg.PurgeType, len(cfg.Targets), cfg.BatchSize, cfg.Concurrency, cfg.MaxRetries, cfg.Timeout, cfg.Plan, authKind(cfg), cfg.APIURL)

	if cfg.DryRun {
		d := p.dryRun()
		d.GetCount, d.Gets = pl.dryGets()
		if !rep.DryRun(d) {
			return ExitFailure
		}
		return ExitOK
	}

	if !pl.wait(ctx, start.Add(pl.waitTime(timeout))) {
		if !rep.Finish(pl.notSent()) || !cfg.OnErrorWarn {
			return ExitFailure
		}
		return ExitOK
	}

	out := purgeAll(ctx, p, pl.sent, client, rep, start.Add(timeout), newBackOff)
	res := p.summarize(out.Results, time.Since(start))
	res.Soft = cfg.OnErrorWarn
	checksOK := pl.after(ctx, &res)
	if !rep.Finish(res) || !checksOK {
		return ExitFailure
	}
	return ExitOK
}

// purgeAll sends every job of the plan through sender in a log group,
// a line for each batch as it ends, and warns once of a batch size that
// Cloudflare refused and a smaller one that worked.
func purgeAll(ctx context.Context, p *plan, sender purge.Sender, client *cloudflare.Client, rep *action.Reporter,
	deadline time.Time, newBackOff func() purge.BackOff) purge.Outcome {
	cfg := p.cfg
	total := 0
	for _, j := range p.Jobs {
		total += len(j.Batches)
	}
	rep.Group(p.title())
	done := 0
	out := purge.Run(ctx, sender, p.Jobs, purge.Options{
		Concurrency: cfg.Concurrency,
		MaxRetries:  cfg.MaxRetries,
		Limits:      cfg.Plan.Limits(),
		Deadline:    deadline,
		NewBackOff:  newBackOff,
		OnDone: func(res purge.BatchResult) { // called one at a time
			done++
			rep.Infof("%s", p.progress(res, done, total))
		},
		// Without a plan, the zone's plan paces the rest of the run, when
		// the token may read it (Zone Read); else the pacer keeps learning.
		LookupPlan: func(ctx context.Context, zoneID string) (cloudflare.Plan, error) {
			id, err := cloudflare.ParseID(zoneID)
			if err != nil {
				return cloudflare.PlanUnknown, err
			}
			z, err := client.Zone(ctx, id)
			return cloudflare.Plan(z.Plan.LegacyID), err
		},
		Debugf: rep.Debugf,
	})
	rep.EndGroup()
	if out.LearnedBatchSize > 0 {
		rep.Warning("Set batch-size: "+fmt.Sprint(out.LearnedBatchSize),
			fmt.Sprintf("Cloudflare refused requests of %d targets from this account and took %d: the rest went %d a request. Set batch-size: %d to skip the refused requests next time.",
				cfg.BatchSize, out.LearnedBatchSize, out.LearnedBatchSize, out.LearnedBatchSize))
	}
	return out
}

// validate checks the inputs, reading targets-file, within ctx: a file
// that blocks (on a network mount, say) must not hold the step past its
// timeout or a SIGTERM. Validation itself opens only regular files and
// never waits for a writer.
func validate(ctx context.Context, in config.Inputs, env config.Env) (*config.Config, error) {
	type result struct {
		cfg *config.Config
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned validation still ends
	go func() {
		cfg, err := config.Validate(in, env)
		done <- result{cfg, err}
	}()
	select {
	case r := <-done:
		return r.cfg, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("reading the inputs did not finish: %w", retry.Interrupted(ctx.Err()))
	}
}

// httpClient is the client requests go through: the given one or a new
// one, with every request logged as a debug line.
func httpClient(given *http.Client, concurrency int, rep *action.Reporter) *http.Client {
	hc := &http.Client{}
	if given != nil {
		copied := *given
		hc = &copied
	}
	next := hc.Transport
	if next == nil {
		// Keep one connection per worker alive between requests: the
		// default keeps two, and a new TLS handshake per request would
		// cost more than the purge itself.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = concurrency
		next = t
	}
	hc.Transport = cloudflare.DebugTransport{Next: next, Logf: rep.Debugf}
	return hc
}

// reportUnresolved reports why the resolve step stopped the run, and
// returns the exit code: targets no zone owns are invalid inputs, which
// always fail; a lookup that was refused, found nothing or too much,
// failed or was stopped is said as what it is, titled with the input
// that asked for it, and with on-error: warn (soft) is a warning.
func reportUnresolved(rep *action.Reporter, err error, soft bool) int {
	resErr, ok := errors.AsType[*resolve.Error](err)
	if !ok {
		rep.Error("Lookup failed", err.Error())
		return ExitFailure
	}
	var invalid, failed []action.Problem
	for _, p := range resErr.Problems {
		if p.Kind == resolve.Unowned {
			invalid = append(invalid, action.Problem{Input: p.Input, Message: p.Message})
		} else {
			failed = append(failed, action.Problem{Input: p.Input, Message: p.Message})
		}
	}
	if len(invalid) > 0 {
		rep.InvalidInputs(invalid)
		return ExitFailure
	}
	if !rep.StoppedBeforePurge(failed, soft, nil) || !soft {
		return ExitFailure
	}
	return ExitOK
}

func reportInvalid(rep *action.Reporter, err error) {
	invalid, ok := errors.AsType[*config.InvalidError](err)
	if !ok {
		rep.Error("Invalid inputs", err.Error())
		return
	}
	problems := make([]action.Problem, len(invalid.Problems))
	for i, p := range invalid.Problems {
		problems[i] = action.Problem{Input: p.Input, Message: p.Message}
	}
	rep.InvalidInputs(problems)
}

func authKind(cfg *config.Config) string {
	switch {
	case cfg.Credentials.Key != "":
		return "Global API Key"
	case cfg.Credentials.Token == "":
		return "none (dry run)"
	}
	return "API token"
}
