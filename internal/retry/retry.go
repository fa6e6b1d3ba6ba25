// Package retry is the one place for what every client's retries and
// waits share: the bound of one attempt, a wait that ends with the run's
// context, an error that asks backoff.Retry to wait as the server said,
// and the words for a run that the timeout or a cancellation stopped.
// The Cloudflare purge and lookups, GitHub's compare API and the requests
// to the user's site all use it, so a change to one bound or one wording
// is made once.
//
// It imports backoff alone.
package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// The bound of one attempt, per kind of request: a server that accepts
// the connection and never answers costs one retry, not the run.
const (
	// PurgeAttempt: a purge of 500 URLs is still a small POST; 60 s is
	// ample, as it is for a compare of a large range on GitHub.
	PurgeAttempt = 60 * time.Second
	// CompareAttempt: GitHub takes seconds for a large comparison, never
	// minutes.
	CompareAttempt = 60 * time.Second
	// LookupAttempt: a zone or environment lookup is a small GET that
	// Cloudflare answers in well under a second.
	LookupAttempt = 30 * time.Second
	// SiteAttempt: a page of the user's site, headers first (verify and
	// warm read no body; wait-for at most 1 MiB).
	SiteAttempt = 30 * time.Second
	// VerifyAttempt: the token check that explains a refused request is a
	// tiny GET, asked only after the run has already failed; an answer
	// that has not come in 10 s is not worth holding the failure for, so
	// it is also sent again at most once, and never after a timeout.
	VerifyAttempt = 10 * time.Second
)

// Sleep waits d, or until ctx ends, whichever is first; it returns
// ctx's cause when the context ended first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// PastDeadline reports whether a wait of d from now would end after
// ctx's deadline: such a wait fails at once rather than hold the run.
func PastDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Now().Add(d).After(dl)
}

// WaitThen is err, which asks backoff.Retry to wait d before the next
// attempt (the server's Retry-After), and still reads as err if it is
// the last.
func WaitThen(err error, d time.Duration) error {
	return waitThen{err, &backoff.RetryAfterError{Duration: d}}
}

type waitThen struct {
	err   error
	after *backoff.RetryAfterError
}

func (w waitThen) Error() string   { return w.err.Error() }
func (w waitThen) Unwrap() []error { return []error{w.err, w.after} }

// Interrupted words what ended a context: the timeout input, or a
// cancellation (the job was cancelled, or the runner sent SIGTERM). err
// stays wrapped, so errors.Is still sees the context error.
func Interrupted(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timeout reached: %w", err)
	}
	return fmt.Errorf("run cancelled (the job was cancelled, or the runner sent SIGTERM): %w", err)
}

// Why is Interrupted's words alone, without Go's own error text, for a
// sentence: "the timeout was reached", "the run was cancelled (…)".
func Why(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the timeout was reached"
	}
	return "the run was cancelled (the job was cancelled, or the runner sent SIGTERM)"
}
