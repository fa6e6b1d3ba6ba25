package sitemap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/retry"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/site"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// maxLocText is the most text of a <loc> kept while it is read: past
// MaxLocBytes it is skipped anyway, and a 300 KB one costs no more.
const maxLocText = MaxLocBytes + 1024

// file is what one sitemap file gave, before it is merged.
type file struct {
	url      string
	host     string              // url's host, as targets.Host gives it
	quote    func(string) string // Options.Quote
	urls     []URL               // its <url>s that passed, Since's filter applied
	children []string
	// skips are the first MaxSkipsShown, skipCount all of them.
	skips                []Skip
	skipCount            int
	older, lastModUnread int
	err                  error // an *Error
}

// read requests one file and reads it: an index only when index is true
// (the one given), a urlset always.
func (r *reader) read(ctx context.Context, rawURL string, index bool) *file {
	f := &file{url: rawURL, host: targets.Host(cloudflare.Files, cloudflare.Target{Value: rawURL}), quote: r.opts.Quote}
	err := r.client.Get(ctx, rawURL, MaxFileBytes, func(status int, h http.Header, body io.Reader) error {
		switch {
		case status >= 300 && status <= 399:
			return &RedirectError{Status: status, Location: location(rawURL, h.Get("Location"))}
		case status < 200 || status > 299:
			return fmt.Errorf("HTTP %d", status)
		}
		return f.parse(body, index, r.opts)
	})
	if err != nil {
		f.err = &Error{Sitemap: rawURL, Err: explain(ctx, err)}
	}
	return f
}

// location is a redirect's target as the user can give it: resolved
// against the sitemap's URL, credentials hidden.
func location(base, loc string) string {
	if b, err := url.Parse(base); err == nil {
		if u, err := b.Parse(loc); err == nil {
			loc = u.String()
		}
	}
	return safetext.HideUserinfo(loc)
}

// explain words why a file was not read whole.
func explain(ctx context.Context, err error) error {
	var syntax *xml.SyntaxError
	var corrupt flate.CorruptInputError
	switch {
	case ctx.Err() != nil:
		return interrupted(ctx)
	case errors.Is(err, site.ErrTooLarge):
		return ErrFileTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("not read whole within %s, the bound of one request to the site", site.AttemptTimeout)
	case errors.As(err, &syntax):
		return fmt.Errorf("not well-formed XML (line %d: %s)", syntax.Line, safetext.OneLine(syntax.Msg, 120))
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.As(err, &corrupt):
		return fmt.Errorf("gzip data that does not decompress (%s)", safetext.OneLine(err.Error(), 120))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("cut short: the file ends in the middle")
	}
	var sentinel bound
	var redirect *RedirectError
	var charset notUTF8
	switch {
	case errors.As(err, &charset):
		return charset
	case errors.As(err, &sentinel), errors.As(err, &redirect):
		return err
	}
	return &folded{text: safetext.OneLine(err.Error(), 200), err: err}
}

// folded is an error whose text may hold what the site sent (a transport
// error quotes a malformed answer), shown on one line; errors.Is and
// errors.As still see the error itself (*outbound.RefusedError,
// site.ErrCredentials).
type folded struct {
	text string
	err  error
}

func (e *folded) Error() string { return e.text }
func (e *folded) Unwrap() error { return e.err }

// interrupted words what ended ctx: the timeout, or a cancellation.
func interrupted(ctx context.Context) error { return retry.Interrupted(context.Cause(ctx)) }

