package site_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// edge serves requests in memory (no socket, so synctest's virtual time
// runs) through handle, and records every request.
type edge struct {
	handle func(n int, r *http.Request, w http.ResponseWriter)

	mu       sync.Mutex
	requests []*http.Request
	times    []time.Time
	inFlight int
	most     int
}

func (e *edge) RoundTrip(r *http.Request) (*http.Response, error) {
	e.mu.Lock()
	n := len(e.requests)
	e.requests = append(e.requests, r)
	e.times = append(e.times, time.Now())
	e.inFlight++
	e.most = max(e.most, e.inFlight)
	e.mu.Unlock()
	defer func() { e.mu.Lock(); e.inFlight--; e.mu.Unlock() }()
	rec := httptest.NewRecorder()
	e.handle(n, r, rec)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

func (e *edge) count() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.requests) }

func client(e *edge, concurrency int) *site.Client {
	return site.NewClient(&http.Client{Transport: e}, "cloudflare-purge-action/test", concurrency)
}

func answer(status int, cache, age string) func(int, *http.Request, http.ResponseWriter) {
	return func(_ int, _ *http.Request, w http.ResponseWriter) {
		if cache != "" {
			w.Header().Set("CF-Cache-Status", cache)
		}
		if age != "" {
			w.Header().Set("Age", age)
		}
		w.WriteHeader(status)
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	purged := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	at := purged.Add(10 * time.Second) // the check ran 10 s after T
	tests := []struct {
		cache, age string
		want       site.Verdict
	}{
		{"MISS", "", site.Fresh},
		{"EXPIRED", "", site.Fresh},
		{"REVALIDATED", "", site.Fresh},
		{"UPDATING", "0", site.Fresh},
		{"BYPASS", "", site.Fresh},
		{"DYNAMIC", "", site.Fresh},
		{"HIT", "0", site.Fresh},
		{"HIT", "11", site.Fresh}, // refilled just after T: Age's whole seconds
		{"HIT", "12", site.Stale},
		{"STALE", "3600", site.Stale},
		{"HIT", "99999999999999999999999", site.Stale}, // too large to hold: the largest
		{"HIT", "", site.Unjudged},
		{"HIT", "-1", site.Unjudged},
		{"HIT", "1e3", site.Unjudged},
		{"", "", site.Unjudged},
		{"NONE", "", site.Unjudged},
		{"UNKNOWN", "", site.Unjudged},
		// Fields sent more than once: values that agree count once;
		// values that disagree are never fresh, whichever came first.
		{"HIT, HIT", "5", site.Fresh},
		{"MISS", "0, 0", site.Fresh},
		{"MISS, HIT", "86400", site.Stale},
		{"MISS, HIT", "", site.Unjudged},
		{"MISS, HIT", "5", site.Unjudged},
		{"HIT", "0, 86400", site.Stale},
		{"HIT", "86400, 0", site.Stale},
		{"MISS", "0, 86400", site.Unjudged},
		{"HIT", "0, x", site.Unjudged},
		{"MISS, MISS, MISS, MISS, MISS, MISS, MISS, MISS, MISS, MISS, MISS…", "", site.Unjudged}, // cut short
	}
	for _, tt := range tests {
		got, why := site.Judge(site.Response{Status: 200, CacheStatus: tt.cache, Age: tt.age, At: at}, purged)
		if got != tt.want || (got == site.Unjudged) != (why != "") {
			t.Errorf("CF-Cache-Status %q, Age %q: %v (%q), want %v", tt.cache, tt.age, got, why, tt.want)
		}
	}
}

func TestRequestsCarryNoCredentialsAndTheCacheKeyHeaders(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: answer(200, "MISS", "")}
		target := site.Target{URL: "https://www.example.com/a", Headers: map[string]string{
			"CF-Device-Type": "mobile", "Accept-Language": "de", "Authorization": "Bearer x", "proxy-authorization": "y", "Cookie": "s=1", "User-Agent": "curl",
			"x-auth-foo": "k", "CF-Access-Client-Secret": "c"}}
		checks := client(e, 1).Verify(t.Context(), []site.Target{target})
		if checks[0].Verdict != site.Fresh || e.count() != 1 {
			t.Fatalf("check = %+v, %d request(s)", checks[0], e.count())
		}
		h := e.requests[0].Header
		if h.Get("CF-Device-Type") != "mobile" || h.Get("Accept-Language") != "de" {
			t.Errorf("cache-key headers not sent: %v", h)
		}
		for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Auth-Foo", "Cf-Access-Client-Secret"} {
			if _, ok := h[name]; ok {
				t.Errorf("%s sent to the site: %v", name, h)
			}
		}
		if h.Get("User-Agent") != "cloudflare-purge-action/test" || e.requests[0].Method != http.MethodGet {
			t.Errorf("%s with User-Agent %q", e.requests[0].Method, h.Get("User-Agent"))
		}
	})
}

func TestPlainHTTPIsRequestedOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: answer(200, "MISS", "")}
		checks := client(e, 2).Verify(t.Context(), []site.Target{{URL: "http://www.example.com/a"}, {URL: "http://127.0.0.1:8/a"}, {URL: "http://[::1]/b"}})
		if checks[0].Verdict != site.Unjudged || !strings.Contains(checks[0].Why, "not requested") || checks[0].Attempts != 0 {
			t.Errorf("plain http elsewhere: %+v", checks[0])
		}
		if checks[1].Verdict != site.Fresh || checks[2].Verdict != site.Fresh || e.count() != 2 {
			t.Errorf("loopback: %+v, %+v; %d request(s)", checks[1], checks[2], e.count())
		}
	})
}

func TestRedirectIsJudgedNotFollowed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) {
			w.Header().Set("Location", "https://elsewhere.example/")
			w.Header().Set("CF-Cache-Status", "HIT")
			w.Header().Set("Age", "7200")
			w.WriteHeader(http.StatusMovedPermanently)
		}}
		c := client(e, 1)
		w := c.Warm(t.Context(), []site.Target{{URL: "https://www.example.com/old"}})
		if !w[0].OK() || w[0].Status != 301 || e.count() != 1 {
			t.Errorf("warm = %+v, %d request(s); want the 301 itself", w[0], e.count())
		}
	})
}

func TestVerifyAsksAStaleURLAgainUntilFresh(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(n int, r *http.Request, w http.ResponseWriter) {
			if n < 2 {
				answer(200, "HIT", "5000")(n, r, w) // a data center the purge has not reached yet
				return
			}
			answer(200, "MISS", "")(n, r, w)
		}}
		checks := client(e, 1).Verify(t.Context(), []site.Target{{URL: "https://www.example.com/", Purged: time.Now()}})
		if checks[0].Verdict != site.Fresh || checks[0].Attempts != 3 {
			t.Errorf("check = %+v; want fresh at the third request", checks[0])
		}
		if gap := e.times[2].Sub(e.times[1]); gap != 2*time.Second {
			t.Errorf("second retry after %s; want backoff (1 s, then 2 s)", gap)
		}
	})
}

func TestVerifyReportsAURLThatStaysStale(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: answer(200, "HIT", "86400")}
		checks := client(e, 1).Verify(t.Context(), []site.Target{{URL: "https://www.example.com/", Purged: time.Now()}})
		if c := checks[0]; c.Verdict != site.Stale || c.Attempts != 5 || c.Response.Age != "86400" || c.Response.CacheStatus != "HIT" {
			t.Errorf("check = %+v; want stale after 5 requests, with its status and Age", c)
		}
	})
}

func TestVerifyStopsRetryingAtTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: answer(200, "HIT", "86400")}
		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		checks := client(e, 1).Verify(ctx, []site.Target{{URL: "https://www.example.com/", Purged: time.Now()}})
		if checks[0].Verdict != site.Stale || e.count() != 2 {
			t.Errorf("check = %+v after %d request(s); want stale after 2 (1 s, then 2 s would pass the deadline)", checks[0], e.count())
		}
	})
}

