// Package sitemap reads the URLs of a site from its sitemap, as the
// sitemaps.org protocol defines it: a urlset, or a sitemap index whose
// sitemaps are urlsets, each XML or gzip (told by its first bytes, not
// its name).
//
// Every request is the site package's (site.Client.Get): no credentials,
// the action's User-Agent, https or loopback http only, no redirect
// followed (a 3xx is an error naming its Location), Retry-After honoured
// within the context's deadline. Every byte is untrusted and bounded as
// the protocol bounds a sitemap: MaxFileBytes uncompressed and
// MaxFileURLs a file, one level of index, MaxChildren sitemaps in an
// index, MaxURLs in all. Past a bound, Read returns what it read and an
// error naming the bound (ErrBound) and the file. A file is read whole
// before it is parsed (and gzip inflated once to measure it): one past
// MaxFileBytes gives none of its URLs, and a gzip bomb costs
// milliseconds.
//
// Every <loc> is checked as a files target is (package targets): one
// that is not a URL to purge is listed as skipped, with why, never
// returned. What Read returns is safe to print on one line (values
// quoted by Options.Quote or safetext.Quote, messages folded by
// safetext.OneLine); redacting before it quotes is Options.Quote's,
// Markdown escaping the caller's.
//
// It imports site, targets, cloudflare (the files purge type), retry and
// safetext, and the standard library's encoding/xml and compress/gzip.
package sitemap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
)

// The protocol's bounds, and the reader's own.
const (
	// MaxFileBytes is the most of one sitemap file, uncompressed (the
	// protocol's 50 MiB); the compressed bytes are held to it too. A
	// file past it is not parsed.
	MaxFileBytes = 50 << 20
	// MaxFileURLs is the most <url> entries of one file (the protocol's).
	MaxFileURLs = 50_000
	// MaxChildren is the most sitemaps of an index read (the protocol
	// allows 50,000; a site's deploy needs far fewer).
	MaxChildren = 100
	// MaxURLs is the most URLs returned in all, after duplicates and
	// Since's filter are left out.
	MaxURLs = 100_000
	// MaxLocBytes bounds a <loc>: the protocol's "less than 2,048
	// characters", counted in bytes after trimming.
	MaxLocBytes = 2048
	// MaxSkipsShown is how many skipped <loc>s a Result lists; the rest
	// are counted (SkippedCount), so a sitemap of bad entries costs no
	// memory for them.
	MaxSkipsShown = 100
	// maxParallel is the most files read at once (fewer when the
	// client's Concurrency is lower): each holds its body (up to
	// MaxFileBytes) while it is parsed, and up to MaxFileURLs URLs until
	// its turn to be merged.
	maxParallel = 4
)

// Options are the caller's choices.
type Options struct {
	// SameHost skips every URL whose host is not its sitemap's (the
	// protocol's rule). Turn it on when there is no other check of where
	// a URL belongs (zones given by ID only).
	SameHost bool
	// Since, when not zero, leaves out URLs whose <lastmod> is before it.
	// A URL without one, or with one that is not a W3C datetime, is kept;
	// a date without a time is kept when since falls on or before that
	// day (UTC), as is a year or a month.
	Since time.Time
	// Quote shows a value from the site in a Skip: the caller's, which
	// redacts its secrets on the raw text before it quotes (as
	// safetext's order has it). safetext.Quote when nil.
	Quote func(string) string
}

// URL is one <url> of a sitemap.
type URL struct {
	// Loc is the URL, trimmed; it passed the files target checks.
	Loc string
	// LastMod is <lastmod>: zero when absent or not a W3C datetime; a
	// date without a time is its first instant in UTC.
	LastMod time.Time
	// Priority is <priority>, 0.0 to 1.0: 0.5 when absent or out of range.
	Priority float64
	// Sitemap is the URL of the file that listed it.
	Sitemap string
}

// Skip is a <loc> not taken, and why. Every field is safe to print on one
// line.
type Skip struct {
	// Sitemap is the file's URL, and Loc the value as read (trimmed; one
	// longer than MaxLocBytes cut short, and all after its scheme hidden
	// when its host did not end before the cut), both as Options.Quote
	// shows them: by default safetext.Quote's quoted, escaped, cut short,
	// credentials hidden.
	Sitemap, Loc string
	// Why is the reason; it may quote the value again (with
	// safetext.Quote, as package targets words it).
	Why string
}

// Result is what Read got.
type Result struct {
	// URLs are the sitemaps' URLs in the order read (an index's sitemaps
	// in the index's order), each once (the first kept), without those
	// skipped or left out by Since. ByImportance orders them.
	URLs []URL
	// Sitemaps are the files requested, in order: the one given, then
	// an index's sitemaps (their URLs as listed), but for those the
	// MaxURLs bound cancelled.
	Sitemaps []string
	// Skipped are the first MaxSkipsShown <loc>s not taken (a URL or a
	// child sitemap); SkippedCount counts them all.
	Skipped      []Skip
	SkippedCount int
	// Older counts the URLs Since left out; Duplicates those listed
	// again (in any file); LastModUnread the <lastmod>s that are not a
	// W3C datetime (their URLs kept, as without one).
	Older, Duplicates, LastModUnread int
}

// ErrBound marks a sitemap past one of the bounds: what was read before
// it is returned, the rest is not read.
var ErrBound = errors.New("past a bound of the sitemaps protocol")