// parse reads one file's body: gzip when it starts with gzip's magic
// bytes, else XML.
//
// The body is read whole, and gzip inflated once to measure it, before
// the XML reader sees a byte: a file past MaxFileBytes, or a few KB of
// gzip that inflate to a GiB, is refused in milliseconds, where the XML
// reader, a hundred times slower than inflating, would spend seconds and
// buffer a comment or a text as long as the file.
func (f *file) parse(body io.Reader, index bool, opts Options) error {
	raw, err := io.ReadAll(body) // at most MaxFileBytes: site.Get's bound
	if err != nil {
		return err
	}
	var in io.Reader = bytes.NewReader(raw)
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		if n, err := io.Copy(io.Discard, io.LimitReader(zr, MaxFileBytes+1)); err != nil {
			return err
		} else if n > MaxFileBytes {
			return ErrFileTooLarge
		}
		zr, _ = gzip.NewReader(bytes.NewReader(raw)) // read once already: no error
		in = bufio.NewReaderSize(zr, 64<<10)
	}
	d := xml.NewDecoder(in)
	d.CharsetReader = utf8Only
	root, err := rootElement(d)
	if err != nil {
		return err
	}
	switch {
	case root.Name.Local == "sitemapindex" && !index:
		return ErrNestedIndex
	case root.Name.Local == "sitemapindex":
		return f.readIndex(d, root.Name.Space)
	case root.Name.Local == "urlset":
		return f.readURLs(d, root.Name.Space, opts)
	}
	return fmt.Errorf("not a sitemap: its root element is <%s>, not <urlset> or <sitemapindex>", safetext.OneLine(root.Name.Local, 40))
}

// utf8Only is the XML reader's CharsetReader, asked for any encoding a
// file declares but UTF-8: a sitemap is UTF-8 (the protocol's rule), of
// which US-ASCII is a part.
func utf8Only(charset string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii":
		return in, nil
	}
	return nil, notUTF8(fmt.Sprintf("declares the encoding %s; a sitemap is UTF-8 (the protocol's rule)", safetext.Quote(charset)))
}

// notUTF8 is utf8Only's error, told from the XML reader's words around it.
type notUTF8 string

func (e notUTF8) Error() string { return string(e) }

// rootElement is the document's first element.
func rootElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, errors.New("not a sitemap: no XML element in it")
		}
		if err != nil {
			return xml.StartElement{}, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return start, nil
		}
	}
}

// entry is the fields of one <url> or <sitemap> that the reader reads.
type entry struct {
	loc, lastmod, priority []byte
	hasLoc, locCut         bool
}

// readEntries calls each for every entry (element local, in namespace
// ns) directly inside the root element, until the root ends or each
// returns an error. Other elements (an image's <image:loc>, anything of
// another namespace) are skipped.
func readEntries(d *xml.Decoder, ns, local string, each func(*entry) error) error {
	var e entry
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil // the root's: the rest is not read
		case xml.StartElement:
			if t.Name.Space != ns || t.Name.Local != local {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			e = entry{loc: e.loc[:0], lastmod: e.lastmod[:0], priority: e.priority[:0]}
			if err := readEntry(d, ns, &e); err != nil {
				return err
			}
			if err := each(&e); err != nil {
				return err
			}
		}
	}
}

// readEntry reads the fields of one entry up to its end: the first of
// each, its text kept up to a bound.
func readEntry(d *xml.Decoder, ns string, e *entry) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			var field *[]byte
			limit := 64 // lastmod and priority: a W3C datetime is 35 bytes at most
			switch {
			case t.Name.Space != ns:
			case t.Name.Local == "loc" && !e.hasLoc:
				field, limit, e.hasLoc = &e.loc, maxLocText, true
			case t.Name.Local == "lastmod" && len(e.lastmod) == 0:
				field = &e.lastmod
			case t.Name.Local == "priority" && len(e.priority) == 0:
				field = &e.priority
			}
			if field == nil {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			cut, err := readText(d, field, limit)
			if err != nil {
				return err
			}
			if field == &e.loc {
				e.locCut = cut
			}
		}
	}
}

// readText appends the text of the element just started to buf, up to
// its end, keeping at most max bytes (leading white space not counted);
// cut says there was more.
func readText(d *xml.Decoder, buf *[]byte, max int) (cut bool, err error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return cut, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return cut, nil
		case xml.StartElement:
			if err := d.Skip(); err != nil {
				return cut, err
			}
		case xml.CharData:
			if len(*buf) == 0 {
				t = bytes.TrimLeftFunc(t, unicode.IsSpace)
			}
			room := max - len(*buf)
			if len(t) > room {
				t, cut = t[:room], true
			}
			*buf = append(*buf, t...)
		}
	}
}

