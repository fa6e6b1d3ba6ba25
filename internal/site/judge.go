package site

import (
	"fmt"
	"strconv"
	"time"
)

// Verdict is what one answer shows of the purge.
type Verdict int

// The verdicts.
const (
	// Unjudged: no answer, or one that did not pass through Cloudflare's
	// cache as far as the check can tell (no CF-Cache-Status, or one it
	// does not know), or a URL that is not requested.
	Unjudged Verdict = iota
	// Fresh: not served from a copy cached before the purge.
	Fresh
	// Stale: served from a copy older than the purge.
	Stale
)

func (v Verdict) String() string {
	switch v {
	case Fresh:
		return "fresh"
	case Stale:
		return "stale"
	}
	return "not checked"
}

// ageSlack allows for Age's whole seconds, and for the edge having
// stored the copy a moment before Cloudflare's answer reached the runner.
const ageSlack = time.Second

// Judge says whether an answer got at resp.At shows a copy stored after
// purged (T). Statuses that fetched from the origin or did not use the
// cache are fresh; a HIT or STALE is fresh when its Age is at most the
// time since T (plus ageSlack): someone refilled the cache after the
// purge. An older Age is stale. why says what an unjudged answer lacked.
func Judge(resp Response, purged time.Time) (v Verdict, why string) {
	switch resp.CacheStatus {
	case "MISS", "EXPIRED", "REVALIDATED", "UPDATING", "BYPASS", "DYNAMIC":
		return Fresh, ""
	case "HIT", "STALE":
		switch {
		case resp.Age == "":
			return Unjudged, fmt.Sprintf("CF-Cache-Status %s without Age", resp.CacheStatus)
		case !allDigits(resp.Age):
			return Unjudged, fmt.Sprintf("CF-Cache-Status %s with an Age that is not a number", resp.CacheStatus)
		}
		// RFC 9111 §1.2.2: a delta-seconds too large to hold is taken as
		// the largest one (2^31).
		age, err := strconv.ParseUint(resp.Age, 10, 31)
		if err != nil {
			age = 1 << 31
		}
		if time.Duration(age)*time.Second <= resp.At.Sub(purged)+ageSlack {
			return Fresh, ""
		}
		return Stale, ""
	case "":
		return Unjudged, "no CF-Cache-Status: not served through Cloudflare's cache"
	}
	return Unjudged, "CF-Cache-Status " + resp.CacheStatus + " does not say whether the cache was used"
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
