// Package cloudflaretest is a fake of Cloudflare's purge endpoints, for
// tests and benchmarks: it records every request, answers from a script,
// and can enforce a token bucket like Cloudflare's purge limits and the
// global API limit's window (window.go). It listens on loopback
// (New), for a process or container to reach, or serves in memory
// (NewInMemory) through Client, which a testing/synctest bubble needs:
// there, time only moves while every goroutine waits on something the
// bubble owns, never on a socket. It also answers the zone and environment
// lookups from zones it is given (WithZones), and the token verifies
// (WithToken, tokens.go).
//
// It imports only the standard library: it speaks the API's wire format,
// not this module's types, so it checks the client rather than mirroring it.
package cloudflaretest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
	// Status is the answer's HTTP status (0 while unanswered, or when the
	// fake hung or reset the connection).
	Status int
	// Confirmed says the answer was a successful purge: 2xx, "success":
	// true and a result.id, which is what the action counts as purged.
	Confirmed bool
}

// Items is how many targets the request's body holds (1 for
// purge_everything), or -1 when the body is not a purge body.
func (r Request) Items() int {
	var body map[string]json.RawMessage
	if json.Unmarshal(r.Body, &body) != nil || len(body) != 1 {
		return -1
	}
	for key, raw := range body {
		if key == "purge_everything" {
			return 1
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return -1
		}
		return len(items)
	}
	return -1
}

// Response is what the fake answers.
type Response struct {
	Status int
	Header map[string]string
	Body   string
	// Hang makes the fake never answer (until the client gives up).
	Hang bool
	// Reset closes the connection without an answer.
	Reset bool
}

// OK is a successful purge answer with the given ID.
func OK(id string) Response {
	return Response{Status: 200, Body: fmt.Sprintf(`{"success":true,"errors":[],"messages":[],"result":{"id":%q}}`, id)}
}

// Fail is a failed answer with one Cloudflare error.
func Fail(status, code int, message string) Response {
	body, _ := json.Marshal(map[string]any{
		"success": false, "messages": []any{}, "result": nil,
		"errors": []map[string]any{{"code": code, "message": message}},
	})
	return Response{Status: status, Body: string(body)}
}

// ID is the purge ID the default script gives the n-th request (0-based).
func ID(n int) string { return fmt.Sprintf("%032x", n+1) }

// Script decides the answer to the n-th request (0-based).
type Script func(n int, r Request) Response

// Server is the fake API.
type Server struct {
	srv     *httptest.Server // nil when in memory
	script  Script
	latency time.Duration
	bucket  *Bucket
	window  *APIWindow
	zones   []Zone
	token   Token           // what the verify endpoints say (tokens.go)
	denied  map[string]bool // refused: "zones", "environments" (lookups), "purge"
	// lookupFailures answer the first lookups instead of the zones.
	lookupFailures []Response
	// lookupScript, when it says so, answers a lookup instead of the zones.
	lookupScript LookupScript
	edge         *edge // the user's site, when WithEdge gave pages (edge.go)

	mu       sync.Mutex
	requests []Request // purges and invalidations (POST)
	lookups  []Request // GETs but the token verifies
	verifies []Request // token verifies (tokens.go)
	hung     chan struct{}
}

// Zone is a zone the fake's lookups know.
type Zone struct {
	ID, Name, Account string
	Plan              string // free, pro, business or enterprise
	Environments      []Environment
}

// Environment is an environment of a versioned zone.
type Environment struct{ Ref, Name string }

// WithZones lets the lookups (GET /zones?name=, /zones/{id},
// /zones/{id}/environments) find these zones.
func WithZones(zones ...Zone) Option { return func(f *Server) { f.zones = append(f.zones, zones...) } }

// WithoutZoneRead refuses the zone lookups with 403, code 10000, as for a
// token without Zone › Zone › Read.
func WithoutZoneRead() Option { return deny("zones") }

// WithoutVersioningRead refuses the environment lookup with 403, code
// 10000, as for a token without Zone Versioning Read.
func WithoutVersioningRead() Option { return deny("environments") }

func deny(what string) Option {
	return func(f *Server) {
		if f.denied == nil {
			f.denied = map[string]bool{}
		}
		f.denied[what] = true
	}
}

// WithLookupFailures answers the first lookups with these responses, in
// order (a 503, a 429 with Retry-After), before it answers from the zones.
func WithLookupFailures(rs ...Response) Option {
	return func(f *Server) { f.lookupFailures = append(f.lookupFailures, rs...) }
}

