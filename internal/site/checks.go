package site

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
)

// Check is how one URL was judged.
type Check struct {
	Target Target
	// Accept is the Accept header the check added for an image URL (the
	// copy it checked, "image/avif,image/webp,*/*"), or "" when it added
	// none: not an image URL, or one whose Target.Headers name the copy.
	Accept   string
	Response Response // the last answer (zero when the last request got none)
	Verdict  Verdict
	// Why says why the URL was not judged (no answer for a reason that is
	// not the site's, a URL not requested, an answer that does not show
	// the cache) or, when Broken, what broke: StatusText of a 5xx answer
	// ("HTTP 526 (Cloudflare: invalid SSL certificate at the origin)"),
	// or "no answer: " and the error.
	Why string
	// Err is the last request's error, when it got no answer.
	Err      error
	Attempts int // the requests judged
}

// rechecks is how often a stale or broken URL is requested again, after
// 1, 2, 4 and 8 s: a purge reaches every data center within seconds, so
// a copy still served that long after it was not purged; an origin that
// still fails that long after the deploy is not settling.
const rechecks = 4

func recheckBackOff() backoff.BackOff {
	return &backoff.ExponentialBackOff{InitialInterval: time.Second, Multiplier: 2, MaxInterval: 8 * time.Second}
}

// Verify requests every target, Concurrency at a time, and judges each
// answer against the target's Purged time. A stale or broken URL is
// requested again with backoff, while ctx's deadline allows; one that
// gave no answer within AttemptTimeout is not (it took longer than all
// the rechecks would). An image URL is requested as a browser that takes
// AVIF and WebP asks for it. The checks are in the targets' order.
func (c *Client) Verify(ctx context.Context, targets []Target) []Check {
	checks := make([]Check, len(targets))
	c.each(ctx, len(targets), func(ctx context.Context, i int) {
		checks[i] = c.verifyOne(ctx, targets[i])
	})
	return checks
}

func (c *Client) verifyOne(ctx context.Context, t Target) Check {
	ch := Check{Target: t}
	if err := Requestable(t.URL); err != nil {
		ch.Why = err.Error()
		return ch
	}
	req := t
	if accepts := imageAccepts(t); accepts != nil {
		ch.Accept = accepts[0]
		req = t.withAccept(ch.Accept)
	}
	b := recheckBackOff()
	for {
		resp, err := c.get(ctx, req, 0)
		unreachable, siteErr := errors.AsType[*unreachableError](err)
		if err != nil && !siteErr && ch.Attempts > 0 {
			// A recheck the run's end or a Retry-After past the deadline
			// kept from being answered says nothing new: the last
			// judgement stands, as when there is no time to recheck.
			return ch
		}
		ch.Attempts++
		ch.Response, ch.Err = resp, err
		switch {
		case siteErr:
			ch.Verdict, ch.Why = Broken, "no answer: "+err.Error()
			if unreachable.hung {
				return ch
			}
		case err != nil:
			ch.Verdict, ch.Why = Unjudged, "no answer: "+err.Error()
			return ch
		default:
			ch.Verdict, ch.Why = Judge(resp, t.Purged)
		}
		if (ch.Verdict != Stale && ch.Verdict != Broken) || ch.Attempts > rechecks {
			return ch
		}
		if !sleep(ctx, b.NextBackOff()) {
			return ch // the timeout leaves no time to ask again
		}
	}
}

// Warmed is how one warm request went.
type Warmed struct {
	Target Target
	// Accept is the Accept header the request added for an image URL
	// (one of the three copies it refills), or "" as for Check.Accept.
	Accept string
	Status int
	Err    error // no answer, or the URL is not requested
}

// OK reports whether the edge answered 2xx or 3xx.
func (w Warmed) OK() bool { return w.Err == nil && w.Status >= 200 && w.Status < 400 }

// Broken reports whether visitors get an error there, as Verify's Broken
// says: an answer of 500–599, or none for a reason that is the site's.
// A broken request is not OK either.
func (w Warmed) Broken() bool {
	_, siteErr := errors.AsType[*unreachableError](w.Err)
	return siteErr || (w.Err == nil && serverError(w.Status))
}

// Why words what a request that is not OK got: StatusText of its
// answer, or the error; "" when it is OK.
func (w Warmed) Why() string {
	switch {
	case w.OK():
		return ""
	case w.Err != nil:
		return w.Err.Error()
	}
	return StatusText(w.Status)
}

// CountBroken is how many of the warm requests are Broken.
func CountBroken(warmed []Warmed) int {
	n := 0
	for _, w := range warmed {
		if w.Broken() {
			n++
		}
	}
	return n
}