func TestRetryAfterPausesEveryRequestToTheHost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(n int, r *http.Request, w http.ResponseWriter) {
			if n == 0 {
				w.Header().Set("Retry-After", "30") // Cloudflare's 1015 page
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			answer(200, "MISS", "")(n, r, w)
		}}
		start := time.Now()
		targets := []site.Target{{URL: "https://www.example.com/a"}, {URL: "https://www.example.com/b"}, {URL: "https://www.example.com/c"}}
		checks := client(e, 1).Verify(t.Context(), targets)
		for i, c := range checks {
			if c.Verdict != site.Fresh {
				t.Errorf("check %d = %+v", i, c)
			}
		}
		for i, at := range e.times[1:] {
			if at.Sub(start) < 30*time.Second {
				t.Errorf("request %d went %s after the 429; want at least Retry-After's 30 s", i+2, at.Sub(start))
			}
		}
		if e.count() != 4 {
			t.Errorf("%d requests; want the refused one again, and the other two", e.count())
		}
	})
}

func TestRetryAfterPastTheDeadlineIsNotWaited(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusServiceUnavailable)
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		w := client(e, 1).Warm(ctx, []site.Target{{URL: "https://www.example.com/a"}})
		if w[0].OK() || w[0].Status != 503 || time.Since(start) != 0 || e.count() != 1 {
			t.Errorf("warm = %+v after %s, %d request(s); want the 503 at once", w[0], time.Since(start), e.count())
		}
	})
}

func TestAtMostConcurrencyRequestsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(n int, r *http.Request, w http.ResponseWriter) {
			time.Sleep(time.Second)
			answer(200, "MISS", "")(n, r, w)
		}}
		targets := make([]site.Target, 20)
		for i := range targets {
			targets[i] = site.Target{URL: "https://www.example.com/" + string(rune('a'+i))}
		}
		client(e, 3).Warm(t.Context(), targets)
		if e.most != 3 || e.count() != 20 {
			t.Errorf("%d in flight at most, %d requests; want 3 and 20", e.most, e.count())
		}
	})
}

func TestAHangingSiteCostsOneAttemptTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, r *http.Request, _ http.ResponseWriter) { <-r.Context().Done() }}
		start := time.Now()
		checks := client(e, 1).Verify(t.Context(), []site.Target{{URL: "https://www.example.com/"}})
		// Broken, and not asked again: the wait took longer than every
		// recheck's would.
		if c := checks[0]; c.Verdict != site.Broken || c.Attempts != 1 || c.Err == nil || !strings.Contains(c.Why, "no answer within 30s") || time.Since(start) != site.AttemptTimeout {
			t.Errorf("check = %+v after %s", checks[0], time.Since(start))
		}
	})
}

func TestWaitPollsUntilTheNewBuildIsServed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) {
			if time.Since(start) < 20*time.Second {
				_, _ = w.Write([]byte("version abc111"))
				return
			}
			_, _ = w.Write([]byte("version def222"))
		}}
		var polls []site.Poll
		res, err := client(e, 1).Wait(t.Context(), "https://www.example.com/version.txt", "def222", func(p site.Poll) { polls = append(polls, p) })
		if err != nil {
			t.Fatal(err)
		}
		// Polls at 0, 2, 5, 9.5, 16.25 and 26.375 s.
		if res.Polls != 6 || len(polls) != 5 || res.Took != 26375*time.Millisecond {
			t.Errorf("result = %+v, polls %+v", res, polls)
		}
		if !strings.Contains(polls[0].Last, "without the text") {
			t.Errorf("first poll: %+v", polls[0])
		}
	})
}

func TestWaitGivesUpBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: answer(404, "", "")}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		res, err := client(e, 1).Wait(ctx, "https://www.example.com/version.txt", "", nil)
		if !errors.Is(err, site.ErrWaitTimedOut) || !strings.Contains(err.Error(), "HTTP 404") || ctx.Err() != nil {
			t.Errorf("err = %v, ctx %v; want a timed-out wait that ends before its deadline", err, ctx.Err())
		}
		if res.Polls != e.count() || res.Polls < 4 {
			t.Errorf("result = %+v, %d requests", res, e.count())
		}
	})
}

func TestWaitReadsAtMostOneMebibyte(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) {
			_, _ = w.Write([]byte(strings.Repeat("x", site.MaxWaitBody) + "def222"))
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := client(e, 1).Wait(ctx, "https://www.example.com/version.txt", "def222", nil)
		if !errors.Is(err, site.ErrWaitTimedOut) || !strings.Contains(err.Error(), "without the text in the first 1048576 bytes") {
			t.Errorf("err = %v; want no match past the first MiB", err)
		}
	})
}
