package purge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"golang.org/x/sync/errgroup"
)

// Sender sends one request; *cloudflare.Client is one.
type Sender interface {
	Send(ctx context.Context, r cloudflare.Request) (cloudflare.Result, error)
}

// attemptTimeout bounds one request, so that a server that accepts the
// connection and never answers costs one retry, not the whole run.
const attemptTimeout = 60 * time.Second

// Options say how to send the batches.
type Options struct {
	// Concurrency is the most requests in flight at once (at least 1).
	Concurrency int
	// MaxRetries is how often one request is sent again after a 429, a
	// 5xx or a network error.
	MaxRetries int
	// Limits are the plan's; their rates pace requests from the first one.
	Limits cloudflare.Limits
	// Deadline is when the run must be over; waits that would end after
	// it fail at once instead.
	Deadline time.Time
	// NewBackOff gives each batch its own retry delays; nil means
	// exponential from 1 s (×2, ±50% jitter, at most 60 s).
	NewBackOff func() BackOff
	// OnDone, if set, is called once per finished batch, one call at a time.
	OnDone func(BatchResult)
}

// BatchResult is how one batch ended.
type BatchResult struct {
	Job      int // index into the jobs given to Run
	Batch    Batch
	ID       string // the purge ID, when Err is nil
	Attempts int    // requests sent for it (0: never sent)
	Err      error
}

// ErrStopped marks batches that were not sent, or were cut short, because
// another request failed authentication: the rest would fail the same way.
var ErrStopped = errors.New("not sent: an earlier request failed authentication")

// BackOff gives the delays between retries of one batch.
type BackOff = backoff.BackOff

// DefaultBackOff is the retry delay used when Options.NewBackOff is nil.
func DefaultBackOff() BackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     time.Second,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         60 * time.Second,
	}
}

// Run sends every batch of every job, all sharing one pacer, and returns
// one result per batch, in job and then batch order. It never gives up on
// the remaining batches because one failed, except after an
// authentication failure.
func Run(ctx context.Context, sender Sender, jobs []Job, opts Options) []BatchResult {
	if opts.NewBackOff == nil {
		opts.NewBackOff = DefaultBackOff
	}
	var queue []BatchResult // what to send, as results to be filled in
	maxCost := 1
	var planned cloudflare.Rate
	if len(jobs) > 0 {
		// Every job of a run has the run's one purge type, so they draw
		// from one bucket of the plan.
		planned = opts.Limits.Bucket(jobs[0].Type)
	}
	for j, job := range jobs {
		for _, b := range job.Batches {
			queue = append(queue, BatchResult{Job: j, Batch: b})
			maxCost = max(maxCost, b.Count())
		}
	}
	r := &runner{
		sender: sender,
		opts:   opts,
		pacer:  newPacer(opts.Deadline, planned, maxCost),
	}

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	results := make([]BatchResult, len(queue))
	var g errgroup.Group
	g.SetLimit(max(opts.Concurrency, 1))
	for i, res := range queue {
		if ctx.Err() != nil {
			res.Err = stopReason(ctx)
			results[i] = r.finish(res)
			continue
		}
		g.Go(func() error {
			res := r.send(ctx, jobs[res.Job], res)
			if res.Err != nil && isAuthFailure(res.Err) {
				stop(ErrStopped)
			}
			results[i] = r.finish(res)
			return nil
		})
	}
	_ = g.Wait() // workers report through results, never through errors
	return results
}

type runner struct {
	sender Sender
	opts   Options
	pacer  *pacer
	mu     sync.Mutex // serialises OnDone
}

func (r *runner) finish(res BatchResult) BatchResult {
	if r.opts.OnDone != nil {
		r.mu.Lock()
		r.opts.OnDone(res)
		r.mu.Unlock()
	}
	return res
}

// send delivers one batch, retrying what may succeed on a second try.
func (r *runner) send(ctx context.Context, job Job, res BatchResult) BatchResult {
	b := res.Batch
	bo := r.opts.NewBackOff()
	cost := cloudflare.Cost(b.Type, b.Count())
	for {
		if ctx.Err() != nil {
			res.Err = r.waitError(ctx, ctx.Err(), res.Err)
			return res
		}
		if err := r.pacer.wait(ctx, cost); err != nil {
			res.Err = r.waitError(ctx, err, res.Err)
			return res
		}
		res.Attempts++
		attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
		result, err := r.sender.Send(attemptCtx, job.Request(b))
		cancel()

		apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
		switch {
		case err == nil:
			r.pacer.observe(result.RateLimit)
			res.ID, res.Err = result.ID, nil
			return res
		case isAPI:
			r.pacer.observe(apiErr.RateLimit)
		}
		res.Err = err
		if ctx.Err() != nil {
			res.Err = r.waitError(ctx, ctx.Err(), err)
			return res
		}
		if !retryable(err) {
			return res
		}
		if res.Attempts > r.opts.MaxRetries {
			res.Err = fmt.Errorf("gave up after %d attempts: %w", res.Attempts, err)
			return res
		}

		delay := bo.NextBackOff()
		if isAPI && apiErr.HasRetryAfter {
			delay = apiErr.RetryAfter
		}
		if left := time.Until(r.opts.Deadline); delay > left {
			reason := "backing off"
			if isAPI && apiErr.HasRetryAfter {
				reason = "the API's Retry-After"
			}
			res.Err = fmt.Errorf("%w; %w", err, &DeadlineError{reason: reason, wait: delay, left: left})
			return res
		}
		if isAPI && apiErr.Status == http.StatusTooManyRequests {
			// The bucket is the account's, not this worker's: everyone waits.
			r.pacer.pause(delay)
			continue
		}
		if err := sleep(ctx, delay); err != nil {
			res.Err = r.waitError(ctx, err, res.Err)
			return res
		}
	}
}

// waitError explains why a batch stopped while waiting: the run was
// stopped after an auth failure, the timeout passed, or a wait would have.
func (r *runner) waitError(ctx context.Context, err, last error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
		return ErrStopped
	}
	err = interrupted(err)
	if last != nil {
		return fmt.Errorf("%w (last attempt: %w)", err, last)
	}
	return err
}

func stopReason(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
		return ErrStopped
	}
	return fmt.Errorf("not sent: %w", interrupted(ctx.Err()))
}

// interrupted words a context error for the log: the timeout input ran
// out, or the run was cancelled (the job was cancelled, or SIGTERM).
func interrupted(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout reached before the purge finished: %w", err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("run cancelled: %w", err)
	}
	return err
}

// retryable: rate limiting, server-side failures and failed round trips
// (connection reset, no answer) may succeed when sent again. A purge is
// idempotent, so sending one twice is harmless.
func retryable(err error) bool {
	if apiErr, ok := errors.AsType[*cloudflare.APIError](err); ok {
		return apiErr.Retryable()
	}
	return !errors.Is(err, context.Canceled)
}

func isAuthFailure(err error) bool {
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	return ok && apiErr.AuthFailure()
}
