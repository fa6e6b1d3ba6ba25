// Sending one piece: paced, retried, and the errors that say why not.

package purge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/pace"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
)

// send delivers piece pc (sending b) paced by its account's pacer p,
// retrying what may succeed on a second try, and says how many requests
// it took. A batch size learned while it waited for the pacer cuts pc and
// b.
func (r *runner) send(ctx context.Context, p *pace.Account, job Job, pc *piece, b *Batch) (attempts int, id string, last error) {
	bo := r.opts.NewBackOff()
	for {
		if ctx.Err() != nil {
			return attempts, "", r.waitError(ctx, ctx.Err(), last)
		}
		cost := cloudflare.Cost(b.Type, b.Count())
		t, err := p.Wait(ctx, cost)
		if err != nil {
			return attempts, "", r.waitError(ctx, err, last)
		}
		if r.recut(pc, b) {
			p.Resize(t, cloudflare.Cost(b.Type, b.Count()))
		}
		attempts++
		attemptCtx, cancel := context.WithTimeout(r.sendCtx, retry.PurgeAttempt)
		result, err := r.sender.Send(attemptCtx, job.Request(*b))
		cancel()

		apiErr, isAPI := errors.AsType[*cloudflare.APIError](err)
		rl := result.RateLimit
		if isAPI {
			rl = apiErr.RateLimit
		}
		p.Answered(t, pace.Answer{Accepted: err == nil, Limited: isAPI && apiErr.RateLimited(), RateLimit: rl})
		if err == nil {
			return attempts, result.ID, nil
		}
		last = err
		if ctx.Err() != nil {
			return attempts, "", r.waitError(ctx, ctx.Err(), err)
		}
		if !retryable(err) {
			return attempts, "", err
		}
		if attempts > r.opts.MaxRetries {
			tries := "1 attempt"
			if attempts > 1 {
				tries = fmt.Sprintf("%d attempts", attempts)
			}
			return attempts, "", fmt.Errorf("gave up after %s: %w", tries, err)
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
			return attempts, "", fmt.Errorf("%w; %w", err, &DeadlineError{Reason: reason, Wait: delay, Left: left})
		}
		if isAPI && apiErr.RateLimited() {
			// The bucket is the account's, not this worker's: every request
			// to the account waits.
			p.Pause(delay, cloudflare.Cost(b.Type, b.Count()))
			continue
		}
		if err := retry.Sleep(ctx, delay); err != nil {
			return attempts, "", r.waitError(ctx, err, last)
		}
	}
}

// waitError explains why a batch stopped while waiting: the run was
// stopped after an auth failure, the timeout passed, or a wait would have.
func (r *runner) waitError(ctx context.Context, err, last error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
		if last != nil { // sent and answered: that answer is the outcome
			return fmt.Errorf("%w; not sent again: another request failed authentication", last)
		}
		return ErrStopped
	}
	err = r.interrupted(err)
	if last != nil {
		return fmt.Errorf("%w (last attempt: %w)", err, last)
	}
	return err
}

func (r *runner) stopReason(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
		return ErrStopped
	}
	return fmt.Errorf("not sent: %w", r.interrupted(ctx.Err()))
}

// interrupted words a context error for the log: the timeout input ran
// out, or the run was cancelled (the job was cancelled, or SIGTERM).
func (r *runner) interrupted(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timeout reached before the %s finished: %w", r.noun(), err)
	}
	return retry.Interrupted(err)
}

// retryable: rate limiting, server-side failures and failed round trips
// (connection reset, no answer) may succeed when sent again. A purge is
// idempotent, so sending one twice is harmless. A request the outbound
// guard refused (it held a secret) was not sent, and never will be.
func retryable(err error) bool {
	if apiErr, ok := errors.AsType[*cloudflare.APIError](err); ok {
		return apiErr.Retryable()
	}
	_, refused := errors.AsType[*outbound.RefusedError](err)
	return !refused && !errors.Is(err, context.Canceled) && !errors.Is(err, cloudflare.ErrIncompleteScope)
}

func isAuthFailure(err error) bool {
	apiErr, ok := errors.AsType[*cloudflare.APIError](err)
	return ok && apiErr.AuthFailure()
}

// DeadlineError says a wait (Retry-After, backoff or pacing) would end
// after the run's timeout, so the batch failed at once instead.
type DeadlineError = pace.DeadlineError

// TimedOut reports whether err means the run's timeout was, or would
// have been, passed.
func TimedOut(err error) bool { return pace.TimedOut(err) }

// noun names what the run does, for messages: every job of a run has
// the run's one operation.
func (r *runner) noun() string {
	if len(r.jobs) > 0 && r.jobs[0].Operation == cloudflare.Invalidate {
		return "invalidation"
	}
	return "purge"
}
