// Package site requests the user's own site around a purge: it waits for
// the new build before it (Wait), judges after it whether the edge still
// serves a copy cached before the purge (Verify, by CF-Cache-Status and
// Age), and requests every URL once more so the edge holds the new copy
// (Warm).
//
// Verify tells a broken origin from a stale cache: an answer of 500–599
// (Cloudflare's own 520–530 among them) is Broken whatever its cache
// headers say, and so is no answer for a reason that is the site's (no
// connection, a DNS or TLS failure, a reset, nothing within
// AttemptTimeout); a broken URL is rechecked as a stale one is, since a
// deploy may still be settling. A 4xx answer is judged by its cache
// headers like a 2xx: a page the deploy removed answers 404, and a 404
// fetched since the purge is what the deploy asked for. Warm's broken
// answers are counted apart among its failures (CountBroken).
//
// Cloudflare keeps a copy of an image for each format a browser's Accept
// asks for (Vary for Images, images.go): Verify requests an image URL as
// a browser taking AVIF and WebP does, and Warm requests all three
// copies.
//
// It also hands any caller a GET under the same rules with the body
// streamed, bounded (Get): the sitemap reader's.
//
// Every request it sends follows the same rules (Client.fetch): no
// credentials of any kind (Withheld headers; no URL with user:password@,
// which net/http would send as Basic auth), nor any secret anywhere in it (the
// outbound.Guard NewClient installs), a User-Agent naming the action,
// https only (plain http to loopback hosts alone), no redirects followed,
// the target's cache-key headers (and an image's Accept), a bounded read
// of the body (Wait's and Get's: Verify and Warm close it unread),
// Retry-After honoured on 429 and 503 for the whole host, at most
// Concurrency requests at once, and nothing that would end past the
// context's deadline.
//
// It returns plain values and prints nothing: what it got from the site is
// untrusted text, which the caller redacts and escapes (package action).
// That includes the error of a request that got no answer (a Check's or
// Warmed's Why and Err): a TLS error names what the site's certificate
// says.
// It imports cloudflare (Retry-After parsing), targets (IsLoopback),
// outbound (the guard) and the kept libraries only.
package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// Limits on what the site may cost.
const (
	// MaxWaitBody is the most of a wait-for body read: a version file or
	// a page's head, far below it.
	MaxWaitBody = 1 << 20
	// AttemptTimeout bounds one request: a site that accepts the
	// connection and never answers costs this, not the whole run.
	AttemptTimeout = retry.SiteAttempt
	// maxRetryAfter is how often one request waits for a Retry-After
	// before its answer is taken as it is.
	maxRetryAfter = 3
	// maxRetryAfterWait bounds one Retry-After: Cloudflare's 1xxx pages
	// ask for 5 to 60 s; more is not worth a deploy's time.
	maxRetryAfterWait = 2 * time.Minute
	// maxHeaderText bounds the text kept of a header the site sent.
	maxHeaderText = 64
)

// Target is one URL to request, with the cache-key headers its purge
// named (a files target's "headers"); those Withheld are never sent.
type Target struct {
	URL     string
	Headers map[string]string
	// Purged is T, when Cloudflare confirmed the request that purged the
	// URL: a copy stored since then is no older than time.Since(Purged).
	Purged time.Time
	// Zone is the caller's index of the zone the URL belongs to, or -1.
	Zone int
}

// Client sends the requests to the site.
type Client struct {
	http        *http.Client
	userAgent   string
	concurrency int

	mu    sync.Mutex
	gates map[string]time.Time // host -> no request before
}

// NewClient returns a client sending through hc's transport (nil: a new
// one). Whatever hc was, the copy follows no redirect and carries no
// cookie jar: nothing the site answers can send a request elsewhere or
// replay a value between requests. Every request passes an
// outbound.Guard: none that holds one of secrets (the Cloudflare token or
// key, the GitHub token) anywhere, URL, headers or body, is sent; it
// fails with the guard's *outbound.RefusedError.
func NewClient(hc *http.Client, userAgent string, concurrency int, secrets ...string) *Client {
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if hc != nil && hc.Transport != nil {
		c.Transport = hc.Transport
	}
	c.Transport = outbound.NewGuard(c.Transport, outbound.NewSecrets(secrets...)) // no auth header: the site gets none
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{http: c, userAgent: userAgent, concurrency: max(concurrency, 1), gates: map[string]time.Time{}}
}

// Concurrency is the most requests in flight at once.
func (c *Client) Concurrency() int { return c.concurrency }

