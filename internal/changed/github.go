package changed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
// on the first page only, however the commits are paged), and the
// single-commit endpoint pages its own files, up to 3,000 a commit
// (docs.github.com/rest/commits: "Compare two commits" and "Get a
// commit"). A list of 300 may be cut, so the comparison is then walked
// commit by commit, within these bounds, or everything is purged.
const (
	// CompareFilesCap is the most files the compare API lists.
	CompareFilesCap = 300
	// CommitFilesCap is the most files the single-commit endpoint lists.
	CommitFilesCap = 3000
	// MaxWalkedCommits bounds the commits walked one by one.
	MaxWalkedCommits = 150
	// MaxRequests bounds the requests of one comparison (the token's
	// budget is 1,000 an hour per repository).
	MaxRequests = 250
	// MaxPaths bounds the distinct changed paths kept.
	MaxPaths = 50000
	// DefaultMaxAnswerBytes bounds one answer: 300 files with their
	// patches.
	DefaultMaxAnswerBytes = 32 << 20
	// perPage is the page size asked for, commits or files: the most
	// GitHub gives.
	perPage = 100
	// maxFilePages bounds the pages of one commit's files.
	maxFilePages = CommitFilesCap/perPage + 1
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
	// MaxAnswerBytes bounds one answer; 0 means DefaultMaxAnswerBytes.
	MaxAnswerBytes int
}

