// Package command is the action's whole run, from inputs to exit code,
// and only its wiring: Run reads the flags; run's steps are the pipeline
// (read and validate the inputs, resolve them into one job a zone, wait
// for the new build, purge, check), each ending the run with a
// *problem.Error when it cannot go on; exit turns how the run ended into
// the exit code, the one place where on-error applies. Every outside
// dependency (environment, output, HTTP client, backoff) is passed in
// Env, so tests drive it with a map and a buffer.
//
// Where each input goes, one hop from here:
//
//   - every input is read by config.ReadInputs (config/inputs.go, named as
//     in action.yml) and validated by config.Validate (config/config.go;
//     the checks' inputs wait-for, wait-for-text, verify, verify-urls,
//     warm and on-error in config/checks.go; purge-type changed's
//     changed-since, changed-files, github-token, url-map,
//     purge-everything-when and max-changed in config/changed.go).
//   - zone, zone-id, environment, environment-id, targets, targets-file
//     and purge-type changed's inputs are resolved by resolve.Resolve
//     (resolve/resolve.go, resolve/changed.go: changed-since is compared
//     there through changed.GitHub, github-token sent only to it).
//   - the purge (mode, batch-size, concurrency, max-retries, plan,
//     timeout, api-url, the credentials) is sent by purge.Run through
//     cloudflare.Client; the timeout is shared by purge.SplitTimeout.
//   - wait-for, verify, verify-urls and warm are requested by package
//     checks through site.Client.
//   - what happened is said by package report (the words) and package
//     action (log, annotations, outputs, summary).
//
// Below command the dependencies go one way: resolve imports config,
// changed and purge; config, purge (through pace), site and changed
// import cloudflare at most, which imports none of them; action (the
// runner side) imports none of config, resolve, purge or cloudflare;
// problem and retry import nothing of this module.
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
	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/checks"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/report"
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
	switch {
	case errors.Is(err, config.ErrHelp):
		return ExitOK
	case errors.Is(err, config.ErrVersion): // a bug report's first line
		fmt.Fprintf(env.Stdout, "cloudflare-purge-action %s\n", env.Version)
		return ExitOK
	case err != nil:
		fmt.Fprintf(env.Stderr, "error: %v\nRun with --help to see the flags.\n", err)
		return ExitUsage
	}
	r := &run{env: env, spec: spec, rep: action.New(env.Stdout, env.Stderr, env.Getenv)}
	end, err := r.run(ctx, flags)
	return exit(r.rep, end, err)
}

// run is one run of the action: its environment, and what it has made so
// far.
type run struct {
	env  Env
	spec config.Spec
	rep  *action.Reporter
	cfg  *config.Config
}

// ending is what exit needs of a run besides its error.
type ending struct {
	outputsOK   bool          // the outputs were written
	reported    bool          // the outputs and summary are written: only an annotation is left
	zones       []action.Zone // the results output's objects, when they are not
	onErrorWarn bool
}

