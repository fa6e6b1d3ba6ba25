package pace

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

var freeURLs = cloudflare.PlanFree.Limits().URLs // 800 URLs, 800 a second

func newFree(t *testing.T) (*Limiter, *Account) {
	t.Helper()
	l := New(8, time.Now().Add(time.Hour))
	return l, l.Account(freeURLs, cloudflare.Files, 30, func(string, ...any) {})
}

func TestTokensRefillUpToTheirSize(t *testing.T) {
	t.Parallel()
	now := time.Now()
	b := newTokens(10, 5, now)
	b.take(now, 10)
	if at := b.readyAt(now, 5); !at.Equal(now.Add(time.Second)) {
		t.Errorf("5 units of an empty bucket refilled at 5 a second at +%v, want +1s", at.Sub(now))
	}
	if got := b.at(now.Add(time.Hour)); got != 10 {
		t.Errorf("after an hour the bucket holds %v, want its size 10", got)
	}
	later := now.Add(time.Hour)
	b.limit(later, 2)
	if got := b.at(later); got != 2 {
		t.Errorf("full, then limited to 2, holds %v", got)
	}
}

// A known plan is paced at Margin of its rate from the start: no probe,
// no climb.
func TestAKnownPlanStartsAtItsCeiling(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, a := newFree(t)
		if a.phase.climbs() || a.rate != 800*Margin || a.ceiling != 800*Margin || a.bucket.size != 800 {
			t.Errorf("phase %v, rate %v, ceiling %v, bucket %v; want the plan's 760 a second and bucket 800", a.phase, a.rate, a.ceiling, a.bucket.size)
		}
	})
}

// answer lets a request of cost units go, waits latency and answers it.
func answer(t *testing.T, a *Account, cost int, latency time.Duration, ans Answer) *Ticket {
	t.Helper()
	tk, err := a.Wait(context.Background(), cost)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(latency)
	a.Answered(tk, ans)
	return tk
}

// acceptAll lets n requests of 30 units go as the pacer allows, and
// answers them all accepted at the time at.
func acceptAll(t *testing.T, a *Account, n int, at time.Time) {
	t.Helper()
	var tks []*Ticket
	for range n {
		tk, err := a.Wait(context.Background(), 30)
		if err != nil {
			t.Fatal(err)
		}
		tks = append(tks, tk)
	}
	time.Sleep(time.Until(at))
	for _, tk := range tks {
		a.Answered(tk, Answer{Accepted: true})
	}
}

// A 429 paces the account at the share of the bucket it got since the
// run began (the bucket full then): 20 requests of 30 URLs accepted in a
// second of Free's bucket (800 + 800 a second) is a share of 600/1,600,
// so 300 URLs a second; no deeper than half the rate for one episode.
// Refusals of requests sent before the episode began teach nothing more.
func TestA429EpisodeTakesTheMeasuredShareOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(100, time.Now().Add(time.Hour))
		a := l.Account(freeURLs, cloudflare.Files, 30, func(string, ...any) {})
		acceptAll(t, a, 20, time.Now().Add(time.Second))
		late, _ := a.Wait(context.Background(), 30) // sent before the episode
		answer(t, a, 30, 0, Answer{Limited: true})
		if want := 800 * Margin * maxCut; a.rate != want || !a.phase.atShare() {
			t.Errorf("after a share of 3/8 the rate is %v (phase %v), want %v: half the ceiling at most", a.rate, a.phase, want)
		}
		a.Answered(late, Answer{Limited: true})
		if want := 800 * Margin * maxCut; a.rate != want {
			t.Errorf("a refusal of a request sent before the episode moved the rate to %v, want %v", a.rate, want)
		}
		if got := a.bucket.at(time.Now()); got > 0 {
			t.Errorf("the bucket holds %v after a 429, want it emptied", got)
		}
	})
}

// A share above half is taken as measured: 50 requests of 30 URLs in two
// seconds of Free's bucket are 1,500 of 2,400 URLs, so 500 a second.
func TestAShareAboveHalfIsTakenAsMeasured(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(100, time.Now().Add(time.Hour))
		t0 := time.Now()
		a := l.Account(freeURLs, cloudflare.Files, 30, func(string, ...any) {})
		acceptAll(t, a, 50, t0.Add(2*time.Second))
		answer(t, a, 30, 0, Answer{Limited: true})
		if math.Abs(a.rate-500) > 1e-6 {
			t.Errorf("after 1,500 of 2,400 URLs the rate is %v, want 500", a.rate)
		}
	})
}

