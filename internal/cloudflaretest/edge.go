package cloudflaretest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// This file is the fake's edge: the user's site as Cloudflare's cache
// serves it, sharing its state with the fake API. A page the API purged
// answers MISS once (REVALIDATED after an invalidation), then HIT with a
// growing Age; one it did not purge answers HIT with the Age of a copy
// cached an hour before the fake started. A page whose status is 500–599
// is never stored (Cloudflare caches no 5xx by default): it answers MISS
// each time. Every path outside /client/v4 is the edge's, on the fake's
// own host: EdgeURL.

// Page is one path the edge serves.
type Page struct {
	// Path is the path and query, as requested: "/index.html".
	Path string
	// Status is the answer's status (200 when 0); Body the origin's.
	Status int
	Body   string
	// Later, when set, is what the origin serves from LaterAfter (after
	// the fake was made) on: a deploy that lands while the action waits.
	Later      string
	LaterAfter time.Duration
	// Tags are the page's Cache-Tag values, for a tags purge.
	Tags []string
	// KeyHeaders are request headers in the page's cache key
	// (CF-Device-Type, say): each value has a copy of its own, and a
	// files purge removes the copy its headers name.
	KeyHeaders []string
	// Stuck makes the edge keep its old copy whatever is purged: the
	// purge the API confirmed never reached this data center.
	Stuck bool
	// Uncached answers without CF-Cache-Status, as an answer that did
	// not pass through Cloudflare's cache; Dynamic answers DYNAMIC, from
	// the origin each time.
	Uncached, Dynamic bool
	// Variants are the image types the origin serves besides the page's
	// own, as a Vary for Images rule lists them ("image/avif",
	// "image/webp"): a request gets the first its Accept names, else the
	// page's own. Each variant is a copy of its own in the cache, and a
	// purge of the page removes every one, as Cloudflare's does.
	Variants []string
	// Refuse refuses every connection: the request never reaches the
	// edge. In memory (Client) the client gets a dial error, "connection
	// refused"; on loopback (New), where a refusal cannot be per path,
	// the connection is closed before any answer. Either way the request
	// is recorded, with Status 0.
	Refuse bool
	// Before are the first answers, before any from the cache: a 429 with
	// Retry-After, a 502 with CF-Cache-Status MISS, a Hang, a Reset.
	Before []Response
	// Hang makes every answer hang (until the client gives up).
	Hang bool
	// Drip, when set, sends the body one byte each Drip after headers
	// that come at once: a site that holds every reader of its body.
	Drip time.Duration
	// ResetAfterBody resets the connection once the body is sent, before
	// the answer ends (its Content-Length promised one byte more).
	ResetAfterBody bool
	// Also are header lines every answer carries after the edge's own:
	// a second CF-Cache-Status or Age, as a proxy on the way (or a
	// hostile site) sends.
	Also http.Header
}

// WithEdge serves these pages at EdgeURL.
func WithEdge(pages ...Page) Option {
	return func(f *Server) {
		if f.edge == nil {
			f.edge = &edge{created: time.Now(), pages: map[string]*edgePage{}}
		}
		for _, p := range pages {
			f.edge.pages[p.Path] = &edgePage{Page: p, stored: map[string]time.Time{}, purgedAt: map[string]time.Time{}}
		}
	}
}

// EdgeURL is the base of the edge's URLs (no trailing slash): a page's
// URL is EdgeURL() + its Path.
func (f *Server) EdgeURL() string { return strings.TrimSuffix(f.BaseURL(), "/client/v4") }

// EdgeRequests returns every request the edge received.
func (f *Server) EdgeRequests() []Request {
	if f.edge == nil {
		return nil
	}
	f.edge.mu.Lock()
	defer f.edge.mu.Unlock()
	return append([]Request(nil), f.edge.requests...)
}

// edgeHost is the host of every page: the fake's, in memory or on
// loopback. A hosts or prefixes purge of another host leaves the edge be.
const edgeHost = "127.0.0.1"

type edge struct {
	created time.Time

	mu       sync.Mutex
	pages    map[string]*edgePage
	requests []Request
}

type edgePage struct {
	Page
	n int // requests so far
	// stored is when each copy (by key, then variant) was cached; a
	// copy not in it was cached an hour before the fake started.
	stored map[string]time.Time
	// purgedAt is when the copies of each key were last purged, and all
	// when every copy was; invalidated says the last purge was an
	// invalidation.
	purgedAt    map[string]time.Time
	all         time.Time
	invalidated bool
}

