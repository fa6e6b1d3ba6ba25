package site_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// Get hands read the body up to the bound: a body of exactly the bound
// reads whole and ends; one byte more fails with ErrTooLarge after the
// bound's bytes, never as a body that ended.
func TestGetBoundsTheBody(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) { _, _ = w.Write([]byte("0123456789")) }}
		c := client(e, 1)
		for _, tt := range []struct {
			limit   int64
			want    string
			wantErr error
		}{
			{10, "0123456789", nil},
			{11, "0123456789", nil},
			{9, "012345678", site.ErrTooLarge},
			{1, "0", site.ErrTooLarge},
		} {
			var got []byte
			var readErr error
			err := c.Get(t.Context(), "https://www.example.com/sitemap.xml", tt.limit, func(status int, _ http.Header, body io.Reader) error {
				got, readErr = io.ReadAll(body)
				return nil
			})
			if err != nil || string(got) != tt.want || !errors.Is(readErr, tt.wantErr) || (tt.wantErr == nil) != (readErr == nil) {
				t.Errorf("limit %d: %q, read error %v, Get %v; want %q, %v", tt.limit, got, readErr, err, tt.want, tt.wantErr)
			}
		}
	})
}

// Get follows the rules of every request: no redirect followed (read
// gets the 3xx and its Location), the action's User-Agent, and a 429
// with Retry-After asked again after it, never handed to read.
func TestGetHandsReadTheAnswerItEndsWith(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(n int, r *http.Request, w http.ResponseWriter) {
			switch {
			case r.URL.Path == "/old.xml":
				w.Header().Set("Location", "https://www.example.com/new.xml")
				w.WriteHeader(http.StatusMovedPermanently)
			case n == 1:
				w.Header().Set("Retry-After", "20")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte("slow down"))
			default:
				_, _ = w.Write([]byte("<urlset/>"))
			}
		}}
		c := client(e, 1)
		type answer struct {
			status   int
			location string
			body     string
		}
		var got []answer
		read := func(status int, h http.Header, body io.Reader) error {
			b, err := io.ReadAll(body)
			got = append(got, answer{status, h.Get("Location"), string(b)})
			return err
		}
		if err := c.Get(t.Context(), "https://www.example.com/old.xml", 100, read); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := c.Get(t.Context(), "https://www.example.com/sitemap.xml", 100, read); err != nil {
			t.Fatal(err)
		}
		want := []answer{{301, "https://www.example.com/new.xml", ""}, {200, "", "<urlset/>"}}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] || e.count() != 3 {
			t.Errorf("read got %+v from %d request(s); want %+v from 3", got, e.count(), want)
		}
		if waited := time.Since(start); waited != 20*time.Second {
			t.Errorf("asked again after %s; want Retry-After's 20 s", waited)
		}
		if ua := e.requests[0].Header.Get("User-Agent"); ua != "cloudflare-purge-action/test" {
			t.Errorf("User-Agent %q", ua)
		}
	})
}

// A 503 whose Retry-After would pass the deadline is handed to read as it
// is, at once; what read returns is what Get returns.
func TestGetHandsReadARetryAfterPastTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusServiceUnavailable)
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		errStatus := errors.New("status")
		status := 0
		err := client(e, 1).Get(ctx, "https://www.example.com/sitemap.xml", 100, func(s int, _ http.Header, _ io.Reader) error {
			status = s
			return errStatus
		})
		if !errors.Is(err, errStatus) || status != 503 || e.count() != 1 {
			t.Errorf("Get = %v, read saw %d, %d request(s); want read's error, the 503, 1 request", err, status, e.count())
		}
	})
}

// A body that never ends costs at most the attempt's bound, or the
// context's deadline when that comes first: the read fails, it does not
// hang.
func TestGetBoundsTheBodyInTime(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: func(_ int, _ *http.Request, w http.ResponseWriter) { _, _ = w.Write([]byte("<urlset>")) }}
		hang := &hangingBody{}
		c := site.NewClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := e.RoundTrip(r)
			if err == nil {
				hang.ctx, resp.Body = r.Context(), hang
			}
			return resp, err
		})}, "cloudflare-purge-action/test", 1)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := c.Get(ctx, "https://www.example.com/sitemap.xml", 100, func(_ int, _ http.Header, body io.Reader) error {
			_, err := io.ReadAll(body)
			return err
		})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 10*time.Second {
			t.Errorf("Get = %v after %s; want the deadline's error after 10 s", err, time.Since(start))
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// hangingBody sends nothing until the request's context ends.
type hangingBody struct{ ctx context.Context }

func (h *hangingBody) Read([]byte) (int, error) {
	<-h.ctx.Done()
	return 0, h.ctx.Err()
}

func (h *hangingBody) Close() error { return nil }

// A URL with credentials in it is not requested: net/http would send
// them as a Basic Authorization header.
func TestGetRequestsNoURLWithCredentials(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := &edge{handle: answer(200, "", "")}
		for _, u := range []string{"https://user:pw@www.example.com/sitemap.xml", "https://user@www.example.com/", "http://u:p@127.0.0.1/"} {
			err := client(e, 1).Get(t.Context(), u, 100, func(int, http.Header, io.Reader) error { return nil })
			if !errors.Is(err, site.ErrCredentials) {
				t.Errorf("%s: %v; want ErrCredentials", u, err)
			}
		}
		if e.count() != 0 {
			t.Errorf("%d request(s) sent, the first with Authorization %q", e.count(), e.requests[0].Header.Get("Authorization"))
		}
	})
}