// While sharing, a request held back only by the believed share goes as
// a probe, one at a time, adding at most probeShare of the ceiling (one
// of 30 URLs every 99 ms); each accepted probe raises the
// rate by probeGain, and at the ceiling the account is alone again, its
// bucket what the plan's holds had it been alone since the episode.
func TestAcceptedProbesBringTheRateBackToTheCeiling(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, a := newFree(t)
		a.Queued(100_000)
		answer(t, a, 30, 100*time.Millisecond, Answer{Limited: true})
		cut := a.rate
		if !a.phase.atShare() || cut >= a.ceiling {
			t.Fatalf("after a 429: rate %v, phase %v; want a share below the ceiling", cut, a.phase)
		}
		probes, last := 0, time.Time{}
		for a.phase.atShare() {
			tk := answer(t, a, 30, 10*time.Millisecond, Answer{Accepted: true})
			if !tk.probe {
				continue
			}
			if every := time.Duration(30 / (probeShare * a.ceiling) * float64(time.Second)); probes > 0 && tk.sent.Sub(last) < every {
				t.Errorf("probes %v apart, want at least %v", tk.sent.Sub(last), every)
			}
			probes, last = probes+1, tk.sent
			if probes > 20 {
				t.Fatalf("still sharing after %d accepted probes (rate %v)", probes, a.rate)
			}
		}
		if want := int(math.Ceil(math.Log(a.ceiling/cut) / math.Log(probeGain))); probes != want || a.rate != a.ceiling {
			t.Errorf("%d probes brought the rate from %v to %v, want %d to reach the ceiling %v", probes, cut, a.rate, want, a.ceiling)
		}
		if got, want := a.bucket.at(time.Now()), a.aloneHolds(time.Now())-a.inflight; got < want-1e-6 {
			t.Errorf("alone again, the bucket holds %v, want what the plan's would: %v", got, want)
		}
	})
}

// At a low share the peak gate, not the believed bucket, is what holds
// requests back: probes go past both, or a job cut to the floor while
// its partners were there would crawl on alone after they finish.
func TestProbesGoPastThePeakGateAtALowShare(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, a := newFree(t)
		a.Queued(100_000)
		answer(t, a, 30, 100*time.Millisecond, Answer{Limited: true})
		a.rate = a.ceiling * floorShare // 38 URLs a second: the gate lets one of 30 go every 0.5 s
		a.resize(time.Now())
		start, sent := time.Now(), 0
		for time.Since(start) < time.Second {
			tk := answer(t, a, 30, 10*time.Millisecond, Answer{Accepted: true})
			if tk.probe {
				sent++
			}
		}
		if sent < 5 {
			t.Errorf("%d probes in a second at the floor share, want one every 99 ms or so", sent)
		}
	})
}

// A 429's pause refills the believed bucket by the account's share of
// what the server's refills meanwhile: the others waited too, and the
// share they leave is the account's to spend.
func TestAPauseRefillsTheShare(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, a := newFree(t)
		answer(t, a, 30, 100*time.Millisecond, Answer{Limited: true}) // before the run's start: measured 0, cut to half
		a.Pause(time.Second, 30)
		end := a.pausedUntil
		if got, want := a.bucket.at(end), a.rate/a.ceiling*800; math.Abs(got-want) > 1e-6 {
			t.Errorf("at the pause's end the bucket holds %v, want the share of a second's refill %v", got, want)
		}
	})
}

// Alone, the bucket is spread over the work left, so that it runs out
// with the work: 5,400 URLs left and 800 held go at 760 × 5,400 / 4,600 a
// second; work that fits in the bucket goes at once.
func TestAloneTheBucketIsSpreadOverTheWorkLeft(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, a := newFree(t)
		now := time.Now()
		a.Queued(5400)
		if got, open := a.peakPace(now); open || math.Abs(got-760*5400.0/4600) > 1e-6 {
			t.Errorf("peak pace %v (open %v), want %v", got, open, 760*5400.0/4600)
		}
		a.Queued(600)
		if _, open := a.peakPace(now); !open {
			t.Error("600 URLs left with 800 held: want no gate but the bucket")
		}
	})
}

