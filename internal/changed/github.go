package changed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// Bounds on what one comparison may cost. GitHub's compare API lists at
// most 300 files for a whole comparison (its diff limits; the files come
// on the first page only, however the commits are paged:
// docs.github.com/rest/commits, "Compare two commits"). A list of 300 may
// be cut, so the trees of the base and the head are then read, each in
// one answer (docs.github.com/rest/git/trees, "Get a tree", recursive: at
// most 100,000 entries and 7 MB, truncated beyond), and diffed; a tree
// cut or larger than these bounds purges everything.
const (
	// CompareFilesCap is the most files the compare API lists.
	CompareFilesCap = 300
	// MaxRequests bounds the requests of one comparison, retries
	// included (the token's budget is 1,000 an hour per repository).
	MaxRequests = 250
	// MaxPaths bounds the distinct changed paths kept.
	MaxPaths = 50000
	// DefaultMaxAnswerBytes bounds one answer of the compare API: 300
	// files with their patches.
	DefaultMaxAnswerBytes = 32 << 20
	// MaxTreeBytes bounds one tree answer: GitHub's 7 MB, read as MiB so
	// that a tree GitHub sends whole is never refused for the JSON
	// around it; past it everything is purged.
	MaxTreeBytes = 7 << 20
	// perPage is the page size of commits asked for (a comparison's
	// files all come on its first page): the most GitHub gives.
	perPage = 100
	// MaxRateLimitWait is the longest wait for GitHub's rate limit to
	// reset; a longer one fails the step rather than hold the job.
	MaxRateLimitWait = 60 * time.Second
)

// GitHub reads what changed between two commits from GitHub's REST API.
type GitHub struct {
	// BaseURL is GITHUB_API_URL without a trailing slash (validated by
	// the caller: https, or http to loopback).
	BaseURL string
	// Repository is GITHUB_REPOSITORY, owner/name (validated).
	Repository string
	// Token is sent to BaseURL only, never anywhere else: the client
	// follows no redirect and no link from an answer.
	Token string
	// OtherSecrets are the other secrets known (the Cloudflare token or
	// key). Every request passes an outbound.Guard: none that holds one
	// of them, or Token anywhere but its Authorization header, is sent.
	OtherSecrets []string
	HTTP         *http.Client
	UserAgent    string
	// MaxRetries and NewBackOff retry 5xx, 429 and rate-limited 403
	// answers and network errors, as Cloudflare requests are.
	MaxRetries int
	NewBackOff func() backoff.BackOff
	// MaxAnswerBytes bounds one answer of the compare API; 0 means
	// DefaultMaxAnswerBytes. A tree answer has its own bound,
	// MaxTreeBytes.
	MaxAnswerBytes int
}

// Comparison is what changed between two commits.
type Comparison struct {
	// Status is GitHub's: ahead, identical, behind or diverged.
	Status string
	// Paths are the changed paths, once each: added, modified, removed,
	// renamed and copied files (a rename gives its old and its new path,
	// a copy only its new one). In GitHub's order from the compare API's
	// list; in byte order from the trees.
	Paths []string
	// Everything, when not "", is why the changes cannot be known
	// exactly, so everything must be purged.
	Everything string
	// FromTrees says the compare API listed CompareFilesCap files, so its
	// list may have been cut, and Paths come from the trees of the base
	// and the head instead.
	FromTrees bool
	// Requests counts the requests attempted, retries included.
	Requests int
}

// APIError is an answer of GitHub's other than success.
type APIError struct {
	Status  int
	Message string // GitHub's message, untrusted: quote it
	// RepositoryHidden says GitHub answered 404 for the repository
	// itself: the token cannot see it.
	RepositoryHidden bool
	// RateLimitReset, when not zero, is when GitHub's rate limit resets.
	RateLimitReset time.Time
	retryAfter     time.Duration
	hasRetryAfter  bool
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("GitHub answered HTTP %d", e.Status)
	if e.Message != "" {
		msg += ": " + safetext.Quote(e.Message)
	}
	if !e.RateLimitReset.IsZero() {
		msg += fmt.Sprintf(" (rate limit used up until %s)", e.RateLimitReset.UTC().Format(time.TimeOnly+" UTC"))
	}
	return msg
}

// AuthFailure reports a refusal for want of a permission (401 or 403
// that is not a rate limit).
func (e *APIError) AuthFailure() bool {
	return (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) && !e.hasRetryAfter && e.RateLimitReset.IsZero() || e.RepositoryHidden
}

