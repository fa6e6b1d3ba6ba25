package purge

import (
	"context"
	"time"
)

// Clock is the time source of a run. Tests use a fake whose Sleep
// advances virtual time at once, so retry and pacing tests never sleep.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done (returning its error).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
