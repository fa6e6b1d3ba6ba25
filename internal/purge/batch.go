// Package purge plans the requests of a purge and sends them: in batches,
// several at a time, paced to the account's rate limits, retried when
// Cloudflare asks to wait or fails on its side.
package purge

import "github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"

// Batch is one purge request.
type Batch struct {
	Index   int // 0-based, in the order the targets were given
	Type    cloudflare.PurgeType
	Targets []cloudflare.Target
}

// Body is the request body that purges the batch.
func (b Batch) Body() cloudflare.Body { return cloudflare.NewBody(b.Type, b.Targets) }

// Count is how many targets the batch purges; purging everything counts as one.
func (b Batch) Count() int {
	if b.Type == cloudflare.Everything {
		return 1
	}
	return len(b.Targets)
}

// Requests is how many batches Plan makes of n targets of typ at size a
// request.
func Requests(typ cloudflare.PurgeType, n, size int) int {
	if typ == cloudflare.Everything {
		return 1
	}
	size = max(size, 1)
	return (n + size - 1) / size
}

// Plan splits targets into batches of at most size, keeping their order,
// so that every target is sent exactly once. Purging everything is one
// batch with no targets.
func Plan(typ cloudflare.PurgeType, targets []cloudflare.Target, size int) []Batch {
	if typ == cloudflare.Everything {
		return []Batch{{Index: 0, Type: typ}}
	}
	size = max(size, 1)
	batches := make([]Batch, 0, Requests(typ, len(targets), size))
	for start := 0; start < len(targets); start += size {
		end := min(start+size, len(targets))
		batches = append(batches, Batch{Index: len(batches), Type: typ, Targets: targets[start:end:end]})
	}
	return batches
}

// Total is how many targets the batches purge.
func Total(batches []Batch) int {
	n := 0
	for _, b := range batches {
		n += b.Count()
	}
	return n
}