func (e *APIError) retryable() bool {
	switch {
	case !e.RateLimitReset.IsZero():
		return false // too far off to wait for
	case e.Status >= 500, e.Status == http.StatusTooManyRequests:
		return true
	case e.Status == http.StatusForbidden:
		return e.hasRetryAfter
	}
	return false
}

// errNotFound is a 404: of the compare API, an unknown commit or a
// repository the token cannot see; of a tree, a commit gone since the
// comparison named it.
var errNotFound = errors.New("not found")

// Compare lists the paths changed from base to head (a commit SHA). An
// unknown base (a force-push removed it), a base that is not an ancestor
// of head, a comparison too large to list exactly, and a commit whose
// tree is gone by the time it is read give Everything with the reason; a
// refusal or a failure is an error.
func (g *GitHub) Compare(ctx context.Context, base, head string) (Comparison, error) {
	w := &comparing{g: g, seen: map[string]bool{}}
	var first compareAnswer
	err := w.get(ctx, w.compareURL(base, head), &first, 0)
	if errors.Is(err, errNotFound) {
		// 404 for an unknown commit and for a repository the token
		// cannot see alike: reading the repository tells them apart.
		var repo struct {
			FullName string `json:"full_name"`
		}
		switch err := w.get(ctx, g.BaseURL+"/repos/"+g.Repository, &repo, 0); {
		case errors.Is(err, errNotFound):
			return w.result(), &APIError{Status: http.StatusNotFound, Message: "Not Found", RepositoryHidden: true}
		case err != nil:
			return w.result(), err
		}
		w.everything = fmt.Sprintf("changed-since %s is not a commit of %s (a force-push may have removed it, or the name is wrong)", safetext.Quote(base), g.Repository)
		return w.result(), nil
	}
	if err != nil {
		return w.result(), err
	}
	w.status = first.Status
	switch first.Status {
	case "identical":
		return w.result(), nil
	case "behind", "diverged":
		w.everything = fmt.Sprintf("changed-since %s is not an ancestor of GITHUB_SHA (GitHub says the head is %s), so the files changed since it are not the files this deploy changed", safetext.Quote(base), first.Status)
		return w.result(), nil
	case "ahead":
	default:
		return w.result(), fmt.Errorf("GitHub's comparison has status %s; want ahead, identical, behind or diverged", safetext.Quote(first.Status))
	}
	if len(first.Files) < CompareFilesCap {
		w.add(first.Files)
		return w.result(), nil
	}
	// The list may be cut at GitHub's 300, whatever else the answer says
	// (total_commits included): the trees say what it left out. The base
	// tree is the merge base's, the commit GitHub's list diffs from; the
	// SHAs go into a URL's path, so they must be SHAs.
	from := first.MergeBaseCommit.SHA
	if !IsSHA(from) {
		return w.result(), fmt.Errorf("%w: GitHub's comparison names its merge base %s, which is not a commit SHA", errAnswer, safetext.Quote(from))
	}
	if !IsSHA(head) {
		return w.result(), fmt.Errorf("the head %s is not a commit SHA, so its tree cannot be read", safetext.Quote(head))
	}
	err = w.diffTrees(ctx, strings.ToLower(from), strings.ToLower(head))
	return w.result(), err
}

// comparing is one comparison under way.
type comparing struct {
	g          *GitHub
	status     string
	paths      []string
	seen       map[string]bool
	everything string
	fromTrees  bool
	requests   int
}

func (w *comparing) result() Comparison {
	if w.everything != "" {
		w.paths, w.fromTrees = nil, false
	}
	return Comparison{Status: w.status, Paths: w.paths, Everything: w.everything, FromTrees: w.fromTrees, Requests: w.requests}
}

type fileEntry struct {
	Filename         string `json:"filename"`
	Status           string `json:"status"`
	PreviousFilename string `json:"previous_filename"`
}

type compareAnswer struct {
	Status          string `json:"status"`
	MergeBaseCommit struct {
		SHA string `json:"sha"`
	} `json:"merge_base_commit"`
	Files []fileEntry `json:"files"`
}

// add keeps the paths of files: every status counts (a removed page must
// stop being served from cache), and a rename its old path too (gone
// from the site). A copy's source did not change: only the copy counts.
func (w *comparing) add(files []fileEntry) {
	for _, f := range files {
		paths := []string{f.Filename}
		if f.Status == "renamed" {
			paths = []string{f.PreviousFilename, f.Filename}
		}
		for _, p := range paths {
			if !w.addPath(p) {
				return
			}
		}
	}
}

