package purge

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/pace"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
)

// Sender sends one request; *cloudflare.Client is one.
type Sender interface {
	Send(ctx context.Context, r cloudflare.Request) (cloudflare.Result, error)
}

// Options say how to send the batches.
type Options struct {
	// Concurrency is the most requests in flight at once (at least 1),
	// to every account together.
	Concurrency int
	// MaxRetries is how often one request is sent again after a 429, a
	// 5xx or a network error.
	MaxRetries int
	// Limits are the plan's; their rates pace requests from the first one,
	// each account (Job.Account) by its own bucket of them. Without rates
	// for the run's purge type (the plan is unknown), each account's pacer
	// learns its bucket from the answers (package pace: climb.go).
	Limits cloudflare.Limits
	// Deadline is when the run must be over; waits that would end after
	// it fail at once instead.
	Deadline time.Time
	// NewBackOff gives each request its own retry delays; nil means
	// exponential from 1 s (×2, ±50% jitter, at most 60 s).
	NewBackOff func() BackOff
	// OnDone, if set, is called once per batch given to Run, when every
	// request for it has ended, one call at a time.
	OnDone func(BatchResult)
	// LookupPlan, if set, is asked for the plan of the account zoneID
	// belongs to (GET /zones/{zone_id}'s plan.legacy_id, say), once per
	// account (Job.Account) with the ZoneID of its first job, when Limits
	// has no rates for the run's purge type and the account's jobs hold
	// more units than the smallest plan's bucket (more than Free's 800
	// URLs or 25 requests): fewer never need pacing. It runs concurrently
	// with the first requests (see Run). A known plan it returns paces the
	// rest of that account's requests as if Limits had been that plan's;
	// an error, or a plan with no documented limits, only makes a Debugf
	// line, and the account's pacer goes on learning from the answers.
	LookupPlan func(ctx context.Context, zoneID string) (cloudflare.Plan, error)
	// Debugf, if set, receives debug lines: what the pacer learned of the
	// account's limits, the plan lookup's answer or why it failed, a
	// learned batch size. The workers, the pacer and the lookup call it
	// from goroutines of their own, at once: it must be safe for
	// concurrent use, as action.Reporter.Debugf is. When the jobs span
	// several accounts, an account's lines begin with its name ("account
	// ID: ").
	Debugf func(format string, args ...any)
}

// Rejection is one target that Cloudflare refused on its own: sent alone,
// it got a 400 that is about the request's content (see Run).
type Rejection struct {
	Target cloudflare.Target
	Err    error // the *cloudflare.APIError, with Cloudflare's message
}

// BatchResult is how one of the batches given to Run ended. There is one
// per batch given to Run, whatever became of it: Batch is that batch as
// given (Batch.Index its index in its job's Batches), even when its
// targets went in several requests (halves of a refused batch, pieces of
// cloudflare.SafeBatchSize of one whose size was in doubt, or pieces of a
// batch larger than a learned batch size).
//
// Every target of Batch is in exactly one of three parts:
//
//   - purged: Purged targets, in requests Cloudflare confirmed (a 2xx
//     with "success": true and a result.id). Purging everything counts 1.
//   - rejected: len(Rejected) targets, each refused when sent alone, in
//     target order, with Cloudflare's error; they were not purged.
//   - failed: Batch.Count() − Purged − len(Rejected) targets, not purged
//     for another reason (an error that splitting cannot get round, a
//     timeout, retries exhausted, the run stopped). Err says why, and is
//     nil exactly when no target failed. When parts of the batch failed
//     for different reasons, Err is that of the first in target order.
//
// So Purged + len(Rejected) + failed == Batch.Count(), and summing
// Purged over the results gives the targets purged.
type BatchResult struct {
	Job   int // index into the jobs given to Run
	Batch Batch
	// IDs are the purge IDs of the requests that purged the batch's
	// targets, in target order: one when it went whole, more when it was
	// split or cut to a learned batch size.
	IDs      []string
	Purged   int
	Rejected []Rejection
	// Attempts counts every request sent for the batch: retries, halves
	// and pieces included (0: never sent).
	Attempts int
	Err      error
	// Confirmed is when Cloudflare confirmed the request that carried
	// each target (Confirmed[i] for Batch.Targets[i]; zero: never), and
	// First when it first confirmed any request of the batch (for
	// everything, which has no targets). Verify judges a copy as cached
	// before or after this time.
	Confirmed []time.Time
	First     time.Time
}