// Ratelimit-Policy bounds the pace from above: 10 requests in 10 seconds
// let one a second go once its quota is spent.
func TestRatelimitPolicyBoundsThePace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l := New(8, time.Now().Add(time.Hour))
		a := l.Account(cloudflare.PlanEnterprise.Limits().Requests, cloudflare.Tags, 1, func(string, ...any) {})
		tk, _ := a.Wait(ctx, 1)
		a.Answered(tk, Answer{Accepted: true, RateLimit: cloudflare.RateLimit{HasPolicy: true, Quota: 10, Window: 10 * time.Second, HasRemaining: true, Remaining: 0}})
		t0 := time.Now()
		if _, err := a.Wait(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(t0); waited != time.Second {
			t.Errorf("waited %v with the policy's bucket empty, want 1s (10 requests in 10 s)", waited)
		}
	})
}

// A wait that would end after the deadline fails at once.
func TestAWaitPastTheDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(100, time.Now().Add(10*time.Second))
		a := l.Account(cloudflare.PlanFree.Limits().Requests, cloudflare.Tags, 1, func(string, ...any) {})
		for range 25 { // the bucket
			if _, err := a.Wait(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Now()
		_, err := a.Wait(context.Background(), 1)
		if de, ok := errors.AsType[*DeadlineError](err); !ok || time.Since(t0) != 0 || de.Reason != "the rate limit" {
			t.Errorf("err %v after %v; want a DeadlineError at once", err, time.Since(t0))
		}
	})
}

// A looked-up plan ends the climb and paces by its bucket.
func TestUsePlanEndsTheClimb(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(8, time.Now().Add(time.Hour))
		a := l.Account(cloudflare.Rate{}, cloudflare.Files, 30, func(string, ...any) {})
		if !a.phase.climbs() || a.Known() || a.ceiling != 800*Margin {
			t.Fatalf("plan unknown: phase %v, known %v, ceiling %v; want climbing from the smallest plan's 760", a.phase, a.Known(), a.ceiling)
		}
		a.UsePlan(cloudflare.PlanPro)
		if a.phase.climbs() || !a.Known() || a.ceiling != 1500*Margin || a.rate != a.ceiling {
			t.Errorf("after UsePlan(pro): phase %v, known %v, ceiling %v, rate %v; want pro's 1,425 a second", a.phase, a.Known(), a.ceiling, a.rate)
		}
	})
}

// The API window holds every account of the limiter together.
func TestTheWindowCountsEveryAccount(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(WindowLimit+10, time.Now().Add(time.Hour))
		huge := cloudflare.Rate{PerSecond: 1e9, Burst: 1e9}
		a := l.Account(huge, cloudflare.Tags, 1, func(string, ...any) {})
		b := l.Account(huge, cloudflare.Tags, 1, func(string, ...any) {})
		t0 := time.Now()
		for i := range WindowLimit + 1 {
			acc := a
			if i%2 == 1 {
				acc = b
			}
			if _, err := acc.Wait(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(t0); got != cloudflare.APIRequestWindow {
			t.Errorf("request %d went at +%v, want +%v", WindowLimit+1, got, cloudflare.APIRequestWindow)
		}
	})
}

// The peak gate keeps what it held when its pace changes (at every
// decision, with the work left): a new, full one each time would let a
// tenth of a second's worth more through each time.
func TestThePeakGateKeepsItsLevelWhenThePaceChanges(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, a := newFree(t)
		a.Queued(100_000)
		now := time.Now()
		if !a.gated {
			t.Fatal("no peak gate on a URL bucket")
		}
		a.peak.take(now, a.peak.at(now))
		a.Queued(50_000)
		a.decide(now, 30)
		if got := a.peak.at(now); got > 1e-9 {
			t.Errorf("the spent gate holds %v after a change of pace, want 0", got)
		}
	})
}

// Debug lines are printed once the Limiter's lock is released: a debugf
// that takes a lock of its own (action.Reporter's does) is never called
// under it.
func TestDebugLinesArePrintedOutsideTheLock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(8, time.Now().Add(time.Hour))
		var lines []string
		a := l.Account(cloudflare.Rate{}, cloudflare.Files, 30, func(format string, args ...any) {
			line := fmt.Sprintf(format, args...)
			if !l.mu.TryLock() {
				t.Errorf("%q printed under the Limiter's lock", line)
				return
			}
			l.mu.Unlock()
			lines = append(lines, line)
		})
		answer(t, a, 30, 100*time.Millisecond, Answer{Limited: true}) // a share measured
		a.UsePlan(cloudflare.PlanPro)
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "rate limit: refused") || !strings.HasPrefix(lines[1], "plan lookup: plan \"pro\"") {
			t.Errorf("debug lines %q, want the share measured and the plan looked up", lines)
		}
	})
}