// ErrNotHTTPS marks a URL that is not requested: plain http:// to a host
// that is not loopback, whose answer anything on the way could forge.
var ErrNotHTTPS = errors.New("plain http:// to a host that is not loopback: not requested (use https://)")

// ErrCredentials marks a URL that is not requested: it holds a user name
// or password, which net/http would send as an Authorization header.
var ErrCredentials = errors.New("holds credentials (user:password@): not requested")

// Requestable reports whether the rules let the URL be requested.
func Requestable(rawURL string) error {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil || u.Hostname() == "":
		return fmt.Errorf("not a URL")
	case u.User != nil:
		return ErrCredentials
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && targets.IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return ErrNotHTTPS
	}
	return fmt.Errorf("not an https:// URL")
}

// Response is what one GET got: the status, the headers the judgement
// reads, at what time, and as much of the body as was asked for.
type Response struct {
	Status int
	// CacheStatus is CF-Cache-Status, upper-cased, and Age is Age as
	// sent; "" when absent, every value comma-separated when the field
	// came more than once (fieldText).
	CacheStatus string
	Age         string
	At          time.Time
	Body        []byte
}

// Withheld reports whether a request to the site leaves out a header of
// this name, whatever a target's headers say (names compared without
// case): a credential of any kind (Authorization, Proxy-Authorization,
// Cookie; any X-Auth-*, as Cloudflare's key and email; any CF-Access-*,
// as Cloudflare Access's service tokens), or a header the client sets
// itself (User-Agent, Host).
func Withheld(name string) bool {
	switch n := strings.ToLower(name); n {
	case "authorization", "proxy-authorization", "cookie", "user-agent", "host":
		return true
	default:
		return strings.HasPrefix(n, "x-auth-") || strings.HasPrefix(n, "cf-access-")
	}
}

// SplitHeaders parts a target's headers into those a request to the site
// sends and the names of those it leaves out (Withheld), sorted: the
// caller can say which were left out without seeing their values.
func SplitHeaders(headers map[string]string) (sent map[string]string, withheld []string) {
	for name, value := range headers {
		if Withheld(name) {
			withheld = append(withheld, name)
			continue
		}
		if sent == nil {
			sent = make(map[string]string, len(headers))
		}
		sent[name] = value
	}
	slices.Sort(withheld)
	return sent, withheld
}

// ErrTooLarge marks a body longer than the bound Get was given: a read
// past the bound fails with it, rather than end as if the body had.
var ErrTooLarge = errors.New("the answer is longer than the bound")

// Get sends one GET for rawURL under the rules of every request (the
// package's doc) and calls read with the answer it ends with, while that
// answer's attempt lasts (AttemptTimeout bounds the body too): its status,
// its header, and its body, of which read gets at most limit bytes; a
// read past them fails with ErrTooLarge. A 3xx is handed to read as it
// is, never followed; a 429 or 503 that is asked again (Retry-After) is
// not handed to read. Get returns read's error, or why no answer came.
func (c *Client) Get(ctx context.Context, rawURL string, limit int64, read func(status int, header http.Header, body io.Reader) error) error {
	_, err := c.fetch(ctx, Target{URL: rawURL}, func(r *http.Response) error {
		return read(r.StatusCode, r.Header, &bounded{r: r.Body, left: limit})
	})
	return err
}

// bounded reads at most left bytes of r, and fails with ErrTooLarge when
// r holds more.
type bounded struct {
	r    io.Reader
	left int64
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte // one byte more says whether the body ends here
		if n, err := io.ReadFull(b.r, one[:]); n == 0 {
			return 0, err
		}
		return 0, ErrTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// get sends one GET for t and reads at most limit bytes of the body
// (none when limit is 0).
func (c *Client) get(ctx context.Context, t Target, limit int64) (Response, error) {
	var body []byte
	resp, err := c.fetch(ctx, t, func(r *http.Response) error {
		// Verify and warm (limit 0) need the headers alone: the body is
		// closed unread. Reading it, even to reuse the connection, would
		// let a site that sends it a byte at a time hold the request
		// until AttemptTimeout; a new connection costs less than that.
		if limit == 0 {
			return nil
		}
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, limit)); err != nil {
			return fmt.Errorf("reading the answer: %w", err)
		}
		return nil
	})
	resp.Body = body
	return resp, err
}