// Comparison is what changed between two commits.
type Comparison struct {
	// Status is GitHub's: ahead, identical, behind or diverged.
	Status string
	// Paths are the changed paths, in GitHub's order, once each: added,
	// modified, removed, renamed and copied files (a rename gives its
	// old and its new path, a copy only its new one).
	Paths []string
	// Everything, when not "", is why the changes cannot be known
	// exactly, so everything must be purged.
	Everything string
	// Walked says the compare API's list was cut and the commits were
	// walked one by one: how many.
	Walked   int
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

// errNotFound is a 404 of the compare API: an unknown commit, or a
// repository the token cannot see.
var errNotFound = errors.New("not found")

// Compare lists the paths changed from base to head. An unknown base
// (a force-push removed it), a base that is not an ancestor of head, a
// comparison too large to list exactly, and one whose pages do not list
// the commits it counts give Everything with the reason; a refusal or a
// failure is an error.
func (g *GitHub) Compare(ctx context.Context, base, head string) (Comparison, error) {
	w := &walk{g: g, seen: map[string]bool{}}
	var first compareAnswer
	err := w.get(ctx, w.compareURL(base, head, 1), &first)
	if errors.Is(err, errNotFound) {
		// 404 for an unknown commit and for a repository the token
		// cannot see alike: reading the repository tells them apart.
		var repo struct {
			FullName string `json:"full_name"`
		}
		switch err := w.get(ctx, g.BaseURL+"/repos/"+g.Repository, &repo); {
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
	w.add(first.Files)
	if len(first.Files) < CompareFilesCap || w.everything != "" {
		return w.result(), nil
	}
	// The list may be cut at GitHub's 300, whatever else the answer
	// says: walk the commits.
	switch {
	case first.TotalCommits < 1:
		w.everything = fmt.Sprintf("GitHub's comparison lists %d changed files, the most it lists, so its list may be cut, and it counts no commit to read one by one", len(first.Files))
		return w.result(), nil
	case first.TotalCommits > MaxWalkedCommits:
		w.everything = fmt.Sprintf("GitHub lists at most %d changed files for a comparison, and this one has %d commits, more than the %d walked one by one", CompareFilesCap, first.TotalCommits, MaxWalkedCommits)
		return w.result(), nil
	}
	shas, err := w.commits(ctx, base, head, first)
	if err != nil || w.everything != "" {
		return w.result(), err
	}
	for _, sha := range shas {
		if err := w.commitFiles(ctx, sha); err != nil || w.everything != "" {
			return w.result(), err
		}
		w.walked++
	}
	return w.result(), nil
}

// walk is one comparison under way.
type walk struct {
	g          *GitHub
	status     string
	paths      []string
	seen       map[string]bool
	everything string
	walked     int
	requests   int
}

func (w *walk) result() Comparison {
	if w.everything != "" {
		w.paths = nil
	}
	return Comparison{Status: w.status, Paths: w.paths, Everything: w.everything, Walked: w.walked, Requests: w.requests}
}

type fileEntry struct {
	Filename         string `json:"filename"`
	Status           string `json:"status"`
	PreviousFilename string `json:"previous_filename"`
}

type compareAnswer struct {
	Status       string `json:"status"`
	TotalCommits int    `json:"total_commits"`
	Commits      []struct {
		SHA string `json:"sha"`
	} `json:"commits"`
	Files []fileEntry `json:"files"`
}

// add keeps the paths of files: every status counts (a removed page must
// stop being served from cache), and a rename its old path too (gone
// from the site). A copy's source did not change: only the copy counts.
func (w *walk) add(files []fileEntry) {
	for _, f := range files {
		paths := []string{f.Filename}
		if f.Status == "renamed" {
			paths = []string{f.PreviousFilename, f.Filename}
		}
		for _, p := range paths {
			if p == "" || w.seen[p] {
				continue
			}
			if len(w.paths) >= MaxPaths {
				w.everything = fmt.Sprintf("more than %d changed paths", MaxPaths)
				return
			}
			w.seen[p] = true
			w.paths = append(w.paths, p)
		}
	}
}

// commits lists the comparison's commits, page by page (the first page
// is already read; first.TotalCommits is at most MaxWalkedCommits). Only
// pages that list exactly the distinct commits the comparison counts
// give every commit: a page that lists a commit again, or pages that
// list more or fewer than counted, leave some commits unread, so they
// set w.everything instead.
func (w *walk) commits(ctx context.Context, base, head string, first compareAnswer) ([]string, error) {
	var shas []string
	listed := map[string]bool{}
	answer := first
	for page := 1; len(shas) < first.TotalCommits; page++ {
		if page > 1 {
			answer = compareAnswer{}
			if err := w.get(ctx, w.compareURL(base, head, page), &answer); err != nil {
				return nil, notFound(err, fmt.Sprintf("page %d of the comparison", page))
			}
		}
		if len(answer.Commits) == 0 {
			break
		}
		for _, c := range answer.Commits {
			if !IsSHA(c.SHA) {
				return nil, fmt.Errorf("GitHub's comparison lists commit %s, which is not a commit SHA", safetext.Quote(c.SHA))
			}
			sha := strings.ToLower(c.SHA) // in capitals it names the same commit
			if listed[sha] {
				w.everything = fmt.Sprintf("page %d of GitHub's comparison lists commit %s again, so some of its %d commits may be on no page", page, c.SHA, first.TotalCommits)
				return nil, nil
			}
			listed[sha] = true
			shas = append(shas, c.SHA)
		}
	}
	if len(shas) != first.TotalCommits {
		w.everything = fmt.Sprintf("the pages of GitHub's comparison list %d commits, not the %d it counts", len(shas), first.TotalCommits)
		return nil, nil
	}
	return shas, nil
}

// commitFiles adds the files of one commit, page by page.
func (w *walk) commitFiles(ctx context.Context, sha string) error {
	count := 0
	for page := 1; page <= maxFilePages; page++ {
		var answer struct {
			Files []fileEntry `json:"files"`
		}
		u := fmt.Sprintf("%s/repos/%s/commits/%s?per_page=%d&page=%d", w.g.BaseURL, w.g.Repository, sha, perPage, page)
		next, err := w.getPage(ctx, u, &answer)
		if err != nil {
			return notFound(err, "commit "+sha)
		}
		w.add(answer.Files)
		count += len(answer.Files)
		if w.everything != "" {
			return nil
		}
		if count >= CommitFilesCap {
			w.everything = fmt.Sprintf("commit %s changes %d files or more, the most GitHub lists for a commit", sha, CommitFilesCap)
			return nil
		}
		if !next || len(answer.Files) == 0 {
			return nil
		}
	}
	w.everything = fmt.Sprintf("commit %s lists its files in more than %d pages", sha, maxFilePages)
	return nil
}

// compareURL is the compare API's URL for one page. The refs are checked
// by the caller and escaped anyway, segment by segment (a branch name may
// hold slashes).
func (w *walk) compareURL(base, head string, page int) string {
	return fmt.Sprintf("%s/repos/%s/compare/%s...%s?per_page=%d&page=%d", w.g.BaseURL, w.g.Repository, escapeRef(base), escapeRef(head), perPage, page)
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

func (w *walk) get(ctx context.Context, u string, into any) error {
	_, err := w.getPage(ctx, u, into)
	return err
}

// getPage reads one answer into into, retrying as Cloudflare requests
// are, and reports whether the answer links a next page (its Link
// header is read for rel="next" only; its URLs are never followed).
func (w *walk) getPage(ctx context.Context, u string, into any) (next bool, err error) {
	return backoff.Retry(ctx, func() (bool, error) {
		if w.requests >= MaxRequests {
			return false, backoff.Permanent(fmt.Errorf("the comparison needs more than %d requests to GitHub", MaxRequests))
		}
		w.requests++
		next, err := w.g.once(ctx, u, into)
		if err == nil {
			return next, nil
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
}

// notFound words a 404 where only an answer makes sense.
func notFound(err error, what string) error {
	if errors.Is(err, errNotFound) {
		return &APIError{Status: http.StatusNotFound, Message: "Not Found (" + what + ")"}
	}
	return err
}

// errAnswer marks an answer that is not what the API documents.
var errAnswer = errors.New("unexpected answer from GitHub")

// once sends one GET.
func (g *GitHub) once(ctx context.Context, u string, into any) (next bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, retry.CompareAttempt)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("%w: building the request: %w", errAnswer, err)
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
			return false, err // nothing was sent: not a failure to answer
		}
		return false, fmt.Errorf("GitHub did not answer: %w", err)
	}
	defer resp.Body.Close()
	limit := g.MaxAnswerBytes
	if limit <= 0 {
		limit = DefaultMaxAnswerBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return false, fmt.Errorf("reading GitHub's answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, errNotFound
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return false, apiError(resp, body, time.Now())
	case len(body) > limit:
		return false, fmt.Errorf("%w: an answer larger than %d bytes", errAnswer, limit)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return false, fmt.Errorf("%w: not the JSON the API documents (%w)", errAnswer, err)
	}
	return hasNext(resp.Header.Values("Link")), nil
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

// hasNext reports whether a Link header has rel="next".
func hasNext(links []string) bool {
	for _, l := range links {
		for part := range strings.SplitSeq(l, ",") {
			for param := range strings.SplitSeq(part, ";") {
				if strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(param), " ", ""), `rel="next"`) {
					return true
				}
			}
		}
	}
	return false
}
