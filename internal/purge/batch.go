// Package purge plans the requests of a run and sends them: each job (one
// operation on one zone or environment) split into batches (batch.go),
// several sent at a time by each account's workers (queue.go), paced by
// package pace (each account's bucket, the token's API limit, the
// requests in flight), retried when Cloudflare asks to wait or fails on
// its side (send.go), split when Cloudflare refuses some of a batch's
// targets (refused.go), and cut to a smaller size when it refuses the
// batch's size (queue.go: learnSize, cut). Run (run.go) says how, in
// full. It also says, before anything is sent, whether a run can finish
// within its timeout (budget.go), since that depends on the pacing.
//
// It imports cloudflare (requests, errors, limits), pace, outbound (a
// refused request is not retried) and cenkalti/backoff; never config or
// the runner side.
package purge

import "github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"

// Job is one operation on one scope, split into batches.
type Job struct {
	Scope     cloudflare.Scope
	Operation cloudflare.Operation
	Type      cloudflare.PurgeType
	Batches   []Batch
	// Account is the Cloudflare account the scope's zone belongs to, ""
	// when unknown. Purge limits are the account's, per plan: jobs of one
	// account and plan (all jobs of "" taken as one account) share one
	// pacing bucket (package pace), other jobs do not.
	Account string
	// Plan is the plan of the scope's zone when known per zone (looked
	// up); PlanUnknown: Options.Limits, or learned.
	Plan cloudflare.Plan
}

// NewJob splits targets into batches of at most size, keeping their order,
// so that every target is sent exactly once. Purging everything is one
// batch with no targets.
func NewJob(scope cloudflare.Scope, op cloudflare.Operation, typ cloudflare.PurgeType, targets []cloudflare.Target, size int) Job {
	j := Job{Scope: scope, Operation: op, Type: typ}
	if typ == cloudflare.Everything {
		j.Batches = []Batch{{Type: typ}}
		return j
	}
	size = max(size, 1)
	j.Batches = make([]Batch, 0, Requests(typ, len(targets), size))
	for start := 0; start < len(targets); start += size {
		end := min(start+size, len(targets))
		j.Batches = append(j.Batches, Batch{Index: len(j.Batches), Type: typ, Targets: targets[start:end:end]})
	}
	return j
}

// Request is the call that sends batch b of the job.
func (j Job) Request(b Batch) cloudflare.Request {
	return cloudflare.Request{Scope: j.Scope, Operation: j.Operation, Body: b.Body()}
}

// Count is how many targets the job's batches hold.
func (j Job) Count() int {
	n := 0
	for _, b := range j.Batches {
		n += b.Count()
	}
	return n
}

// Batch is one request's share of a job's targets.
type Batch struct {
	Index   int // 0-based, in the order the targets were given
	Type    cloudflare.PurgeType
	Targets []cloudflare.Target
}

// Body is the request body for the batch.
func (b Batch) Body() cloudflare.Body { return cloudflare.NewBody(b.Type, b.Targets) }

// Count is how many targets the batch holds; everything counts as one.
func (b Batch) Count() int {
	if b.Type == cloudflare.Everything {
		return 1
	}
	return len(b.Targets)
}

// Requests is how many batches NewJob makes of n targets of typ at size
// a request.
func Requests(typ cloudflare.PurgeType, n, size int) int {
	if typ == cloudflare.Everything {
		return 1
	}
	size = max(size, 1)
	return (n + size - 1) / size
}

// buckets groups jobs by the purge bucket they draw from: Cloudflare's
// buckets are the account's, and zones of one plan in one account share
// one (Job.Account, Job.Plan). of[j] is job j's group, numbered in order
// of first appearance; n is how many groups there are. Run paces each
// group by a bucket of its own, and CheckBudget counts each group's.
func buckets(jobs []Job) (of []int, n int) {
	type key struct {
		account string
		plan    cloudflare.Plan
	}
	index := map[key]int{}
	of = make([]int, len(jobs))
	for j, job := range jobs {
		k := key{job.Account, job.Plan}
		i, ok := index[k]
		if !ok {
			i = len(index)
			index[k] = i
		}
		of[j] = i
	}
	return of, len(index)
}

// bucket is the bucket of typ that job's group draws from, per its plan
// when the job's plan is known, else per limits.
func bucket(job Job, limits cloudflare.Limits, typ cloudflare.PurgeType) cloudflare.Rate {
	if job.Plan != cloudflare.PlanUnknown {
		return job.Plan.Limits().Bucket(typ)
	}
	return limits.Bucket(typ)
}