// Outcome is what Run did.
type Outcome struct {
	// Results has one entry per batch given to Run, in job and then batch
	// order.
	Results []BatchResult
	// LearnedBatchSize is the batch size the account was found to take,
	// when a request was refused and every part it was cut into then went
	// through (pieces of cloudflare.SafeBatchSize when its size was in
	// doubt, else halves): the largest request size that worked below the
	// smallest refused one. Every batch sent after that was cut to it. 0:
	// nothing was learned.
	LearnedBatchSize int
}

// ErrStopped marks batches that were not sent because another request
// failed authentication: the rest would fail the same way. Requests
// already in flight then are not cut off: they end with their own answer.
var ErrStopped = errors.New("not sent: an earlier request failed authentication")

// BackOff gives the delays between retries of one request.
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

// Run sends every batch of every job and returns one result per batch
// given. It never gives up on the remaining batches because one failed,
// except after an authentication failure.
//
// The jobs of one account (Job.Account) share that account's pacer and
// are sent in order by up to Options.Concurrency workers of their own, so
// that an account held back by its bucket or a 429 holds back no other;
// the requests in flight (Options.Concurrency) and the API window count
// every account's together.
//
// A batch refused with a 400 that may be about its targets (not about
// authentication, the rate limit, the path or the body's keys: see
// splittable) is not given up whole:
//
//   - when Cloudflare's message names one of its targets ("Unable to
//     purge <url>, which is an invalid URL."), that target is Rejected and
//     the rest is sent again at once, in one request;
//   - when its size may be the cause (it is larger than
//     cloudflare.SafeBatchSize, the size every plan has taken for years,
//     and than every request that went through: see sizeInDoubt), it is
//     cut into pieces of that size, each sent on its own (paced like any
//     request): an account that takes no more than that costs one
//     refusal. So that it costs one in all, not one per worker, only one
//     request whose size is in doubt is out at a time (the size trial:
//     see next), until one goes through or its pieces are answered;
//   - otherwise it is split in halves, each sent on its own, again and
//     again, until the targets Cloudflare refuses stand alone: those are
//     Rejected, every other target is purged. That costs at most about
//     2·log2(batch size) extra requests per rejected target. When every
//     part of a piece (both halves, or every piece of the safe size) is
//     refused alike (same status, codes and messages) the error is about
//     no one target: none is split further and all fail with
//     Cloudflare's answer, so trying costs a request a part;
//   - after brakeAfter(Concurrency) refusals in a row with no success
//     between, nothing refused is split or sent again any more (braked):
//     the rest of each refused batch fails with Cloudflare's answer, and
//     each batch not yet sent costs one request.
//
// When every part of a refused batch goes through, the batch's size was
// the problem, not a target: every request after that is cut to the
// largest size that worked (Outcome.LearnedBatchSize; the safe size, when
// the refused one was larger), so the size is found once, not again for
// every batch.
func Run(ctx context.Context, sender Sender, jobs []Job, opts Options) Outcome {
	if opts.NewBackOff == nil {
		opts.NewBackOff = DefaultBackOff
	}
	if opts.Debugf == nil {
		opts.Debugf = func(string, ...any) {}
	}
	r := &runner{sender: sender, opts: opts, jobs: jobs, okSizes: map[int]bool{}, brake: brakeAfter(opts.Concurrency)}
	r.cond = sync.NewCond(&r.mu)
	var typ cloudflare.PurgeType
	if len(jobs) > 0 {
		// Every job of a run has the run's one purge type, so they draw
		// from one bucket of each account's plan.
		typ = jobs[0].Type
	}
	type account struct {
		lane           *lane
		maxCost, units int
	}
	of, n := buckets(jobs)
	accounts := make([]account, n)
	longest := 0
	for _, job := range jobs {
		for _, b := range job.Batches {
			longest = max(longest, len(b.Targets))
		}
	}
	whole := sequence(longest)
	for j, job := range jobs {
		a := &accounts[of[j]]
		if a.lane == nil {
			a.lane, a.maxCost = &lane{account: job.Account, zoneID: job.Scope.Zone().String(), bucket: bucket(job, opts.Limits, typ)}, 1
		}
		for _, b := range job.Batches {
			cost := cloudflare.Cost(b.Type, b.Count())
			a.maxCost = max(a.maxCost, cost)
			a.units += cost
			r.slots = append(r.slots, slot{res: BatchResult{Job: j, Batch: b}, pending: 1, lane: a.lane})
			r.enqueue(a.lane, true, piece{slot: len(r.slots) - 1, offs: whole[:len(b.Targets):len(b.Targets)]})
		}
	}
	limiter := pace.New(opts.Concurrency, opts.Deadline)
	for _, a := range accounts {
		a.lane.debugf = opts.Debugf
		if len(accounts) > 1 {
			a.lane.debugf = withPrefix(accountName(a.lane.account)+": ", opts.Debugf)
		}
		a.lane.pacer = limiter.Account(a.lane.bucket, typ, a.maxCost, a.lane.debugf)
	}

	r.sendCtx = ctx
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	var lookups []<-chan struct{}
	for _, a := range accounts {
		lookups = append(lookups, r.lookupPlan(ctx, a.lane, limiter, typ, a.units))
	}
	var wg sync.WaitGroup
	for _, a := range accounts {
		for range max(opts.Concurrency, 1) {
			wg.Go(func() { r.work(ctx, a.lane) }) // workers report through the slots
		}
	}
	wg.Wait()
	stop(nil) // lookups still out are of no use now
	for _, done := range lookups {
		<-done
	}

	results := make([]BatchResult, len(r.slots))
	for i := range r.slots {
		results[i] = r.slots[i].res
	}
	return Outcome{Results: results, LearnedBatchSize: r.size}
}

