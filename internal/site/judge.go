package site

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Verdict is what one answer shows of the purge.
type Verdict int

// The verdicts.
const (
	// Unjudged: no answer for a reason that is not the site's (the run
	// ended, the guard refused the request), an answer that did not pass
	// through Cloudflare's cache as far as the check can tell (no
	// CF-Cache-Status, or one it does not know), or a URL that is not
	// requested.
	Unjudged Verdict = iota
	// Fresh: not served from a copy cached before the purge.
	Fresh
	// Stale: served from a copy older than the purge.
	Stale
	// Broken: visitors get an error, whatever the cache holds: an answer
	// of 500–599, or none (no connection, a TLS or DNS failure, a reset,
	// no answer within AttemptTimeout).
	Broken
)

func (v Verdict) String() string {
	switch v {
	case Fresh:
		return "fresh"
	case Stale:
		return "stale"
	case Broken:
		return "broken"
	}
	return "not checked"
}

// cloudflareErrors name the 5xx statuses Cloudflare itself answers when
// it cannot get a good answer from the origin: their numbers alone say
// little to a reader who has not met them.
var cloudflareErrors = map[int]string{
	520: "the origin returned an unknown error",
	521: "web server down",
	522: "connection to the origin timed out",
	523: "origin unreachable",
	524: "a timeout occurred waiting for the origin",
	525: "SSL handshake with the origin failed",
	526: "invalid SSL certificate at the origin",
	530: "origin DNS error or 1xxx error",
}

// StatusText words an HTTP status for a reader: "HTTP 526 (Cloudflare:
// invalid SSL certificate at the origin)", "HTTP 502 (Bad Gateway)",
// "HTTP 599" for a status no one named.
func StatusText(status int) string {
	if name, ok := cloudflareErrors[status]; ok {
		return fmt.Sprintf("HTTP %d (Cloudflare: %s)", status, name)
	}
	if name := http.StatusText(status); name != "" {
		return fmt.Sprintf("HTTP %d (%s)", status, name)
	}
	return fmt.Sprintf("HTTP %d", status)
}

// serverError reports whether a status is 500–599: the origin, or
// Cloudflare on its behalf, failed.
func serverError(status int) bool { return status >= 500 && status <= 599 }

// ageSlack allows for Age's whole seconds, and for the edge having
// stored the copy a moment before Cloudflare's answer reached the runner.
const ageSlack = time.Second

// Judge says whether an answer got at resp.At shows a copy stored after
// purged (T). An answer of 500–599 is broken, whatever its cache headers
// say (a 502 fetched from the origin is a MISS, and visitors still get
// the error); why is its StatusText. Every other answer, 4xx included, is
// judged by its cache headers: a page the deploy removed answers 404, and
// a 404 fetched since the purge is what the deploy asked for.
//
// Statuses that fetched from the origin or did not use the cache are
// fresh; a HIT or STALE is fresh when its Age is at most the time since T
// (plus ageSlack): someone refilled the cache after the purge. An older
// Age is stale. why says what an unjudged answer lacked.
//
// A CF-Cache-Status or Age sent more than once with different values (a
// proxy's own, or a forged one) is never fresh, whichever came first: it
// is stale if any status with any Age would be (a HIT with an Age older
// than T), else unjudged.
func Judge(resp Response, purged time.Time) (v Verdict, why string) {
	if serverError(resp.Status) {
		return Broken, StatusText(resp.Status)
	}
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
