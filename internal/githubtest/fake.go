// Package githubtest is a fake of the parts of GitHub's REST API that
// purge-type changed reads: the compare API, a commit's tree and the
// repository itself. It models one repository with a linear history of
// commits and answers as GitHub documents: the compare API lists at most
// 300 files for the whole comparison, on the first page only, and pages
// the commits; the tree of a commit lists every entry under it, blobs,
// trees and submodules' commits, when asked with recursive, and says
// whether it cut the list (truncated). It records every request, serves
// in memory (Client, for a testing/synctest bubble) or on loopback (New),
// can answer the first requests from a script (failures, rate limits),
// and can answer as a hostile or changing server would: a comparison
// whose count disagrees with its files (WithListedCommits), a cut tree
// (WithTruncatedTree), a tree gone after a force-push
// (WithTreeNotFound), a tree answer padded past a size (WithTreeBytes).
//
// It imports only the standard library: it speaks the wire format, so it
// checks the client rather than mirroring it.
package githubtest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// InMemoryBaseURL is GITHUB_API_URL for an in-memory fake: loopback (so a
// client that bypassed Client could only reach this machine), with the
// /api/v3 path of GitHub Enterprise Server.
const InMemoryBaseURL = "http://127.0.0.2:9/api/v3"

// File is one changed file of a commit, as GitHub lists it. The trees
// of the history follow from the files: a file a commit modifies,
// removes or renames before any commit added it was there from the
// start, so a history need not add what it changes.
type File struct {
	Name     string // filename
	Status   string // added, modified, removed, renamed, ...
	Previous string // previous_filename, for a rename or a copy
	// Content names what the file holds after the commit: the same
	// Content is the same blob SHA, so a file changed back to an earlier
	// Content is unchanged. "" is content new at this commit, or, for a
	// rename or a copy, its source's.
	Content string
	// Submodule makes the entry a submodule (type "commit" in a tree,
	// mode 160000), Content naming the commit it points at.
	Submodule bool
}

// Commit is one commit of the repository's history.
type Commit struct {
	SHA   string
	Files []File
}

// Response is a scripted answer. The zero Response lets the fake answer
// as it would without a script.
type Response struct {
	Status int
	Header map[string]string
	Body   string
}

// Request is one request the fake received.
type Request struct {
	Method string
	Host   string
	Path   string // with the query
	Header http.Header
}

// Server is the fake API for one repository.
type Server struct {
	repo      string
	token     string
	commits   []Commit // oldest first
	diverged  map[string]bool
	hidden    bool
	forbidden bool
	script    []Response
	// listed makes the comparison's count disagree with its files: see
	// WithListedCommits.
	listed int // -1: every commit
	// truncated, gone and treeBytes change the tree answers of commits:
	// see WithTruncatedTree, WithTreeNotFound and WithTreeBytes.
	truncated map[string]bool
	gone      map[string]bool
	treeBytes map[string]int
	srv       *httptest.Server

	mu       sync.Mutex
	requests []Request
}

// Option configures the fake.
type Option func(*Server)

// WithCommits gives the repository its history, oldest first.
func WithCommits(cs ...Commit) Option {
	return func(s *Server) { s.commits = append(s.commits, cs...) }
}

// WithToken makes the fake accept only this token (401 otherwise).
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithDiverged makes a comparison from base "diverged": base is not an
// ancestor of the head.
func WithDiverged(base string) Option { return func(s *Server) { s.diverged[base] = true } }

// WithHiddenRepository answers 404 to everything, as GitHub does for a
// repository the token cannot see.
func WithHiddenRepository() Option { return func(s *Server) { s.hidden = true } }

// WithForbidden answers 403 to everything, as GitHub does for a token
// without contents: read.
func WithForbidden() Option { return func(s *Server) { s.forbidden = true } }

// WithListedCommits makes a comparison count and list only its first n
// commits (total_commits and ahead_by say n), while its files stay those
// of every commit: an answer whose count disagrees with its files.
func WithListedCommits(n int) Option { return func(s *Server) { s.listed = n } }

// WithScript answers the first requests with these, in order; a zero
// Response answers as the fake would.
func WithScript(rs ...Response) Option { return func(s *Server) { s.script = append(s.script, rs...) } }

// WithTruncatedTree makes the tree of commit sha come cut, as GitHub
// cuts one past 100,000 entries or 7 MB: it lists the first half of its
// entries and says truncated: true.
func WithTruncatedTree(sha string) Option { return func(s *Server) { s.truncated[sha] = true } }

// WithTreeNotFound answers 404 for the tree of commit sha while the
// comparison still lists the commit: a force-push during the run, after
// which GitHub no longer has it.
func WithTreeNotFound(sha string) Option { return func(s *Server) { s.gone[sha] = true } }

// WithTreeBytes pads the tree answer of commit sha with white space, a
// valid JSON answer still, to n bytes when it is shorter.
func WithTreeBytes(sha string, n int) Option { return func(s *Server) { s.treeBytes[sha] = n } }

