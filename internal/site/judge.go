package site

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
//
// A CF-Cache-Status or Age sent more than once with different values (a
// proxy's own, or a forged one) is never fresh, whichever came first: it
// is stale if any status with any Age would be (a HIT with an Age older
// than T), else unjudged.
func Judge(resp Response, purged time.Time) (v Verdict, why string) {
	statuses, ages := fieldValues(resp.CacheStatus), fieldValues(resp.Age)
	if len(statuses) <= 1 && len(ages) <= 1 {
		return judgeOne(first(statuses), first(ages), resp.At.Sub(purged))
	}
	for _, status := range statuses {
		for _, age := range ages {
			if v, _ := judgeOne(status, age, resp.At.Sub(purged)); v == Stale {
				return Stale, ""
			}
		}
	}
	return Unjudged, fmt.Sprintf("CF-Cache-Status or Age sent more than once, disagreeing (CF-Cache-Status %s; Age %s)",
		cmp.Or(resp.CacheStatus, "none"), cmp.Or(resp.Age, "none"))
}

// judgeOne judges one CF-Cache-Status with one Age ("" when absent), got
// since after T.
func judgeOne(status, age string, since time.Duration) (v Verdict, why string) {
	switch status {
	case "MISS", "EXPIRED", "REVALIDATED", "UPDATING", "BYPASS", "DYNAMIC":
		return Fresh, ""
	case "HIT", "STALE":
		switch {
		case age == "":
			return Unjudged, fmt.Sprintf("CF-Cache-Status %s without Age", status)
		case !allDigits(age):
			return Unjudged, fmt.Sprintf("CF-Cache-Status %s with an Age that is not a number", status)
		}
		// RFC 9111 §1.2.2: a delta-seconds too large to hold is taken as
		// the largest one (2^31).
		n, err := strconv.ParseUint(age, 10, 31)
		if err != nil {
			n = 1 << 31
		}
		if time.Duration(n)*time.Second <= since+ageSlack {
			return Fresh, ""
		}
		return Stale, ""
	case "":
		return Unjudged, "no CF-Cache-Status: not served through Cloudflare's cache"
	}
	return Unjudged, "CF-Cache-Status " + status + " does not say whether the cache was used"
}

// fieldValues are the distinct values of a field's text (fieldText), in
// the order sent; none when it is "".
func fieldValues(text string) []string {
	if text == "" {
		return nil
	}
	var out []string
	for v := range strings.SplitSeq(text, ",") {
		if v = strings.TrimSpace(v); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
