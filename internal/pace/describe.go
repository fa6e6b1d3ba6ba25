package pace

import (
	"fmt"
	"math"
	"strings"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// PlanNames names the plans whose bucket for typ is b: "free",
// "pro/business"; "" when none is.
func PlanNames(b cloudflare.Rate, typ cloudflare.PurgeType) string {
	var names []string
	for _, plan := range cloudflare.Plans {
		if plan.Limits().Bucket(typ) == b {
			names = append(names, string(plan))
		}
	}
	return strings.Join(names, "/")
}

// unitName is what a bucket of typ counts.
func unitName(typ cloudflare.PurgeType) string {
	if typ == cloudflare.Files {
		return "URLs"
	}
	return "requests"
}

// DescribeRate writes a bucket as "5 requests a minute (bucket 25)".
func DescribeRate(b cloudflare.Rate, typ cloudflare.PurgeType) string {
	per, n := "second", b.PerSecond
	if n < 1 {
		per, n = "minute", n*60
	}
	return fmt.Sprintf("%s %s a %s (bucket %s)", formatCount(n), unitName(typ), per, formatCount(float64(b.Burst)))
}

// formatCount writes a rate without needless decimals: 5, 1,500, 2.5.
func formatCount(n float64) string {
	if r := math.Round(n); math.Abs(n-r) < 1e-9 {
		n = r
	}
	if n != math.Trunc(n) || n >= 1e15 {
		return fmt.Sprintf("%.3g", n)
	}
	s := fmt.Sprintf("%d", int64(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