// NewInMemory makes a fake of repository repo (owner/name) that only
// Client reaches.
func NewInMemory(repo string, opts ...Option) *Server {
	s := &Server{repo: repo, diverged: map[string]bool{}, listed: -1,
		truncated: map[string]bool{}, gone: map[string]bool{}, treeBytes: map[string]int{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// New starts a fake on loopback; Close stops it.
func New(repo string, opts ...Option) *Server {
	s := NewInMemory(repo, opts...)
	s.srv = httptest.NewServer(s)
	return s
}

// Close stops a loopback fake.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// BaseURL is the GITHUB_API_URL to give.
func (s *Server) BaseURL() string {
	if s.srv == nil {
		return InMemoryBaseURL
	}
	return s.srv.URL + "/api/v3"
}

// Client answers requests in memory, whatever their host: no socket.
func (s *Server) Client() *http.Client { return &http.Client{Transport: Transport{s}} }

// Transport serves requests in memory.
type Transport struct{ S *Server }

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.S.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// TreeRequests counts the requests for a tree received so far.
func (s *Server) TreeRequests() int {
	n := 0
	for _, r := range s.Requests() {
		if strings.Contains(r.Path, "/git/trees/") {
			n++
		}
	}
	return n
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, Request{Method: r.Method, Host: r.Host, Path: r.URL.RequestURI(), Header: r.Header.Clone()})
	s.mu.Unlock()
	write(w, s.answer(n, r))
}

func (s *Server) answer(n int, r *http.Request) Response {
	if n < len(s.script) && s.script[n].Status != 0 {
		return s.script[n]
	}
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		return fail(401, "Bad credentials")
	}
	if s.hidden {
		return fail(404, "Not Found")
	}
	if s.forbidden {
		return fail(403, "Resource not accessible by integration")
	}
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v3")
	prefix := "/repos/" + s.repo
	rest, ok := strings.CutPrefix(path, prefix)
	switch {
	case r.Method != http.MethodGet || !ok:
		return fail(404, "Not Found")
	case rest == "":
		return ok200(map[string]any{"full_name": s.repo, "private": true})
	case strings.HasPrefix(rest, "/compare/"):
		return s.compare(strings.TrimPrefix(rest, "/compare/"), r)
	case strings.HasPrefix(rest, "/git/trees/"):
		return s.tree(strings.TrimPrefix(rest, "/git/trees/"), r)
	}
	return fail(404, "Not Found")
}

func (s *Server) index(sha string) int {
	for i, c := range s.commits {
		if c.SHA == sha {
			return i
		}
	}
	return -1
}

func paging(r *http.Request, def int) (perPage, page int) {
	perPage, page = def, 1
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	return perPage, page
}

func (s *Server) compare(basehead string, r *http.Request) Response {
	base, head, ok := strings.Cut(basehead, "...")
	i, j := s.index(base), s.index(head)
	if !ok || i < 0 || j < 0 {
		return fail(404, "Not Found")
	}
	status := "ahead"
	switch {
	case s.diverged[base]:
		status = "diverged"
	case i == j:
		status = "identical"
	case i > j:
		status = "behind"
	}
	var commits []Commit
	if i < j && status == "ahead" {
		commits = s.commits[i+1 : j+1]
	}
	// Files: the net change by name, at most 300, on the first page only;
	// a file changed back to what it was is no change.
	files := []map[string]any{}
	at := map[string]int{}
	var before, after map[string]object
	if len(commits) > 0 {
		before, after = s.treeAt(i), s.treeAt(j)
	}
	for _, c := range commits {
		for _, f := range c.Files {
			if k, ok := at[f.Name]; ok {
				files[k]["status"] = f.Status
				continue
			}
			at[f.Name] = len(files)
			files = append(files, fileJSON(f))
		}
	}
	files = slices.DeleteFunc(files, func(f map[string]any) bool {
		name := f["filename"].(string)
		b, inBase := before[name]
		a, inHead := after[name]
		return inBase && inHead && a == b && f["status"] != "renamed"
	})
	files = files[:min(len(files), 300)]
	perPage, page := paging(r, 250)
	if page > 1 {
		files = []map[string]any{}
	}
	if s.listed >= 0 {
		commits = commits[:min(s.listed, len(commits))]
	}
	list := []map[string]any{}
	for k := (page - 1) * perPage; k < min(page*perPage, len(commits)); k++ {
		list = append(list, map[string]any{"sha": commits[k].SHA, "commit": map[string]any{"message": "commit " + strconv.Itoa(k)}})
	}
	mergeBase := base
	if status == "behind" {
		mergeBase = head
	}
	return ok200(map[string]any{
		"status": status, "ahead_by": len(commits), "behind_by": 0, "total_commits": len(commits),
		"base_commit": map[string]any{"sha": base}, "merge_base_commit": map[string]any{"sha": mergeBase},
		"commits": list, "files": files,
	})
}

// object is a tree entry's: a blob or a submodule's commit.
type object struct {
	sha       string
	submodule bool
}

// hash is a made-up object SHA for text.
func hash(text string) string {
	sum := sha1.Sum([]byte(text))
	return hex.EncodeToString(sum[:])
}

// treeAt is every file of the tree of commit i, by path. A file changed
// before anything added it was there from the first commit.
func (s *Server) treeAt(i int) map[string]object {
	t := map[string]object{}
	seen := map[string]bool{}
	for _, c := range s.commits {
		for _, f := range c.Files {
			old := f.Name
			if f.Status == "renamed" || f.Status == "copied" {
				old = f.Previous
			}
			if old != "" && !seen[old] && f.Status != "added" {
				t[old] = object{sha: hash("initial\x00" + old), submodule: f.Submodule && old == f.Name}
			}
			seen[old], seen[f.Name] = true, true
		}
	}
	for _, c := range s.commits[:i+1] {
		for _, f := range c.Files {
			if f.Status == "removed" {
				delete(t, f.Name)
				continue
			}
			obj, ok := t[f.Previous]
			if !ok || f.Previous == "" || (f.Status != "renamed" && f.Status != "copied") {
				obj = object{sha: hash(c.SHA + "\x00" + f.Name)}
			}
			if f.Content != "" {
				obj.sha = hash("content\x00" + f.Content)
			}
			obj.submodule = f.Submodule
			if f.Status == "renamed" {
				delete(t, f.Previous)
			}
			t[f.Name] = obj
		}
	}
	return t
}

// tree answers GET /git/trees/{sha} for the commit sha, as GitHub does
// for a commit SHA: its root tree. The entries are every blob and
// submodule, and every folder as a tree whose SHA follows from what it
// holds; only the root's own entries without recursive.
func (s *Server) tree(sha string, r *http.Request) Response {
	i := s.index(sha)
	if i < 0 || s.gone[sha] {
		return fail(404, "Not Found")
	}
	files := s.treeAt(i)
	folders := map[string][]string{} // folder -> "path sha" lines below it
	for p, o := range files {
		for k := range len(p) {
			if p[k] == '/' {
				folders[p[:k]] = append(folders[p[:k]], p[k:]+" "+o.sha)
			}
		}
		folders[""] = append(folders[""], p+" "+o.sha)
	}
	treeSHA := func(folder string) string {
		lines := folders[folder]
		slices.Sort(lines)
		return hash("tree\x00" + strings.Join(lines, "\n"))
	}
	var entries []map[string]any
	for p, o := range files {
		e := map[string]any{"path": p, "mode": "100644", "type": "blob", "sha": o.sha, "size": len(p),
			"url": "https://elsewhere.invalid/git/blobs/" + o.sha}
		if o.submodule {
			e = map[string]any{"path": p, "mode": "160000", "type": "commit", "sha": o.sha}
		}
		entries = append(entries, e)
	}
	for f := range folders {
		if f != "" {
			entries = append(entries, map[string]any{"path": f, "mode": "040000", "type": "tree", "sha": treeSHA(f),
				"url": "https://elsewhere.invalid/git/trees/" + treeSHA(f)})
		}
	}
	slices.SortFunc(entries, func(a, b map[string]any) int { return strings.Compare(a["path"].(string), b["path"].(string)) })
	if !r.URL.Query().Has("recursive") {
		entries = slices.DeleteFunc(entries, func(e map[string]any) bool { return strings.Contains(e["path"].(string), "/") })
	}
	truncated := s.truncated[sha]
	if truncated {
		entries = entries[:len(entries)/2]
	}
	if entries == nil {
		entries = []map[string]any{}
	}
	resp := ok200(map[string]any{"sha": treeSHA(""), "url": "https://elsewhere.invalid/git/trees/" + treeSHA(""),
		"tree": entries, "truncated": truncated})
	if n := s.treeBytes[sha]; len(resp.Body) < n {
		resp.Body = "{" + strings.Repeat(" ", n-len(resp.Body)) + resp.Body[1:]
	}
	return resp
}

func fileJSON(f File) map[string]any {
	m := map[string]any{"filename": f.Name, "status": f.Status, "additions": 1, "deletions": 0, "patch": "@@ -1 +1 @@"}
	if f.Previous != "" {
		m["previous_filename"] = f.Previous
	}
	return m
}

func ok200(v any) Response {
	body, _ := json.Marshal(v)
	return Response{Status: 200, Body: string(body)}
}

func fail(status int, msg string) Response {
	body, _ := json.Marshal(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	return Response{Status: status, Body: string(body)}
}

func write(w http.ResponseWriter, resp Response) {
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(resp.Status)
	fmt.Fprint(w, resp.Body)
}

// SHA is a made-up commit SHA for n.
func SHA(n int) string { return fmt.Sprintf("%040x", n+0xabc000) }

// Zeros is github.event.before for a new branch.
const Zeros = "0000000000000000000000000000000000000000"
