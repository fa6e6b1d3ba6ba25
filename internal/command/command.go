// Package command is the action's whole run, from inputs to exit code,
// with every outside dependency (environment, output, HTTP client, clock)
// passed in, so tests drive it with a map and a buffer.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cfpurge/cloudflare-purge-action/internal/action"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
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
	// HTTPClient sends the requests; nil means a default client.
	HTTPClient *http.Client
	// Clock paces and times the run; nil means the wall clock.
	Clock purge.Clock
	// NewBackOff gives retry delays; nil means purge.DefaultBackOff.
	NewBackOff func() purge.BackOff
	Version    string
}

// Run runs the action and returns the process exit code.
func Run(ctx context.Context, env Env) int {
	flags, err := config.ParseFlags(env.Args, env.Stderr)
	if errors.Is(err, config.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "error: %v\nRun with --help to see the flags.\n", err)
		return ExitUsage
	}
	clock := env.Clock
	if clock == nil {
		clock = purge.RealClock{}
	}

	rep := action.New(env.Stdout, env.Getenv)
	cfg, in, err := config.Load(ctx, flags, config.Env{Getenv: env.Getenv, WorkDir: env.WorkDir})
	// Secrets are masked before anything else is printed, errors included.
	rep.Mask(in.Secrets(env.Getenv))
	if err != nil {
		var invalid *config.InvalidError
		if errors.As(err, &invalid) {
			rep.InvalidInputs(invalid)
		} else {
			rep.Error("Invalid inputs", err.Error())
		}
		return ExitFailure
	}
	auth := "API token"
	switch {
	case cfg.Credentials.Key != "":
		auth = "Global API Key"
	case cfg.Credentials.Token == "":
		auth = "none (dry run)"
	}
	rep.Debugf("version %s; %s; purge type %s; %d target(s); batch size %d; concurrency %d; max retries %d; timeout %s; plan %q; auth %s; api-url %s",
		env.Version, action.Scope(cfg), cfg.PurgeType, len(cfg.Targets), cfg.BatchSize, cfg.Concurrency, cfg.MaxRetries, cfg.Timeout, cfg.Plan, auth, cfg.APIURL)

	batches := purge.Plan(cfg.PurgeType, cfg.Targets, cfg.BatchSize)
	if cfg.DryRun {
		if !rep.DryRun(cfg, batches) {
			return ExitFailure
		}
		return ExitOK
	}

	start := clock.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	httpClient := env.HTTPClient
	if httpClient == nil {
		// Keep one connection per worker alive between requests: the
		// default keeps two, and a new TLS handshake per request would
		// cost more than the purge itself.
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = cfg.Concurrency
		httpClient = &http.Client{Transport: transport}
	}
	client := cloudflare.NewClient(cfg.APIURL, cfg.Credentials, httpClient, "cloudflare-purge-action/"+env.Version, clock.Now)

	rep.Group(action.PurgeTitle(cfg, batches))
	results := purge.Run(ctx, debugPurger{client, rep, cfg}, batches, purge.Options{
		ZoneID:        cfg.ZoneID,
		EnvironmentID: cfg.EnvironmentID,
		Concurrency:   cfg.Concurrency,
		MaxRetries:    cfg.MaxRetries,
		Limits:        cfg.Plan.Limits(),
		Deadline:      start.Add(cfg.Timeout),
		Clock:         clock,
		NewBackOff:    env.NewBackOff,
		OnDone:        func(res purge.BatchResult) { rep.Progress(res, len(batches)) },
	})
	rep.EndGroup()
	if !rep.Finish(cfg, results, clock.Now().Sub(start)) {
		return ExitFailure
	}
	return ExitOK
}

// debugPurger logs every request and its outcome as debug lines, shown
// when the workflow runs with step debug logging on.
type debugPurger struct {
	next purge.Purger
	rep  *action.Reporter
	cfg  *config.Config
}

func (d debugPurger) Purge(ctx context.Context, zoneID, environmentID string, body cloudflare.Body) (cloudflare.Result, error) {
	items := len(body.Files) + len(body.Tags) + len(body.Hosts) + len(body.Prefixes)
	d.rep.Debugf("POST %s (%d item(s))", cloudflare.Endpoint(d.cfg.APIURL, zoneID, environmentID), items)
	res, err := d.next.Purge(ctx, zoneID, environmentID, body)
	if err != nil {
		d.rep.Debugf("-> %s", action.OneLine(err.Error()))
	} else {
		d.rep.Debugf("-> purge ID %s; rate limit %+v", res.ID, res.RateLimit)
	}
	return res, err
}