// key is the part of a copy's cache key a purge names: the values of
// the page's key headers (the image variant is not in it).
func (p *edgePage) key(get func(string) string) string {
	values := make([]string, len(p.KeyHeaders))
	for i, h := range p.KeyHeaders {
		values[i] = get(h)
	}
	return strings.Join(values, "\x00")
}

func (e *edge) serve(w http.ResponseWriter, r *http.Request, hung <-chan struct{}) {
	now := time.Now()
	req := Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), At: now}
	e.mu.Lock()
	n := len(e.requests)
	e.requests = append(e.requests, req)
	p := e.pages[r.URL.RequestURI()]
	var resp Response
	switch {
	case p == nil:
		resp = Response{Status: http.StatusNotFound, Body: "not found"}
	case p.Refuse:
		resp = Response{Reset: true} // on loopback; in memory roundTrip refused it
	case p.Hang:
		resp = Response{Hang: true}
	case p.n < len(p.Before):
		resp = p.Before[p.n]
	default:
		resp = e.answer(p, r, now)
	}
	if p != nil {
		p.n++
	}
	e.requests[n].Status = resp.Status
	e.mu.Unlock()
	switch {
	case resp.Hang:
		select {
		case <-r.Context().Done():
		case <-hung:
		}
		return
	case resp.Reset:
		panic(http.ErrAbortHandler) // the connection closes with no answer
	}
	w.Header().Set("Content-Type", "text/html") // an image variant's answer says its own
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	if p != nil {
		for k, vs := range p.Also {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
	}
	switch {
	case p != nil && p.Drip > 0:
		w.WriteHeader(resp.Status)
		drip(w, r, resp.Body, p.Drip)
	case p != nil && p.ResetAfterBody:
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)+1))
		w.WriteHeader(resp.Status)
		_, _ = w.Write([]byte(resp.Body))
		flush(w)
		panic(http.ErrAbortHandler) // the server drops the connection
	default:
		w.WriteHeader(resp.Status)
		_, _ = w.Write([]byte(resp.Body))
	}
}

// drip writes body a byte at a time, every, until it is all sent, the
// client stops reading or gives up.
func drip(w http.ResponseWriter, r *http.Request, body string, every time.Duration) {
	for i := range len(body) {
		if _, err := w.Write([]byte{body[i]}); err != nil {
			return
		}
		flush(w)
		timer := time.NewTimer(every)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		}
	}
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// serves reports whether the edge answers r: every path outside
// /client/v4, once WithEdge gave pages.
func (f *Server) serves(r *http.Request) bool {
	return f.edge != nil && !strings.HasPrefix(r.URL.Path, "/client/v4/")
}

// roundTrip answers an edge request in memory as a connection would: the
// answer comes back once its headers are written, and its body streams
// as the edge writes it, so that a page that drips its body, or resets
// after part of it, is read as it would be from a socket. The goroutine
// serving it ends with the answer, or when the client closes the body or
// gives up.
func (e *edge) roundTrip(r *http.Request, hung <-chan struct{}) (*http.Response, error) {
	if err := e.refused(r); err != nil {
		return nil, err
	}
	body, pw := io.Pipe()
	w := &streamWriter{header: http.Header{}, body: pw, wrote: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				if err, ok := p.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				pw.CloseWithError(errReset)
				return
			}
			w.WriteHeader(http.StatusOK) // an answer that wrote nothing
			// A client that gave up reads its error, not a short body.
			pw.CloseWithError(r.Context().Err())
		}()
		e.serve(w, r, hung)
	}()
	select {
	case <-w.wrote:
	case <-done:
	}
	if err := r.Context().Err(); err != nil {
		body.CloseWithError(err)
		return nil, err // the edge hung until the client gave up
	}
	select {
	case <-w.wrote:
	default:
		return nil, errReset // reset before any answer
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, Body: body, ContentLength: -1, Request: r,
	}, nil
}

// refused records a request for a page that refuses connections and
// returns the error a dialer gives for it, as a socket would: nil for
// every other page.
func (e *edge) refused(r *http.Request) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pages[r.URL.RequestURI()]
	if p == nil || !p.Refuse {
		return nil
	}
	p.n++
	e.requests = append(e.requests, Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), At: time.Now()})
	addr, _ := net.ResolveTCPAddr("tcp", r.URL.Host) // an IP literal: no lookup
	return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
}

