package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// Verify is what the verify input asks for.
type Verify string

// The verify modes; the zero value checks nothing.
const (
	VerifyNone Verify = ""
	VerifyWarn Verify = "warn"
	VerifyFail Verify = "fail"
)

// Checks are the requests to the user's own site around the purge: the
// wait-for, wait-for-text, verify, verify-urls, warm and on-error inputs.
// The zero value asks for none of them.
type Checks struct {
	// WaitFor is a URL to poll, before anything is purged, until it
	// answers 2xx and (when WaitForText is set) its body holds WaitForText.
	WaitFor     string
	WaitForText string
	Verify      Verify
	// VerifyURLs are the URLs verify and warm request, with cache-key
	// headers; nil means the sitemap's URLs, else the purged URLs (a
	// files purge only).
	VerifyURLs []cloudflare.Target
	// Sitemap is a sitemap's (or sitemap index's) URL, "" for none: its
	// URLs are targets of a files purge and the URLs to check when
	// verify-urls is empty. SitemapSince keeps those whose lastmod is at
	// or after it (zero: all).
	Sitemap      string
	SitemapSince time.Time
	Warm         bool
	// OnErrorWarn turns a failure after the inputs were accepted (wait-for
	// never matched, the purge failed, verify: fail found stale URLs) into
	// a warning and exit 0.
	OnErrorWarn bool
}

// checks reads the inputs of the checks around the purge.
func (v *validator) checks(in Inputs, typ cloudflare.PurgeType) Checks {
	c := Checks{
		WaitFor:     v.waitFor(in.WaitFor),
		WaitForText: in.WaitForText,
		Verify:      v.verify(in.Verify),
		Warm:        v.boolean("warm", in.Warm),
		OnErrorWarn: v.onError(in.OnError),
	}
	if c.WaitForText != "" && in.WaitFor == "" {
		v.add("wait-for-text", "is set but wait-for is empty; give wait-for the URL whose body must hold this text")
	}
	if len(c.WaitForText) > maxWaitForText {
		v.add("wait-for-text", "is %d bytes; at most %d (the most of a body wait-for reads)", len(c.WaitForText), maxWaitForText)
	}
	checking := c.Verify != VerifyNone || c.Warm
	c.Sitemap, c.SitemapSince = v.sitemap(in, typ, checking)
	switch {
	case strings.TrimSpace(in.VerifyURLs) != "" && !checking:
		v.add("verify-urls", "is set, but neither verify nor warm is on; set verify: warn or fail, or warm: true, or leave verify-urls empty")
	case strings.TrimSpace(in.VerifyURLs) != "":
		list := targets.NewList(cloudflare.Files)
		if len(in.VerifyURLs) > maxInputBytes {
			v.add("verify-urls", "is %d bytes; an input can hold at most %d", len(in.VerifyURLs), maxInputBytes)
		} else if err := list.Add(in.VerifyURLs); err != nil {
			v.add("verify-urls", "%v", err)
		}
		c.VerifyURLs = list.Targets()
		v.verifyURLsSecure(c.VerifyURLs)
	case checking && typ != "" && typ != cloudflare.Files && c.Sitemap == "":
		v.add("verify-urls", "is needed with verify or warm when purge-type is %s: only a files purge names the URLs to check; give them one a line, like https://www.example.com/, or give a sitemap", typ)
	}
	return c
}

// verifyURLsSecure refuses a plain http:// URL to a host that is not
// loopback among the verify-urls given: it could be answered by anything
// on the way, and is never requested, so a user who names one asks for a
// check that cannot be made. (URLs taken from a files purge's targets are
// not refused: those are purged, and only their check is skipped, said
// once.)
func (v *validator) verifyURLsSecure(urls []cloudflare.Target) {
	for _, t := range urls {
		u, err := url.Parse(t.Value)
		if err == nil && u.Scheme == "http" && !targets.IsLoopback(u.Hostname()) {
			v.add("verify-urls", "%s uses plain http:// to a host that is not loopback, which is never requested; want https:// URLs like https://www.example.com/", safetext.Quote(t.Value))
			return
		}
	}
}