// LookupScript answers the n-th lookup (0-based) when ok; otherwise the
// fake answers from its zones.
type LookupScript func(n int, r Request) (resp Response, ok bool)

// WithLookupScript answers lookups from a script: any answer shape a
// server could send (IDs that are not IDs, pages that repeat, a hang).
func WithLookupScript(s LookupScript) Option { return func(f *Server) { f.lookupScript = s } }

// Lookups returns every GET received so far.
func (f *Server) Lookups() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.lookups...)
}

// Option configures a Server.
type Option func(*Server)

// WithScript answers with script instead of always succeeding.
func WithScript(s Script) Option { return func(f *Server) { f.script = s } }

// WithLatency delays every answer by d.
func WithLatency(d time.Duration) Option { return func(f *Server) { f.latency = d } }

// WithBucket enforces a token bucket: a request it cannot pay for gets a
// 429 (Cloudflare's code 971) with Retry-After.
func WithBucket(b *Bucket) Option { return func(f *Server) { f.bucket = b } }

// New starts a fake on loopback; Close stops it.
func New(opts ...Option) *Server {
	f := NewInMemory(opts...)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// NewInMemory makes a fake that only Client reaches.
func NewInMemory(opts ...Option) *Server {
	f := &Server{script: func(n int, _ Request) Response { return OK(ID(n)) }, hung: make(chan struct{})}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Close releases hung requests and stops the server.
func (f *Server) Close() {
	f.mu.Lock()
	select {
	case <-f.hung:
	default:
		close(f.hung)
	}
	f.mu.Unlock()
	if f.srv != nil {
		f.srv.CloseClientConnections()
		f.srv.Close()
	}
}

// InMemoryBaseURL is the api-url of an in-memory fake. Loopback, so that
// even a client that bypassed Client could only reach this machine.
const InMemoryBaseURL = "http://127.0.0.1:9/client/v4"

// BaseURL is the base URL to give as api-url.
func (f *Server) BaseURL() string {
	if f.srv == nil {
		return InMemoryBaseURL
	}
	return f.srv.URL + "/client/v4"
}

// Client is an HTTP client whose requests the fake answers in memory,
// whatever their host: no socket, and no goroutine of its own but one
// for each answer of the edge, which streams its body (edge.go).
func (f *Server) Client() *http.Client { return &http.Client{Transport: memoryTransport{f}} }

type memoryTransport struct{ f *Server }

// errReset is what a client sees of a connection the fake closed.
var errReset = errors.New("connection reset by peer (fake)")

func (m memoryTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	if m.f.serves(req) {
		return m.f.edge.roundTrip(req, m.f.hung)
	}
	defer func() {
		if p := recover(); p != nil {
			if err, ok := p.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			resp, err = nil, errReset
		}
	}()
	rec := httptest.NewRecorder()
	m.f.serve(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err // the fake hung until the client gave up
	}
	return rec.Result(), nil
}

// Requests returns every request received so far.
func (f *Server) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	if f.serves(r) {
		f.edge.serve(w, r, f.hung)
		return
	}
	var body []byte
	if r.Body != nil { // a client's GET, served in memory, has none
		body, _ = io.ReadAll(io.LimitReader(r.Body, 64<<20))
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
	if account, ok := verifyAccount(r.URL.Path); ok && r.Method == http.MethodGet {
		req.Path = r.URL.RequestURI()
		f.mu.Lock()
		n := len(f.verifies)
		f.verifies = append(f.verifies, req)
		f.mu.Unlock()
		resp, hang := f.verify(n, r, account)
		switch {
		case hang:
			select {
			case <-r.Context().Done():
			case <-f.hung:
			}
		case resp.Reset:
			reset(w)
		default:
			write(w, resp)
		}
		return
	}
	if r.Method == http.MethodGet {
		req.Path = r.URL.RequestURI()
		f.mu.Lock()
		n := len(f.lookups)
		f.lookups = append(f.lookups, req)
		f.mu.Unlock()
		resp, ok := Response{}, false
		if f.window != nil {
			if limited, passed := f.window.take(time.Now()); !passed {
				resp, ok = limited, true
			}
		}
		switch {
		case ok:
		case n < len(f.lookupFailures):
			resp, ok = f.lookupFailures[n], true
		case f.lookupScript != nil:
			resp, ok = f.lookupScript(n, req)
		}
		if !ok {
			resp = f.lookup(r)
		}
		if resp.Hang {
			select {
			case <-r.Context().Done():
			case <-f.hung:
			}
			return
		}
		write(w, resp)
		return
	}
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, req)
	f.mu.Unlock()

	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	var resp Response
	if f.denied["purge"] {
		// Cloudflare checks the token before it counts the request.
		resp = Fail(http.StatusForbidden, 10000, "Authentication error")
	}
	if f.window != nil && resp.Status == 0 {
		if limited, ok := f.window.take(time.Now()); !ok {
			resp = limited
		}
	}
	if f.bucket != nil && resp.Status == 0 {
		if limited, ok := f.bucket.take(req); !ok {
			resp = limited
		}
	}
	if resp.Status == 0 && !resp.Hang && !resp.Reset {
		resp = f.script(n, req)
	}
	if f.bucket != nil {
		f.bucket.addHeaders(&resp)
	}
	switch {
	case resp.Hang:
		select {
		case <-r.Context().Done():
		case <-f.hung:
		}
		return
	case resp.Reset:
		reset(w)
		return
	}
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		if strings.HasPrefix(strings.TrimSpace(resp.Body), "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
	}
	f.mu.Lock()
	f.requests[n].Status = resp.Status
	f.requests[n].Confirmed = confirms(resp)
	f.mu.Unlock()
	if f.edge != nil && confirms(resp) {
		f.edge.purged(req.Path, req.Body, time.Now())
	}
	w.WriteHeader(resp.Status)
	io.WriteString(w, resp.Body)
}

func confirms(resp Response) bool {
	var env struct {
		Success bool `json:"success"`
		Result  struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	return resp.Status >= 200 && resp.Status < 300 &&
		json.Unmarshal([]byte(resp.Body), &env) == nil && env.Success && env.Result.ID != ""
}

// lookup answers a GET from the zones the fake knows.
func (f *Server) lookup(r *http.Request) Response {
	path := strings.TrimPrefix(r.URL.Path, "/client/v4")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case parts[0] != "zones" || len(parts) > 3 || len(parts) == 3 && parts[2] != "environments":
		return Fail(400, 7000, "No route for that URI")
	case len(parts) == 3 && f.denied["environments"], len(parts) < 3 && f.denied["zones"]:
		return Fail(403, 10000, "Authentication error")
	case len(parts) == 1:
		name := r.URL.Query().Get("name")
		var found []any
		for _, z := range f.zones {
			if name == "" || strings.EqualFold(z.Name, name) {
				found = append(found, zoneJSON(z))
			}
		}
		if found == nil {
			found = []any{}
		}
		return Result(found, map[string]any{"page": 1, "per_page": 50, "total_pages": 1, "count": len(found), "total_count": len(found)})
	}
	for _, z := range f.zones {
		if z.ID != parts[1] {
			continue
		}
		if len(parts) == 2 {
			return Result(zoneJSON(z), nil)
		}
		envs := []any{}
		for _, e := range z.Environments {
			envs = append(envs, map[string]any{"ref": e.Ref, "name": e.Name, "expression": "", "version": 1, "locked_on_deployment": false})
		}
		return Result(map[string]any{"environments": envs}, nil)
	}
	return Fail(400, 7003, "Could not route to /client/v4"+path+", perhaps your object identifier is invalid?")
}

func zoneJSON(z Zone) map[string]any {
	return map[string]any{"id": z.ID, "name": z.Name, "status": "active",
		"account": map[string]any{"id": AccountID(z.Account), "name": z.Account},
		"plan":    map[string]any{"id": z.Plan, "name": z.Plan, "legacy_id": z.Plan}}
}

// AccountID is the ID the fake gives the account named name: 32 hex
// digits, as Cloudflare's are.
func AccountID(name string) string {
	return fmt.Sprintf("%032x", sha256.Sum256([]byte(name)))[:32]
}

// Result is a successful answer with v as its result, and info as its
// result_info when not nil.
func Result(v any, info map[string]any) Response {
	env := map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": v}
	if info != nil {
		env["result_info"] = info
	}
	body, _ := json.Marshal(env)
	return Response{Status: 200, Body: string(body)}
}

// reset closes the connection without an answer: a socket's is closed,
// and in memory the panic is what RoundTrip turns into errReset.
func reset(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func write(w http.ResponseWriter, resp Response) {
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.Status)
	io.WriteString(w, resp.Body)
}
