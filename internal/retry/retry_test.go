package retry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
)

func TestSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := retry.Sleep(context.Background(), 3*time.Second); err != nil || time.Since(start) != 3*time.Second {
			t.Errorf("Sleep = %v after %s, want nil after 3s", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start = time.Now()
		if err := retry.Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("Sleep = %v after %s, want the deadline after 1s", err, time.Since(start))
		}
		if !retry.PastDeadline(ctx, time.Hour) || retry.PastDeadline(context.Background(), time.Hour) {
			t.Error("PastDeadline: a wait past the deadline is past it; without one, none is")
		}
	})
}

func TestWaitThenReadsAsTheServersError(t *testing.T) {
	t.Parallel()
	server := errors.New("HTTP 429: slow down")
	err := retry.WaitThen(server, 7*time.Second)
	if err.Error() != server.Error() || !errors.Is(err, server) {
		t.Errorf("WaitThen = %v, want it to read and match as the server's error", err)
	}
}

func TestInterruptedSaysWhatStoppedTheRun(t *testing.T) {
	t.Parallel()
	if got := retry.Interrupted(context.DeadlineExceeded); !strings.HasPrefix(got.Error(), "timeout reached") || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", got)
	}
	if got := retry.Interrupted(context.Canceled); !strings.Contains(got.Error(), "run cancelled") || !errors.Is(got, context.Canceled) {
		t.Errorf("cancelled: %v", got)
	}
	if retry.Why(context.DeadlineExceeded) != "the timeout was reached" || !strings.Contains(retry.Why(context.Canceled), "SIGTERM") {
		t.Error("Why words the two apart")
	}
}