// addPath keeps p once, and reports false when it is one path too many
// (w.everything then says so).
func (w *comparing) addPath(p string) bool {
	if p == "" || w.seen[p] {
		return true
	}
	if len(w.paths) >= MaxPaths {
		w.everything = fmt.Sprintf("more than %d changed paths", MaxPaths)
		return false
	}
	w.seen[p] = true
	w.paths = append(w.paths, p)
	return true
}

// treeAnswer is a tree as GET /git/trees/{sha}?recursive=1 gives it.
type treeAnswer struct {
	Tree []struct {
		Path string `json:"path"`
		Type string `json:"type"`
		SHA  string `json:"sha"`
	} `json:"tree"`
	Truncated bool `json:"truncated"`
}

// unknownObject is a tree entry's object when the answer does not name
// one plainly (no SHA, or a path listed twice with two objects): its
// path always counts as changed.
const unknownObject = "?"

// diffTrees sets the paths to those whose object differs between the
// trees of commits base and head: added, modified and removed files, a
// rename being both. Files and submodules count, each by its object
// (a submodule's path is what the compare API lists when it moves);
// folders do not: their files do. Two requests at most, base then head,
// each one answer within MaxTreeBytes; a tree cut, too large, or gone
// sets w.everything instead.
func (w *comparing) diffTrees(ctx context.Context, base, head string) error {
	from, err := w.tree(ctx, base, "base")
	if err != nil || w.everything != "" {
		return err
	}
	to, err := w.tree(ctx, head, "head")
	if err != nil || w.everything != "" {
		return err
	}
	var changed []string
	for p, obj := range from {
		if now, ok := to[p]; !ok || now != obj || obj == unknownObject {
			changed = append(changed, p)
		}
	}
	for p := range to {
		if _, ok := from[p]; !ok {
			changed = append(changed, p)
		}
	}
	slices.Sort(changed)
	for _, p := range changed {
		if !w.addPath(p) {
			return nil
		}
	}
	w.fromTrees = true
	return nil
}

// tree reads the tree of commit sha (the comparison's base or head, as
// which says; a commit SHA names its root tree, as a branch name would),
// in one answer: its files' and submodules' objects by path.
func (w *comparing) tree(ctx context.Context, sha, which string) (map[string]string, error) {
	var answer treeAnswer
	u := fmt.Sprintf("%s/repos/%s/git/trees/%s?recursive=1", w.g.BaseURL, w.g.Repository, sha)
	err := w.get(ctx, u, &answer, MaxTreeBytes)
	cut := fmt.Sprintf("so which files changed beyond the %d its comparison lists cannot be known", CompareFilesCap)
	_, tooLarge := errors.AsType[*tooLargeError](err)
	switch {
	case errors.Is(err, errNotFound):
		// The comparison named the commit a moment ago: it is gone
		// since, as after a force-push during the run.
		w.everything = fmt.Sprintf("GitHub finds no tree for the %s commit %s that its comparison named (a force-push during the run may have removed it), %s", which, sha, cut)
		return nil, nil
	case tooLarge:
		w.everything = fmt.Sprintf("GitHub's tree of the %s commit %s is larger than 7 MiB (%d bytes), the most read for one tree, %s", which, sha, MaxTreeBytes, cut)
		return nil, nil
	case err != nil:
		return nil, err
	case answer.Truncated:
		w.everything = fmt.Sprintf("GitHub's tree of the %s commit %s is truncated (GitHub lists at most 100,000 entries and 7 MB of a tree), %s", which, sha, cut)
		return nil, nil
	}
	objects := make(map[string]string, len(answer.Tree))
	for _, e := range answer.Tree {
		if e.Type != "blob" && e.Type != "commit" {
			continue // a folder: its files are listed
		}
		obj := e.Type + " " + strings.ToLower(e.SHA)
		if had, ok := objects[e.Path]; !IsSHA(e.SHA) || ok && had != obj {
			obj = unknownObject
		}
		objects[e.Path] = obj
	}
	return objects, nil
}

// compareURL is the compare API's URL: its first page, the one that
// lists the files (the commits on later pages are not read). The refs are
// checked by the caller and escaped anyway, segment by segment (a branch
// name may hold slashes).
func (w *comparing) compareURL(base, head string) string {
	return fmt.Sprintf("%s/repos/%s/compare/%s...%s?per_page=%d&page=1", w.g.BaseURL, w.g.Repository, escapeRef(base), escapeRef(head), perPage)
}