// accountName names an account in debug lines.
func accountName(account string) string {
	if account == "" {
		return "the zones of an unknown account"
	}
	return "account " + account
}

// withPrefix writes every line of debugf after prefix.
func withPrefix(prefix string, debugf func(string, ...any)) func(string, ...any) {
	return func(format string, args ...any) { debugf(prefix+format, args...) }
}

// lookupPlan asks Options.LookupPlan for the plan of ln's account when
// its pacer does not know it and the account's units (of the run's purge
// type) are more than the smallest plan's bucket. It runs beside the
// first requests rather than before them: until the smallest plan's
// bucket is spent the pacer sends nothing any plan would refuse, and it
// goes past that bucket only one probe at a time, so waiting for the
// answer would cost a round trip and spare nothing. The returned channel
// is closed when the lookup is over.
func (r *runner) lookupPlan(ctx context.Context, ln *lane, limiter *pace.Limiter, typ cloudflare.PurgeType, units int) <-chan struct{} {
	done := make(chan struct{})
	smallest := 0
	for i, plan := range cloudflare.Plans {
		if b := plan.Limits().Bucket(typ).Burst; i == 0 || b < smallest {
			smallest = b
		}
	}
	if r.opts.LookupPlan == nil || ln.pacer.Known() || units <= smallest {
		close(done)
		return done
	}
	limiter.RecordLookup()
	go func() {
		defer close(done)
		lctx, cancel := context.WithTimeout(ctx, retry.LookupAttempt)
		defer cancel()
		plan, err := r.opts.LookupPlan(lctx, ln.zoneID)
		switch {
		case err != nil && ctx.Err() != nil:
			ln.debugf("plan lookup: not answered before the purge ended")
		case err != nil:
			ln.debugf("plan lookup failed, learning the purge limits from the answers instead: %v", err)
		default:
			ln.pacer.UsePlan(plan)
		}
	}()
	return done
}