// streamWriter is the ResponseWriter of an edge request answered in
// memory: the headers are handed over at WriteHeader, the body through a
// pipe, each write waiting for the client to read it.
type streamWriter struct {
	header http.Header
	body   *io.PipeWriter
	status int
	sent   http.Header   // the headers as they were at WriteHeader
	wrote  chan struct{} // closed by WriteHeader
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status, w.sent = status, w.header.Clone()
	close(w.wrote)
}

func (w *streamWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Flush does nothing: every write already waits for the client.
func (w *streamWriter) Flush() {}

// answer serves p from the cache, or from the origin when its copy is
// gone. The caller holds the lock.
func (e *edge) answer(p *edgePage, r *http.Request, now time.Time) Response {
	body := p.Body
	if p.Later != "" && now.Sub(e.created) >= p.LaterAfter {
		body = p.Later
	}
	resp := Response{Status: p.Status, Body: body, Header: map[string]string{}}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	variant := p.variant(r.Header.Get("Accept"))
	if len(p.Variants) > 0 {
		resp.Header["Vary"] = "Accept"
	}
	if variant != "" {
		resp.Header["Content-Type"] = variant
	}
	switch {
	case p.Uncached:
		return resp
	case p.Dynamic:
		resp.Header["CF-Cache-Status"] = "DYNAMIC"
		return resp
	case resp.Status >= 500 && resp.Status <= 599:
		resp.Header["CF-Cache-Status"] = "MISS"
		return resp
	}
	// A purge names the page (and its key headers), never a variant: it
	// removes every variant's copy.
	key := p.key(r.Header.Get)
	copyKey := key + "\x00" + variant
	stored, ok := p.stored[copyKey]
	if !ok {
		stored = e.created.Add(-time.Hour)
	}
	purged := p.purgedAt[key]
	if p.all.After(purged) {
		purged = p.all
	}
	if !p.Stuck && !purged.IsZero() && !stored.After(purged) {
		p.stored[copyKey] = now
		resp.Header["CF-Cache-Status"] = "MISS"
		if p.invalidated {
			resp.Header["CF-Cache-Status"] = "REVALIDATED"
		}
		return resp
	}
	resp.Header["CF-Cache-Status"] = "HIT"
	resp.Header["Age"] = fmt.Sprint(int(now.Sub(stored) / time.Second))
	return resp
}

// variant is the first of the page's Variants that accept names (by
// media type, parameters and q-values aside), or "" for the page's own.
func (p *edgePage) variant(accept string) string {
	for _, v := range p.Variants {
		for r := range strings.SplitSeq(accept, ",") {
			if mediaType, _, _ := strings.Cut(r, ";"); strings.EqualFold(strings.TrimSpace(mediaType), v) {
				return v
			}
		}
	}
	return ""
}

// purged applies a request the API confirmed to the edge's copies.
func (e *edge) purged(path string, body []byte, at time.Time) {
	var b struct {
		Files           []json.RawMessage `json:"files"`
		Tags            []string          `json:"tags"`
		Hosts           []string          `json:"hosts"`
		Prefixes        []string          `json:"prefixes"`
		PurgeEverything bool              `json:"purge_everything"`
	}
	if json.Unmarshal(body, &b) != nil {
		return
	}
	invalidate := strings.HasSuffix(path, "/invalidate_cache")
	e.mu.Lock()
	defer e.mu.Unlock()
	all := func(match func(*edgePage) bool) {
		for _, p := range e.pages {
			if match(p) {
				p.all, p.invalidated = at, invalidate
			}
		}
	}
	for _, raw := range b.Files {
		var file struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
		}
		if json.Unmarshal(raw, &file.URL) != nil && json.Unmarshal(raw, &file) != nil {
			continue
		}
		u, err := url.Parse(file.URL)
		if err != nil {
			continue
		}
		if p := e.pages[u.RequestURI()]; p != nil {
			key := p.key(func(name string) string {
				for k, v := range file.Headers {
					if strings.EqualFold(k, name) {
						return v
					}
				}
				return ""
			})
			p.purgedAt[key], p.invalidated = at, invalidate
		}
	}
	for _, tag := range b.Tags {
		all(func(p *edgePage) bool { return slices.Contains(p.Tags, tag) })
	}
	// The edge has one host, the fake's own: 127.0.0.1.
	if b.PurgeEverything || slices.ContainsFunc(b.Hosts, func(h string) bool { return h == edgeHost }) {
		all(func(*edgePage) bool { return true })
	}
	for _, prefix := range b.Prefixes {
		host, path, _ := strings.Cut(prefix, "/")
		all(func(p *edgePage) bool { return host == edgeHost && strings.HasPrefix(p.Path, "/"+path) })
	}
}