// run reads the inputs, resolves them, waits for the new build, purges
// and checks: the pipeline's steps, each of which ends the run with a
// *problem.Error when it cannot go on.
func (r *run) run(ctx context.Context, flags map[string]string) (ending, error) {
	in, err := config.ReadInputs(ctx, flags, r.env.Getenv, r.spec)
	// Secrets are masked before anything else is printed, errors included.
	r.rep.Mask(in.Secrets(r.env.Getenv))
	if err != nil {
		return ending{}, notRead(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, r.timeout(in))
	defer cancel()
	if r.cfg, err = validate(ctx, in, config.Env{Getenv: r.env.Getenv, WorkDir: r.env.WorkDir, Spec: r.spec}); err != nil {
		return ending{}, notRead(err)
	}
	known := in.Secrets(r.env.Getenv) // no request carries one: each client is given them all
	client := cloudflare.NewClient(r.cfg.APIURL, r.cfg.Credentials, r.httpClient(), r.userAgent(), known...)
	client.OnWarnings(report.WarnOnce(r.rep))
	tok := r.token(ctx, client)
	defer tok.stop()
	secrets := resolve.NewSecrets(known...)
	siteClient := site.NewClient(r.httpClient(), r.userAgent(), r.cfg.Concurrency, known...) // the sitemap's, then the checks'
	resolved, err := resolve.Resolve(ctx, r.cfg, client, resolve.Options{MaxRetries: r.cfg.MaxRetries, NewBackOff: r.newBackOff(),
		Compare: r.compare(known), Site: siteClient, Secrets: secrets, Explain: tok.lookupRefused})
	p := report.New(resolved, r.cfg)
	p.Explain = tok.purgeRefused(ctx)
	p.Changes(r.rep, secrets)
	p.SitemapRead(r.rep)
	p.Withheld(r.rep)
	end := ending{zones: p.ZoneResults(), onErrorWarn: r.cfg.OnErrorWarn}
	if err != nil || p.Nothing != "" {
		return r.nothing(p, end, err)
	}
	c := checks.New(r.cfg, p, r.rep, siteClient)
	budget, err := c.Budget(r.cfg.Timeout)
	if err != nil {
		return end, err
	}
	r.debugLine(p)
	if r.cfg.DryRun {
		return r.dryRun(p, c, end)
	}
	if err := c.Wait(ctx, start.Add(budget.Wait)); err != nil {
		end.outputsOK, end.reported = r.rep.Finish(c.NotSent()), true
		return end, err
	}
	tok.askFor(ctx, p.Zones)
	out := r.purge(ctx, p, client, start.Add(r.cfg.Timeout))
	res := p.Summarize(out, time.Since(start))
	tok.warnOfExpiry(ctx)
	checkErr := c.After(ctx, out.Results, &res)
	end.outputsOK, end.reported = r.rep.Finish(res), true
	if failure := res.Failure(); failure != nil {
		return end, errors.Join(failure, checkErr)
	}
	return end, checkErr
}

// exit reports how the run ended and turns it into the exit code: the
// one place where on-error applies. Bad input always fails; anything
// else that went wrong is an error and exit 1, or with on-error: warn a
// warning and exit 0 (when the outputs could be written).
func exit(rep *action.Reporter, end ending, err error) int {
	if err == nil {
		if end.outputsOK {
			return ExitOK
		}
		return ExitFailure
	}
	var problems []problem.Problem
	kind := problem.Invalid
	for _, e := range flatten(err) {
		pe, ok := errors.AsType[*problem.Error](e)
		if !ok { // not a run's end but a bug: said as it is
			pe = problem.New(problem.PurgeFailed, "action", "%v", e)
		}
		if kind == problem.Invalid || pe.Kind != problem.Invalid {
			kind = pe.Kind
		}
		problems = append(problems, pe.Problems...)
	}
	soft := end.onErrorWarn && kind != problem.Invalid
	switch {
	case kind == problem.Invalid:
		rep.InvalidInputs(problems)
		return ExitFailure
	case kind == problem.Stopped && !end.reported:
		end.outputsOK = rep.StoppedBeforePurge(problems, soft, end.zones)
	default:
		rep.Failed(problems, soft)
	}
	if soft && end.outputsOK {
		return ExitOK
	}
	return ExitFailure
}

// notRead is err as bad input: a *problem.Error of validation as it is,
// any other error of reading the inputs titled "Invalid inputs".
func notRead(err error) error {
	if _, ok := errors.AsType[*problem.Error](err); ok {
		return err
	}
	return &problem.Error{Kind: problem.Invalid, Problems: []problem.Problem{{Input: "inputs", Title: "Invalid inputs", Message: err.Error()}}}
}

// flatten lists the errors err joins (errors.Join), or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// nothing ends a run that sends nothing: stopped before the purge (a
// lookup, the changes: err), or with nothing to purge (p.Nothing).
func (r *run) nothing(p *report.Plan, end ending, err error) (ending, error) {
	if err != nil {
		return end, err
	}
	end.outputsOK, end.reported = r.rep.Nothing("Nothing to purge", p.Nothing, end.zones), true
	return end, nil
}

// dryRun prints every request the run would send, to Cloudflare and to
// the site, and sends none.
func (r *run) dryRun(p *report.Plan, c *checks.Checks, end ending) (ending, error) {
	d := p.DryRun()
	d.GetCount, d.Gets = c.DryGets()
	end.outputsOK, end.reported = r.rep.DryRun(d), true
	return end, nil
}

// timeout is the bound of the whole run from reading targets-file on;
// an invalid one is reported by validation, and meanwhile action.yml's
// default bounds the reading.
func (r *run) timeout(in config.Inputs) time.Duration {
	timeout, ok := config.ParseTimeout(in.Timeout)
	if !ok {
		timeout, _ = config.ParseTimeout(r.spec.Default("timeout"))
	}
	return timeout
}

func (r *run) userAgent() string { return "cloudflare-purge-action/" + r.env.Version }

func (r *run) newBackOff() func() purge.BackOff {
	if r.env.NewBackOff == nil {
		return purge.DefaultBackOff
	}
	return r.env.NewBackOff
}

// compare is GitHub's compare API for purge-type changed, or nil.
func (r *run) compare(secrets []string) resolve.Compare {
	c := r.cfg.Changed
	if c == nil {
		return nil
	}
	return &changed.GitHub{
		BaseURL: c.GitHubAPIURL, Repository: c.Repository, Token: c.GitHubToken, OtherSecrets: secrets,
		HTTP: r.httpClientOf(2), UserAgent: r.userAgent(), MaxRetries: r.cfg.MaxRetries, NewBackOff: r.newBackOff(),
	}
}

func (r *run) debugLine(p *report.Plan) {
	cfg := r.cfg
	r.rep.Debugf("version %s; %s; mode %s; purge type %s; %d target(s); batch size %d; concurrency %d; max retries %d; timeout %s; plan %q; auth %s; api-url %s",
		r.env.Version, p.Scope(), strings.TrimSuffix(string(cfg.Operation), "_cache"), p.PurgeType, len(p.Targets), cfg.BatchSize, cfg.Concurrency, cfg.MaxRetries, cfg.Timeout, cfg.Plan, authKind(cfg), cfg.APIURL)
}

// purge sends every job of the plan in a log group, a line for each batch
// as it ends, and says once, in a notice, that Cloudflare refused a batch
// size and which smaller one worked (the summary says it too).
func (r *run) purge(ctx context.Context, p *report.Plan, client *cloudflare.Client, deadline time.Time) purge.Outcome {
	cfg := r.cfg
	total := 0
	for _, j := range p.Jobs {
		total += len(j.Batches)
	}
	r.rep.Group(p.Title())
	done := 0
	out := purge.Run(ctx, client, p.Jobs, purge.Options{
		Concurrency: cfg.Concurrency,
		MaxRetries:  cfg.MaxRetries,
		Limits:      cfg.Plan.Limits(),
		Deadline:    deadline,
		NewBackOff:  r.newBackOff(),
		OnDone: func(res purge.BatchResult) { // called one at a time
			done++
			r.rep.Infof("%s", p.Progress(res, done, total))
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
		Debugf: r.rep.Debugf,
	})
	r.rep.EndGroup()
	if n := out.LearnedBatchSize; n > 0 {
		// A notice, not a warning: every target still went (the run's
		// outcome says whether it was purged), and with batch-size auto
		// nothing in the inputs was wrong: Cloudflare's table says 100
		// where some accounts still take the 30 of older docs.
		r.rep.Notice("Set batch-size: "+fmt.Sprint(n),
			fmt.Sprintf("Cloudflare refused a request of more than %d targets from this account (batch size %d) and took %d: the rest of the run went %d a request. Set batch-size: %d to skip the refused request next time.",
				n, cfg.BatchSize, n, n, n))
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
// one, with every request logged as a debug line, and one idle connection
// kept per worker (concurrency).
func (r *run) httpClient() *http.Client { return r.httpClientOf(r.cfg.Concurrency) }

func (r *run) httpClientOf(concurrency int) *http.Client {
	hc := &http.Client{}
	if r.env.HTTPClient != nil {
		copied := *r.env.HTTPClient
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
	hc.Transport = cloudflare.DebugTransport{Next: next, Logf: r.rep.Debugf}
	return hc
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
