package cloudflare

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After value: whole seconds or an HTTP date
// (RFC 9110 §10.2.3). A date in the past gives 0. ok is false when the
// value is absent or unreadable.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return seconds(secs), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// RateLimit is what the rate-limit headers of a response say about the
// bucket the request was counted against. Each Has* flag says whether the
// fields after it were present.
type RateLimit struct {
	HasRemaining bool
	Remaining    int           // units left in the window (r / remaining)
	Reset        time.Duration // until the window resets (t / reset)

	HasPolicy bool
	Quota     int           // units per window (q / limit)
	Window    time.Duration // the window (w)
}

// ParseRateLimit reads the IETF draft rate-limit headers in both the
// current structured form (draft 07 on, which Cloudflare sends:
// `Ratelimit: "default";r=50;t=30` and `Ratelimit-Policy: "default";q=100;w=60`)
// and the older one (`RateLimit-Limit`, `RateLimit-Remaining`,
// `RateLimit-Reset`, or `RateLimit: limit=100, remaining=50, reset=30`).
// When several limits are listed, the one with the fewest units left wins,
// since it is the one that will stop requests first.
func ParseRateLimit(h http.Header) RateLimit {
	var rl RateLimit
	name := ""
	for _, item := range mergeUnnamed(parseList(h.Get("Ratelimit"))) {
		if r, ok := item.intParam("r", "remaining"); ok {
			if !rl.HasRemaining || r < rl.Remaining {
				rl.HasRemaining, rl.Remaining, name = true, r, item.name
				rl.Reset = 0
				if t, ok := item.intParam("t", "reset"); ok {
					rl.Reset = seconds(int64(t))
				}
			}
		}
	}
	if !rl.HasRemaining {
		if r, err := strconv.Atoi(strings.TrimSpace(h.Get("Ratelimit-Remaining"))); err == nil && r >= 0 {
			rl.HasRemaining, rl.Remaining = true, r
			if t, err := strconv.Atoi(strings.TrimSpace(h.Get("Ratelimit-Reset"))); err == nil && t >= 0 {
				rl.Reset = seconds(int64(t))
			}
		}
	}
	policies := parseList(h.Get("Ratelimit-Policy"))
	for _, item := range policies {
		// Prefer the policy named like the limit chosen above; else the first.
		if item.name != name && len(policies) > 1 && name != "" {
			continue
		}
		q, okQ := item.intParam("q")
		if !okQ {
			// Older drafts: `100;w=60`, the quota being the item itself.
			if n, err := strconv.Atoi(item.name); err == nil {
				q, okQ = n, true
			}
		}
		w, okW := item.intParam("w")
		if okQ && okW && q > 0 && w > 0 {
			rl.HasPolicy, rl.Quota, rl.Window = true, q, seconds(int64(w))
			break
		}
	}
	return rl
}

// seconds turns a header's whole seconds into a Duration, capped far
// beyond any run's timeout so a huge value cannot overflow into a
// negative one.
func seconds(n int64) time.Duration { return time.Duration(min(n, 1<<31)) * time.Second }

// listItem is one member of a structured-field list: a name and its
// parameters (`"default";r=50;t=30`, or `remaining=50` in the old form,
// where the name itself is the key=value pair).
type listItem struct {
	name   string
	params map[string]string
}

func (it listItem) intParam(keys ...string) (int, bool) {
	for _, k := range keys {
		if v, ok := it.params[k]; ok {
			n, err := strconv.Atoi(v)
			if err == nil && n >= 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func parseList(v string) []listItem {
	var items []listItem
	for _, member := range splitOutsideQuotes(v, ',') {
		parts := splitOutsideQuotes(member, ';')
		if len(parts) == 0 {
			continue
		}
		it := listItem{params: map[string]string{}}
		for i, p := range parts {
			p = strings.TrimSpace(p)
			k, val, hasEq := strings.Cut(p, "=")
			switch {
			case hasEq:
				it.params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
			case i == 0:
				it.name = strings.Trim(p, `"`)
			}
		}
		items = append(items, it)
	}
	return items
}

// mergeUnnamed turns the old form `limit=100, remaining=50, reset=30`, whose
// members are bare key=value pairs, into one item with three parameters.
func mergeUnnamed(items []listItem) []listItem {
	merged := listItem{params: map[string]string{}}
	for _, it := range items {
		if it.name != "" {
			return items
		}
		for k, v := range it.params {
			merged.params[k] = v
		}
	}
	if len(items) == 0 {
		return nil
	}
	return []listItem{merged}
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// String describes the headers for a debug line, e.g. "Ratelimit: 49
// left, resets in 30s; policy 50 per 1m0s".
func (rl RateLimit) String() string {
	var parts []string
	if rl.HasRemaining {
		parts = append(parts, fmt.Sprintf("%d left, resets in %s", rl.Remaining, rl.Reset))
	}
	if rl.HasPolicy {
		parts = append(parts, fmt.Sprintf("policy %d per %s", rl.Quota, rl.Window))
	}
	if len(parts) == 0 {
		return "no Ratelimit headers"
	}
	return "Ratelimit: " + strings.Join(parts, "; ")
}