// Warm requests every target once, Concurrency at a time, so that the
// edge fetches and holds the new copy before visitors ask. An image URL
// is requested three times, once for each copy Vary for Images keeps
// (Accept "image/avif,image/webp,*/*", "image/webp,*/*", "*/*"), unless
// its target names an Accept. The results are one a request, in the
// targets' order, an image's three together.
func (c *Client) Warm(ctx context.Context, targets []Target) []Warmed {
	var out []Warmed
	for _, t := range targets {
		accepts := imageAccepts(t)
		if accepts == nil {
			out = append(out, Warmed{Target: t})
		}
		for _, accept := range accepts {
			out = append(out, Warmed{Target: t, Accept: accept})
		}
	}
	c.each(ctx, len(out), func(ctx context.Context, i int) {
		req := out[i].Target
		if out[i].Accept != "" {
			req = req.withAccept(out[i].Accept)
		}
		resp, err := c.get(ctx, req, 0)
		out[i].Status, out[i].Err = resp.Status, err
	})
	return out
}

// each runs do for every index, Concurrency at a time. It starts every
// one even once ctx is done: do then sees ctx done at once and records
// why its URL was not checked, so every index has its result.
func (c *Client) each(ctx context.Context, n int, do func(context.Context, int)) {
	slots := make(chan struct{}, c.concurrency) // a place for each request in flight
	var wg sync.WaitGroup
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			do(ctx, i)
		})
	}
	wg.Wait()
}

// WaitResult is how a wait ended.
type WaitResult struct {
	Polls int
	Took  time.Duration
	// Last says what the last poll got, when it did not match.
	Last string
}

// Poll is one request of a wait, for the log.
type Poll struct {
	N    int
	Last string // what it got: "HTTP 200, text found", "HTTP 404", an error
	Next time.Duration
}

// ErrWaitTimedOut marks a wait that the deadline ended before the URL
// matched.
var ErrWaitTimedOut = errors.New("the URL never matched before the time left for waiting ran out")

// waitBackOff polls after 2 s, then every 1.5 times longer, at most 30 s
// apart: a fast deploy is seen at once, a slow one is not hammered.
func waitBackOff() backoff.BackOff {
	return &backoff.ExponentialBackOff{InitialInterval: 2 * time.Second, Multiplier: 1.5, MaxInterval: 30 * time.Second}
}

// Wait requests rawURL until it answers 2xx with text in the first
// MaxWaitBody bytes of its body (any 2xx when text is empty), or ctx's
// deadline would pass before the next poll: then the error wraps
// ErrWaitTimedOut. A poll matches once the text is read, whatever ends
// the read after it. onPoll, if set, hears of every poll that did not
// match.
func (c *Client) Wait(ctx context.Context, rawURL, text string, onPoll func(Poll)) (WaitResult, error) {
	start := time.Now()
	res := WaitResult{}
	b := waitBackOff()
	t := Target{URL: rawURL}
	for {
		res.Polls++
		resp, err := c.get(ctx, t, MaxWaitBody)
		switch {
		case resp.Status >= 200 && resp.Status <= 299 && bytes.Contains(resp.Body, []byte(text)):
			// The text was seen: a read that failed after it (the
			// connection reset before the answer's end) does not unsee it.
			res.Took = time.Since(start)
			return res, nil
		case err != nil && ctx.Err() != nil:
			res.Took = time.Since(start)
			if res.Last == "" {
				res.Last = err.Error()
			}
			return res, fmt.Errorf("%w (%d poll(s) in %s; the last: %s)", ErrWaitTimedOut, res.Polls, res.Took.Round(time.Second), res.Last)
		case err != nil:
			res.Last = err.Error()
		case resp.Status < 200 || resp.Status > 299:
			res.Last = fmt.Sprintf("HTTP %d", resp.Status)
		default:
			res.Last = fmt.Sprintf("HTTP %d without the text in the first %d bytes", resp.Status, len(resp.Body))
		}
		next := b.NextBackOff()
		if onPoll != nil {
			onPoll(Poll{N: res.Polls, Last: res.Last, Next: next})
		}
		if !sleep(ctx, next) {
			res.Took = time.Since(start)
			return res, fmt.Errorf("%w (%d poll(s) in %s; the last: %s)", ErrWaitTimedOut, res.Polls, res.Took.Round(time.Second), res.Last)
		}
	}
}

// sleep waits d, and reports false at once when ctx's deadline comes
// first (or ctx ends meanwhile).
func sleep(ctx context.Context, d time.Duration) bool {
	return !retry.PastDeadline(ctx, d) && retry.Sleep(ctx, d) == nil
}
