package purge

import (
	"fmt"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// BudgetError says a run cannot finish within its timeout, whatever the
// server answers: the pacing alone takes longer.
type BudgetError struct {
	Targets, BatchSize, Requests int
	Least, Timeout               time.Duration
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%s is too short: %d targets at %d a request are %d requests, which take at least %s under %s; want a timeout over %s (e.g. %s), or a larger batch-size",
		minutes(e.Timeout), e.Targets, e.BatchSize, e.Requests, minutes(e.Least),
		cloudflare.APILimitText, minutes(e.Least), minutes(e.Least+cloudflare.APIRequestWindow))
}

// CheckBudget refuses, before anything is sent, a timeout the jobs cannot
// finish in: past about a thousand requests, Cloudflare's global API limit
// makes every further lot wait five minutes, so a big purge with a short
// timeout would purge the first part and fail the rest.
func CheckBudget(jobs []Job, batchSize int, timeout time.Duration) error {
	requests, targets := 0, 0
	for _, j := range jobs {
		requests += len(j.Batches)
		targets += j.Count()
	}
	least := LeastDuration(requests)
	if least == 0 || least < timeout {
		return nil
	}
	return &BudgetError{Targets: targets, BatchSize: batchSize, Requests: requests, Least: least, Timeout: timeout}
}

// LeastDuration is the shortest time the pacer can send requests requests
// in, whatever the plan: each windowLimit requests past the first lot wait
// a whole APIRequestWindow.
func LeastDuration(requests int) time.Duration {
	if requests <= 0 {
		return 0
	}
	return time.Duration((requests-1)/windowLimit) * cloudflare.APIRequestWindow
}

// minutes prints a duration without a trailing "0s" (10m, not 10m0s).
func minutes(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}
