package cloudflare

import (
	"fmt"
	"time"
)

// Plan is a Cloudflare plan, whose purge limits differ by a factor of 600.
// The empty Plan means "unknown": no pacing up front, only what the
// server's answers teach.
type Plan string

// The plans, as the action's plan input spells them.
const (
	PlanUnknown    Plan = ""
	PlanFree       Plan = "free"
	PlanPro        Plan = "pro"
	PlanBusiness   Plan = "business"
	PlanEnterprise Plan = "enterprise"
)

// Plans lists the known plans, cheapest first.
var Plans = []Plan{PlanFree, PlanPro, PlanBusiness, PlanEnterprise}

// Rate is a token bucket: Burst units at once, refilled at PerSecond.
// A zero Rate means no limit is known.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Limits are the purge limits of a plan, from Cloudflare's "Purge cache"
// documentation (updated 2026-07-29; per account; for every purge type on
// every plan since 2025-04-01).
type Limits struct {
	// Requests is the bucket that tag, host, prefix and everything purges
	// draw one unit a request from.
	Requests Rate
	// URLs is the bucket that files purges draw one unit a URL from (the
	// docs call it a moving average; one second's worth is its burst).
	URLs Rate
	// FilesPerRequest and ItemsPerRequest are the most items one request
	// may carry.
	FilesPerRequest int
	ItemsPerRequest int
}

// Cloudflare's global API limit, separate from the purge buckets and the
// same on every plan: at most APIRequestLimit requests per user in any
// APIRequestWindow, counting every API call the user's token or key makes.
// At 100 URLs a request, a purge of 120,000 URLs reaches it (36,000 at
// SafeBatchSize).
const (
	APIRequestLimit  = 1200
	APIRequestWindow = 5 * time.Minute
)

// APILimitText names the global API limit in messages.
var APILimitText = fmt.Sprintf("Cloudflare's API limit of %d requests per %d minutes",
	APIRequestLimit, int(APIRequestWindow.Minutes()))

// Limits on single targets (Cloudflare docs: purge by tag, by prefix).
const (
	MaxTagLength     = 1024
	MaxPrefixSlashes = 31
)

// MaxIDLength is the longest zone or environment ID the API reference
// allows in a path (maxLength: 32 for both).
const MaxIDLength = 32

// The API's hard maximum items per request, on the most generous plan;
// batch-size may not go above them.
const (
	MaxFilesPerRequest = 500
	MaxItemsPerRequest = 100
)

// DefaultFilesPerRequest is the URLs per request when the plan is unknown
// or not Enterprise: Cloudflare's current limits table (2026-07-29) gives
// 100 on every plan but Enterprise.
const DefaultFilesPerRequest = 100

// SafeBatchSize is the request size every plan has taken for years: older
// docs, a 2025 docs issue and a 2026 report of HTTP 400 for 245 URLs all
// say 30 URLs a request on non-Enterprise plans, where the current table
// says 100. A refusal of a larger request that may be about its size is
// answered by cutting it into requests of this size (package purge).
const SafeBatchSize = 30

// Limits returns the plan's limits; the unknown plan has no rates and the
// request sizes of the plans below Enterprise.
func (p Plan) Limits() Limits {
	l := Limits{FilesPerRequest: DefaultFilesPerRequest, ItemsPerRequest: MaxItemsPerRequest}
	switch p {
	case PlanFree:
		l.Requests, l.URLs = Rate{PerSecond: 5.0 / 60, Burst: 25}, Rate{PerSecond: 800, Burst: 800}
	case PlanPro:
		l.Requests, l.URLs = Rate{PerSecond: 5, Burst: 25}, Rate{PerSecond: 1500, Burst: 1500}
	case PlanBusiness:
		l.Requests, l.URLs = Rate{PerSecond: 10, Burst: 50}, Rate{PerSecond: 1500, Burst: 1500}
	case PlanEnterprise:
		l.Requests, l.URLs = Rate{PerSecond: 50, Burst: 500}, Rate{PerSecond: 3000, Burst: 3000}
		l.FilesPerRequest = MaxFilesPerRequest
	}
	return l
}

// BatchSize is the plan's items per request for a purge type.
func (l Limits) BatchSize(typ PurgeType) int {
	if typ == Files {
		return l.FilesPerRequest
	}
	return l.ItemsPerRequest
}

// Bucket is the bucket that requests of typ draw from: URLs for files
// purges, requests for every other type.
func (l Limits) Bucket(typ PurgeType) Rate {
	if typ == Files {
		return l.URLs
	}
	return l.Requests
}

// Cost is how many units of its Bucket a request of typ with items
// targets takes.
func Cost(typ PurgeType, items int) int {
	if typ == Files {
		return items
	}
	return 1
}

// MaxBatchSize is the most items the API takes in one request of typ.
func MaxBatchSize(typ PurgeType) int {
	if typ == Files {
		return MaxFilesPerRequest
	}
	return MaxItemsPerRequest
}