func escapeRef(ref string) string {
	segs := strings.Split(ref, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// IsSHA reports whether s is a full commit SHA: 40 (SHA-1) or 64
// (SHA-256) hex digits.
func IsSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// get reads one answer of at most limit bytes (0: MaxAnswerBytes) into
// into, retrying as Cloudflare requests are.
func (w *comparing) get(ctx context.Context, u string, into any, limit int) error {
	_, err := backoff.Retry(ctx, func() (bool, error) {
		if w.requests >= MaxRequests {
			return false, backoff.Permanent(fmt.Errorf("the comparison needs more than %d requests to GitHub", MaxRequests))
		}
		w.requests++
		err := w.g.once(ctx, u, into, limit)
		if err == nil {
			return true, nil
		}
		apiErr, isAPI := errors.AsType[*APIError](err)
		_, refused := errors.AsType[*outbound.RefusedError](err)
		switch {
		case errors.Is(err, errNotFound), errors.Is(err, errAnswer), errors.Is(err, context.Canceled),
			ctx.Err() != nil, isAPI && !apiErr.retryable(), refused:
			return false, backoff.Permanent(err)
		case isAPI && apiErr.hasRetryAfter:
			return false, retry.WaitThen(err, apiErr.retryAfter)
		}
		return false, err
	}, backoff.WithBackOff(w.g.NewBackOff()), backoff.WithMaxTries(uint(max(w.g.MaxRetries, 0))+1), backoff.WithMaxElapsedTime(0))
	return err
}

// errAnswer marks an answer that is not what the API documents.
var errAnswer = errors.New("unexpected answer from GitHub")

// tooLargeError is an answer past its bound; it is an errAnswer too.
type tooLargeError struct{ limit int }

func (e *tooLargeError) Error() string { return fmt.Sprintf("an answer larger than %d bytes", e.limit) }

// once sends one GET, and reads at most limit bytes of its answer (0:
// MaxAnswerBytes, or DefaultMaxAnswerBytes).
func (g *GitHub) once(ctx context.Context, u string, into any, limit int) error {
	ctx, cancel := context.WithTimeout(ctx, retry.CompareAttempt)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: building the request: %w", errAnswer, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", g.UserAgent)
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	hc := *g.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Transport = outbound.NewGuard(hc.Transport, outbound.NewSecrets(append([]string{g.Token}, g.OtherSecrets...)...), "Authorization")
	resp, err := hc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // the URL is in the log already (or held a secret)
		}
		if _, refused := errors.AsType[*outbound.RefusedError](err); refused {
			return err // nothing was sent: not a failure to answer
		}
		return fmt.Errorf("GitHub did not answer: %w", err)
	}
	defer resp.Body.Close()
	if limit <= 0 {
		limit = g.MaxAnswerBytes
	}
	if limit <= 0 {
		limit = DefaultMaxAnswerBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return fmt.Errorf("reading GitHub's answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return errNotFound
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return apiError(resp, body, time.Now())
	case len(body) > limit:
		return fmt.Errorf("%w: %w", errAnswer, &tooLargeError{limit})
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("%w: not the JSON the API documents (%w)", errAnswer, err)
	}
	return nil
}

// apiError reads a failed answer: GitHub's message, and how long to wait
// when it is a rate limit (Retry-After, or x-ratelimit-remaining: 0 with
// x-ratelimit-reset, as GitHub's REST docs say to honour).
func apiError(resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{Status: resp.StatusCode}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) == nil {
		e.Message = msg.Message
	}
	if s := strings.TrimSpace(resp.Header.Get("Retry-After")); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			e.retryAfter, e.hasRetryAfter = time.Duration(secs)*time.Second, true
		} else if at, err := http.ParseTime(s); err == nil {
			e.retryAfter, e.hasRetryAfter = max(at.Sub(now), 0), true
		}
	}
	if !e.hasRetryAfter && resp.Header.Get("X-Ratelimit-Remaining") == "0" &&
		(e.Status == http.StatusForbidden || e.Status == http.StatusTooManyRequests) {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			at := time.Unix(reset, 0)
			if wait := at.Sub(now); wait <= MaxRateLimitWait {
				e.retryAfter, e.hasRetryAfter = max(wait, 0)+time.Second, true
			} else {
				e.RateLimitReset = at
			}
		}
	}
	if e.hasRetryAfter && e.retryAfter > MaxRateLimitWait {
		e.RateLimitReset, e.hasRetryAfter = now.Add(e.retryAfter), false
	}
	return e
}
