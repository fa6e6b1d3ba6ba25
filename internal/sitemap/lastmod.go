package sitemap

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// w3cLayouts are the W3C datetime profile's forms
// (https://www.w3.org/TR/NOTE-datetime), with the period a form without
// a time covers. A time always has a time zone (Z or ±hh:mm); time.Parse
// takes fractions of a second after the seconds of any layout.
var w3cLayouts = []struct {
	layout string
	years  int
	months int
	days   int
}{
	{"2006-01-02T15:04:05Z07:00", 0, 0, 0},
	{"2006-01-02T15:04Z07:00", 0, 0, 0},
	{"2006-01-02", 0, 0, 1},
	{"2006-01", 0, 1, 0},
	{"2006", 1, 0, 0},
}

// parseW3C reads a W3C datetime: t is the instant it names (the first
// of the period for a date, a month or a year, in UTC), end the first
// instant after it (after the period).
func parseW3C(s string) (t, end time.Time, ok bool) {
	for _, l := range w3cLayouts {
		t, err := time.Parse(l.layout, s)
		if err != nil {
			continue
		}
		if l.days+l.months+l.years == 0 {
			return t, t.Add(time.Nanosecond), true
		}
		return t, t.AddDate(l.years, l.months, l.days), true
	}
	return time.Time{}, time.Time{}, false
}

// parsePriority reads a <priority>: 0.0 to 1.0, else not ok.
func parsePriority(b []byte) (float64, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	p, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		return 0, false
	}
	return p, true
}