// readURLs reads a urlset's <url>s.
func (f *file) readURLs(d *xml.Decoder, ns string, opts Options) error {
	n := 0
	return readEntries(d, ns, "url", func(e *entry) error {
		if n++; n > MaxFileURLs {
			return ErrFileTooManyURLs
		}
		if !e.hasLoc {
			f.skip("", "a <url> without a <loc>")
			return nil
		}
		loc, why := checkLoc(e.loc, e.locCut)
		if why == "" && opts.SameHost && targets.Host(cloudflare.Files, cloudflare.Target{Value: loc}) != f.host {
			why = fmt.Sprintf("on another host than its sitemap's (%s)", safetext.Quote(f.host))
		}
		if why != "" {
			f.skip(shown(e.loc, e.locCut), why)
			return nil
		}
		u := URL{Loc: loc, Priority: 0.5, Sitemap: f.url}
		if lastmod := bytes.TrimSpace(e.lastmod); len(lastmod) > 0 {
			t, end, ok := parseW3C(string(lastmod))
			switch {
			case !ok:
				f.lastModUnread++
			case !opts.Since.IsZero() && !end.After(opts.Since):
				f.older++
				return nil
			default:
				u.LastMod = t
			}
		}
		if p, ok := parsePriority(e.priority); ok {
			u.Priority = p
		}
		f.urls = append(f.urls, u)
		return nil
	})
}

// readIndex reads an index's <sitemap>s: each a URL to request, on the
// index's host; the first MaxChildren of them, each once.
func (f *file) readIndex(d *xml.Decoder, ns string) error {
	seen := map[string]bool{}
	return readEntries(d, ns, "sitemap", func(e *entry) error {
		if !e.hasLoc {
			f.skip("", "a <sitemap> without a <loc>")
			return nil
		}
		loc, why := checkLoc(e.loc, e.locCut)
		switch {
		case why != "":
		case targets.Host(cloudflare.Files, cloudflare.Target{Value: loc}) != f.host:
			why = fmt.Sprintf("a sitemap on another host than its index's (%s): not requested", safetext.Quote(f.host))
		default:
			if err := site.Requestable(loc); err != nil {
				why = "a sitemap not requested: " + err.Error()
			}
		}
		if why != "" {
			f.skip(shown(e.loc, e.locCut), why)
			return nil
		}
		if seen[loc] {
			return nil
		}
		if len(f.children) == MaxChildren {
			return ErrTooManyChildren
		}
		seen[loc] = true
		f.children = append(f.children, loc)
		return nil
	})
}

func (f *file) skip(loc, why string) {
	f.skipCount++
	if len(f.skips) < MaxSkipsShown {
		f.skips = append(f.skips, Skip{Sitemap: f.quote(f.url), Loc: f.quote(loc), Why: why})
	}
}

// checkLoc trims a <loc> and checks it as a files target: the URL, or
// why it is skipped. cut says the text was longer than was kept.
func checkLoc(raw []byte, cut bool) (loc, why string) {
	raw = bytes.TrimSpace(raw)
	if cut || len(raw) > MaxLocBytes {
		return "", fmt.Sprintf("longer than %d bytes (the protocol's bound)", MaxLocBytes)
	}
	if len(raw) == 0 {
		return "", "an empty <loc>"
	}
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			return "", "not valid UTF-8"
		}
		if unicode.IsControl(r) {
			return "", fmt.Sprintf("holds a control character (U+%04X)", r)
		}
		i += size
	}
	loc = string(raw)
	// targets.Items would read a line that starts otherwise as a comment
	// or a JSON object: neither is a <loc>. One that starts so, on one
	// line, is one item.
	if lower := strings.ToLower(loc[:min(len(loc), 8)]); !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return "", "not an http(s) URL"
	}
	for it := range targets.Items(cloudflare.Files, loc) {
		if it.Err != nil {
			return "", it.Err.Error()
		}
	}
	return loc, ""
}

// shown is a skipped <loc> as it may be printed (Skip.Loc quotes it): a
// value cut short whose host never ended hides all after the scheme, for
// the user:password@ that HideUserinfo finds by its @ may lie past the cut.
func shown(raw []byte, cut bool) string {
	s := strings.TrimSpace(string(raw))
	if cut {
		if i := strings.Index(s, "://"); i >= 0 && !strings.ContainsAny(s[i+3:], "/?#") {
			s = s[:i+3]
		}
		s += "…"
	}
	return s
}