// The bounds, each an ErrBound.
var (
	ErrFileTooLarge    error = bound(fmt.Sprintf("more than %d MiB uncompressed (the protocol's bound); none of it read", MaxFileBytes>>20))
	ErrFileTooManyURLs error = bound(fmt.Sprintf("more than %d URLs (the protocol's bound); the first %d read", MaxFileURLs, MaxFileURLs))
	ErrTooManyChildren error = bound(fmt.Sprintf("lists more than %d sitemaps; the first %d read", MaxChildren, MaxChildren))
	ErrTooManyURLs     error = bound(fmt.Sprintf("more than %d URLs in all; the first %d kept", MaxURLs, MaxURLs))
	ErrNestedIndex     error = bound("a sitemap index inside a sitemap index (one level only); not read")
)

type bound string

func (b bound) Error() string        { return string(b) }
func (b bound) Is(target error) bool { return target == ErrBound }

// Error is why one file was not read, or not read whole. Error() quotes
// Sitemap with safetext.Quote; a caller with secrets to redact first
// takes Sitemap and Err apart.
type Error struct {
	// Sitemap is the file's URL, as given or listed: raw.
	Sitemap string
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("sitemap %s: %v", safetext.Quote(e.Sitemap), e.Err)
}

// Unwrap returns why.
func (e *Error) Unwrap() error { return e.Err }

// RedirectError is a sitemap answered with a redirect, which no request
// to the site follows.
type RedirectError struct {
	Status int
	// Location is where it points, resolved against the sitemap's URL,
	// with any credentials in it hidden (safetext.HideUserinfo).
	Location string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("HTTP %d, a redirect to %s, not followed (give the sitemap's own URL)", e.Status, safetext.Quote(e.Location))
}

// Read reads the sitemap at rawURL through c: a urlset, or an index and
// each of its sitemaps (up to 4 at once, never more than c's
// Concurrency), all within ctx. A rawURL that site.Requestable refuses
// (not https, credentials in it) is an error, and nothing is requested.
//
// It returns every URL read, even when err is not nil: then err says
// which files were not read whole, and why, one *Error a file (joined by
// errors.Join); errors.Is(err, ErrBound) tells a bound from a failure.
// A caller that needs every URL (a files purge) stops on any error; one
// that only checks URLs can check those it got.
func Read(ctx context.Context, c *site.Client, rawURL string, opts Options) (Result, error) {
	if opts.Quote == nil {
		opts.Quote = safetext.Quote
	}
	r := &reader{client: c, opts: opts, seen: map[string]struct{}{}}
	if err := site.Requestable(rawURL); err != nil {
		return Result{}, &Error{Sitemap: rawURL, Err: err}
	}
	root := r.read(ctx, rawURL, true)
	r.merge(root)
	if len(root.children) > 0 {
		r.readChildren(ctx, root)
	}
	return r.res, errors.Join(r.errs...)
}

// reader is one Read's state.
type reader struct {
	client *site.Client
	opts   Options

	res  Result
	seen map[string]struct{} // every Loc in res.URLs
	errs []error
	full bool // MaxURLs reached and passed: nothing more is merged
}

// readChildren reads an index's sitemaps, a few at once, and merges
// each in the index's order as soon as it and those before it are read:
// what is kept does not depend on which answer came first.
func (r *reader) readChildren(parent context.Context, index *file) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	children := index.children
	done := make([]chan *file, len(children))
	started := 0
	start := func() {
		if started == len(children) || ctx.Err() != nil {
			return
		}
		i := started
		done[i] = make(chan *file, 1)
		go func() { done[i] <- r.read(ctx, children[i], false) }()
		started++
	}
	for range min(r.client.Concurrency(), maxParallel) {
		start()
	}
	merged := 0
	for ; merged < started; merged++ {
		f := <-done[merged]
		if r.full {
			continue // cancelled: its error says nothing more
		}
		r.merge(f)
		if r.full {
			cancel() // the rest could add nothing
			continue
		}
		start()
	}
	if left := len(children) - started; left > 0 && !r.full && parent.Err() != nil {
		r.errs = append(r.errs, &Error{Sitemap: index.url, Err: fmt.Errorf("%d of its %d sitemaps not read: %w", left, len(children), interrupted(parent))})
	}
}

// merge adds a file's URLs, skips, counts and error to the result.
func (r *reader) merge(f *file) {
	r.res.Sitemaps = append(r.res.Sitemaps, f.url)
	for _, u := range f.urls {
		if _, dup := r.seen[u.Loc]; dup {
			r.res.Duplicates++
			continue
		}
		if len(r.res.URLs) == MaxURLs {
			r.full = true
			r.errs = append(r.errs, &Error{Sitemap: f.url, Err: ErrTooManyURLs})
			break
		}
		r.seen[u.Loc] = struct{}{}
		r.res.URLs = append(r.res.URLs, u)
	}
	r.res.Skipped = append(r.res.Skipped, f.skips[:min(len(f.skips), MaxSkipsShown-len(r.res.Skipped))]...)
	r.res.SkippedCount += f.skipCount
	r.res.Older += f.older
	r.res.LastModUnread += f.lastModUnread
	if f.err != nil {
		r.errs = append(r.errs, f.err)
	}
}

// ByImportance orders urls most important first: by Priority, highest
// first, then LastMod, newest first (none last); stable, so equals keep
// the sitemap's order.
func ByImportance(urls []URL) {
	slices.SortStableFunc(urls, func(a, b URL) int {
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		return b.LastMod.Compare(a.LastMod)
	})
}
