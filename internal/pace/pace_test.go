package pace

import (
	"context"
	"errors"
	"math"
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
		if a.probing || a.rate != 800*Margin || a.ceiling != 800*Margin || a.bucket.size != 800 {
			t.Errorf("probing %v, rate %v, ceiling %v, bucket %v; want the plan's 760 a second and bucket 800", a.probing, a.rate, a.ceiling, a.bucket.size)
		}
	})
}

// A 429 cuts the rate by cutFactor once per episode: refusals of requests
// sent before it began teach nothing more. A later episode cuts again.
func TestA429EpisodeCutsOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		_, a := newFree(t)
		var out []*Ticket
		for range 4 {
			tk, err := a.Wait(ctx, 30)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tk)
		}
		time.Sleep(100 * time.Millisecond)
		for _, tk := range out {
			a.Answered(tk, Answer{Limited: true})
		}
		if want := 800 * Margin * cutFactor; a.rate != want {
			t.Errorf("after one episode of 4 refusals the rate is %v, want %v (one cut)", a.rate, want)
		}
		if got := a.bucket.at(time.Now()); got > 0 {
			t.Errorf("the bucket holds %v after a 429, want it emptied", got)
		}
		time.Sleep(time.Second)
		tk, err := a.Wait(ctx, 30)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		a.Answered(tk, Answer{Limited: true})
		if want := 800 * Margin * cutFactor * cutFactor; a.rate != want {
			t.Errorf("after a second episode the rate is %v, want %v", a.rate, want)
		}
	})
}

// While answers are accepted the rate grows back, and never above the
// ceiling.
func TestTheRateGrowsBackToTheCeilingAndNoFurther(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		_, a := newFree(t)
		tk, _ := a.Wait(ctx, 30)
		time.Sleep(100 * time.Millisecond)
		a.Answered(tk, Answer{Limited: true})
		cut := a.rate
		var rates []float64
		for range 100 {
			tk, err := a.Wait(ctx, 30)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			a.Answered(tk, Answer{Accepted: true})
			rates = append(rates, a.rate)
		}
		if rates[0] <= cut || rates[len(rates)-1] != a.ceiling {
			t.Errorf("rate %v after the cut, then %v … %v; want it to grow back to the ceiling %v", cut, rates[0], rates[len(rates)-1], a.ceiling)
		}
		for i, r := range rates {
			if r > a.ceiling || i > 0 && r < rates[i-1] {
				t.Fatalf("rate %v at answer %d (before: %v): want it rising, at most %v", r, i, rates[max(i-1, 0)], a.ceiling)
			}
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
		if !a.probing || a.Known() || a.ceiling != 800*Margin {
			t.Fatalf("plan unknown: probing %v, known %v, ceiling %v; want climbing from the smallest plan's 760", a.probing, a.Known(), a.ceiling)
		}
		a.UsePlan(cloudflare.PlanPro)
		if a.probing || !a.Known() || a.ceiling != 1500*Margin || a.rate != a.ceiling {
			t.Errorf("after UsePlan(pro): probing %v, known %v, ceiling %v, rate %v; want pro's 1,425 a second", a.probing, a.Known(), a.ceiling, a.rate)
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

// The rate grows back by the same step for every client of a bucket,
// whatever its rate: a job that two 429 episodes reached catches up with
// one that a single episode reached, instead of growing back at half its
// speed.
func TestGrowthIsTheSameStepWhateverTheRate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		_, once := newFree(t)
		_, twice := newFree(t)
		refuse := func(a *Account) {
			tk, err := a.Wait(ctx, 30)
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(100 * time.Millisecond)
			a.Answered(tk, Answer{Limited: true})
		}
		refuse(twice)
		time.Sleep(time.Second)
		go refuse(once)
		refuse(twice)
		synctest.Wait()
		before := [2]float64{once.rate, twice.rate}
		if before[0] != 2*before[1] {
			t.Fatalf("rates %v after one and two episodes, want the second half the first", before)
		}
		// Both buckets refill 30 URLs by then: both requests go at once.
		time.Sleep(200 * time.Millisecond)
		go func() {
			tk, _ := once.Wait(ctx, 30)
			time.Sleep(100 * time.Millisecond)
			once.Answered(tk, Answer{Accepted: true})
		}()
		tk, _ := twice.Wait(ctx, 30)
		time.Sleep(100 * time.Millisecond)
		twice.Answered(tk, Answer{Accepted: true})
		synctest.Wait()
		up := [2]float64{once.rate - before[0], twice.rate - before[1]}
		if up[0] <= 0 || math.Abs(up[0]-up[1]) > 1e-9 {
			t.Errorf("rates grew by %v (cut once, cut twice); want the same step, above 0", up)
		}
	})
}

// The peak-rate gate keeps what it held when the rate changes: a rate
// that grows at every accepted answer must not refill it each time.
func TestThePeakGateKeepsItsLevelWhenTheRateChanges(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, a := newFree(t)
		now := time.Now()
		a.peak.take(now, a.peak.at(now))
		a.rate = a.ceiling / 2
		a.resize(now)
		if a.peak == nil {
			t.Fatal("no peak gate on a URL bucket")
		}
		if got := a.peak.at(now); got > 1e-9 {
			t.Errorf("the spent gate holds %v after a change of rate, want 0", got)
		}
	})
}