// fetch sends one GET for t and hands the answer it ends with to read,
// body open, while its attempt lasts.
// A 429 or 503 with Retry-After makes every request to that host wait
// that long (a rate limit counts the runner's address, not one URL), and
// this one go again, up to maxRetryAfter times; past that, or when the
// wait would pass ctx's deadline, the answer is the one read gets.
func (c *Client) fetch(ctx context.Context, t Target, read func(*http.Response) error) (Response, error) {
	if err := Requestable(t.URL); err != nil {
		return Response{}, err
	}
	host := hostOf(t.URL)
	for n := 0; ; n++ {
		if err := c.waitGate(ctx, host); err != nil {
			return Response{}, err
		}
		// The answer is taken as it is after maxRetryAfter waits, or when
		// waiting would pass the timeout.
		again := func(wait time.Duration) bool {
			return n < maxRetryAfter && !retry.PastDeadline(ctx, wait)
		}
		resp, wait, asked, err := c.once(ctx, t, again, read)
		if wait >= 0 && n < maxRetryAfter {
			c.mu.Lock()
			if until := time.Now().Add(wait); until.After(c.gates[host]) {
				c.gates[host] = until
			}
			c.mu.Unlock()
		}
		if !asked {
			return resp, err
		}
	}
}

// once sends one GET. wait is the Retry-After of a 429 or 503 that
// carried one, else -1. The answer is handed to read unless again says
// to ask again after wait: then asked is true.
func (c *Client) once(parent context.Context, t Target, again func(time.Duration) bool, read func(*http.Response) error) (resp Response, wait time.Duration, asked bool, err error) {
	ctx, cancel := context.WithTimeout(parent, AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return Response{}, -1, false, fmt.Errorf("building the request: %w", err)
	}
	sent, _ := SplitHeaders(t.Headers)
	for name, value := range sent {
		req.Header.Set(name, value)
	}
	req.Header.Set("User-Agent", c.userAgent)
	r, err := c.http.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // the URL is named by the caller
		}
		switch _, refused := errors.AsType[*outbound.RefusedError](err); {
		case parent.Err() != nil:
			return Response{}, -1, false, context.Cause(parent)
		case ctx.Err() != nil:
			return Response{}, -1, false, &unreachableError{err: fmt.Errorf("no answer within %s", AttemptTimeout), hung: true}
		case refused:
			return Response{}, -1, false, err // the guard's, not the site's
		}
		return Response{}, -1, false, &unreachableError{err: err}
	}
	defer r.Body.Close()
	wait = -1
	resp = Response{
		Status:      r.StatusCode,
		CacheStatus: strings.ToUpper(fieldText(r.Header, "CF-Cache-Status")),
		Age:         fieldText(r.Header, "Age"),
		At:          time.Now(),
	}
	if r.StatusCode == http.StatusTooManyRequests || r.StatusCode == http.StatusServiceUnavailable {
		if d, ok := cloudflare.ParseRetryAfter(r.Header.Get("Retry-After"), resp.At); ok {
			wait = min(d, maxRetryAfterWait)
		}
	}
	if wait >= 0 && again(wait) {
		return resp, wait, true, nil
	}
	return resp, wait, false, read(r)
}

// unreachableError is a request's failure that is the site's own: no
// connection, a DNS or TLS failure, a reset, or no answer within
// AttemptTimeout (hung). Verify judges it Broken. What else ends a
// request says nothing of the site: the run's context, the guard, a
// Retry-After past the timeout, a URL not requested.
type unreachableError struct {
	err  error
	hung bool
}

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// waitGate waits until the host's Retry-After has passed.
func (c *Client) waitGate(ctx context.Context, host string) error {
	c.mu.Lock()
	until := c.gates[host]
	c.mu.Unlock()
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && until.After(dl) {
		return fmt.Errorf("the site asked to wait %s (Retry-After), past the timeout", d.Round(time.Second))
	}
	return retry.Sleep(ctx, d)
}

func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return strings.ToLower(u.Host)
	}
	return rawURL
}

// fieldText is every value the site sent for a header field, as one
// comma-separated line (as RFC 9110 §5.3 combines repeated field lines):
// Judge must see a second CF-Cache-Status or Age, not the first alone.
// Only the first maxHeaderText bytes are kept, and a line cut short ends
// in "…", so that what was cut off can never read as agreeing.
func fieldText(h http.Header, name string) string {
	s := strings.Join(h.Values(name), ", ")
	if len(s) > maxHeaderText {
		return s[:maxHeaderText] + "…"
	}
	return s
}