// sitemap checks the sitemap's URL (siteURL: the rules of every URL
// requested from the site) and
// sitemap-since (an RFC 3339 time, or a duration back from now). A
// sitemap must be of use: the targets of a files purge, or the URLs of
// verify or warm.
func (v *validator) sitemap(in Inputs, typ cloudflare.PurgeType, checking bool) (string, time.Time) {
	raw, sinceText := strings.TrimSpace(in.Sitemap), strings.TrimSpace(in.SitemapSince)
	var since time.Time
	if sinceText != "" {
		if raw == "" {
			v.add("sitemap-since", "is set but sitemap is empty; give sitemap the URL of the sitemap whose URLs it filters")
		}
		if t, err := time.Parse(time.RFC3339, sinceText); err == nil {
			since = t
		} else if d, err := time.ParseDuration(sinceText); err == nil && d > 0 {
			since = time.Now().Add(-d)
		} else {
			v.add("sitemap-since", "%s is neither an RFC 3339 time nor a duration; want a time like 2026-12-01T00:00:00Z or a duration back from now like 24h", safetext.Quote(sinceText))
		}
	}
	if raw == "" {
		return "", since
	}
	if raw = v.siteURL("sitemap", raw, "https://www.example.com/sitemap.xml"); raw == "" {
		return "", since
	}
	if typ != "" && typ != cloudflare.Files && !checking {
		v.add("sitemap", "is set, but purge-type is %s and neither verify nor warm is on: its URLs would be of no use; use purge-type files, or verify or warm", typ)
		return "", since
	}
	return raw, since
}

// maxWaitForText is the most of a wait-for body read (site.MaxWaitBody):
// a longer text could never be found in it.
const maxWaitForText = 1 << 20

// waitFor checks the one URL to wait for (siteURL).
func (v *validator) waitFor(s string) string {
	if s == "" {
		return ""
	}
	return v.siteURL("wait-for", s, "https://www.example.com/version.txt")
}

// siteURL is the one rule for a URL that input names for the action to
// request from the user's site (wait-for, sitemap), or "" after it
// reported why not: https, or plain http to a loopback host, as for
// api-url (a plain http:// URL elsewhere could be answered by anything on
// the way, and is never requested); no credentials, white space or
// #fragment. example is a valid one, for the message.
func (v *validator) siteURL(input, s, example string) string {
	want := "an https:// URL like " + example
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.add(input, "%s is not %s", safetext.Quote(s), want)
	case u.User != nil:
		v.add(input, "%s must not hold credentials; want %s", safetext.Quote(s), want)
	case strings.ContainsAny(s, "\r\n\t "), u.Fragment != "" || strings.HasSuffix(s, "#"):
		v.add(input, "%s has white space or a #fragment; want %s", safetext.Quote(s), want)
	case u.Scheme == "http" && !targets.IsLoopback(u.Hostname()):
		v.add(input, "%s uses plain http:// to a host that is not loopback; want %s", safetext.Quote(s), want)
	default:
		return s
	}
	return ""
}

func (v *validator) verify(s string) Verify {
	switch m := Verify(strings.ToLower(s)); m {
	case "none", "":
		return VerifyNone
	case VerifyWarn, VerifyFail:
		return m
	}
	v.add("verify", "%s is not a verify mode; want none, warn (stale URLs make a warning) or fail (stale URLs fail the step)", safetext.Quote(s))
	return VerifyNone
}

func (v *validator) onError(s string) bool {
	switch strings.ToLower(s) {
	case "fail", "":
		return false
	case "warn":
		return true
	}
	v.add("on-error", "%s is not fail or warn; want fail (a failure fails the step) or warn (a warning, exit 0)", safetext.Quote(s))
	return false
}
