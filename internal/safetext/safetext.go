// Package safetext is the one place where text from outside (inputs, API
// answers, error messages) is made safe to print: secrets blanked,
// quoted, folded to one line, shortened, escaped for Markdown.
//
// The order matters and every sink follows it: redact first, on the raw
// text, then shorten, fold, escape or encode. A secret cut in half by a
// shortening, or turned into `a\_b` by an escape, no longer matches a
// redaction that runs afterwards.
//
// It imports nothing of this module.
package safetext

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MinRun is the shortest part of a secret that Redact blanks on its own:
// a server that echoes a token cut short, or a message shortened before it
// reached us, still shows nothing of it longer than MinRun-1 characters.
const MinRun = 8

// Redactor blanks secrets in text.
type Redactor struct {
	secrets []string
	runs    map[string]struct{} // every MinRun-byte run of every long secret
}

// Add registers secrets; empty ones are ignored.
func (r *Redactor) Add(secrets ...string) {
	for _, s := range secrets {
		if s == "" || r.has(s) {
			continue
		}
		r.secrets = append(r.secrets, s)
		if r.runs == nil {
			r.runs = map[string]struct{}{}
		}
		for i := 0; i+MinRun <= len(s); i++ {
			r.runs[s[i:i+MinRun]] = struct{}{}
		}
	}
}

func (r *Redactor) has(s string) bool {
	for _, x := range r.secrets {
		if x == s {
			return true
		}
	}
	return false
}

// Redact replaces every secret, and every run of MinRun or more bytes
// that stands in a secret, with ***.
//
// Credentials written into a URL (https://user:password@host/) are hidden
// too, whether or not they were registered: HideUserinfo.
func (r *Redactor) Redact(s string) string {
	s = HideUserinfo(s)
	if r == nil || len(r.secrets) == 0 {
		return s
	}
	hidden := make([]bool, len(s))
	any := false
	mark := func(from, to int) {
		for i := from; i < to; i++ {
			hidden[i] = true
		}
		any = true
	}
	for _, secret := range r.secrets {
		if len(secret) >= MinRun {
			continue // covered by the runs below
		}
		for i := 0; ; {
			j := strings.Index(s[i:], secret)
			if j < 0 {
				break
			}
			mark(i+j, i+j+len(secret))
			i += j + 1
		}
	}
	for i := 0; i+MinRun <= len(s); i++ {
		if _, ok := r.runs[s[i:i+MinRun]]; ok {
			mark(i, i+MinRun)
		}
	}
	if !any {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hidden[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("***")
		for i < len(s) && hidden[i] {
			i++
		}
	}
	// A run boundary may fall inside a multi-byte character.
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// OneLine makes text safe for one log line or annotation: control
// characters (line breaks included, which could otherwise start a
// workflow command) become spaces, runs of space fold into one, invalid
// UTF-8 is replaced, and the result is cut to max runes with an ellipsis.
// Redact before calling it.
func OneLine(s string, max int) string {
	var b strings.Builder
	space, n := false, 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		// A pending space counts too: it must not be the max-th rune
		// with the next one past the cut.
		if n >= max || space && n+1 >= max {
			b.WriteString("…")
			return b.String()
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Quote shows an input value in a message: quoted, with anything
// unprintable escaped, and cut short (on a character boundary) so one
// huge line cannot flood the log. Never quote a secret.
func Quote(s string) string {
	s = HideUserinfo(s)
	const max = 120
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// userinfo is the user[:password]@ of a URL's authority: after the
// scheme's //, up to the last @ before the path, query or fragment (the
// last, as url.Parse reads it).
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s"]*@`)

// HideUserinfo writes the credentials of every URL in s as ***:
// https://user:password@host/ becomes https://***@host/. Inputs that
// hold them are refused, and the refusal must not print them.
func HideUserinfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}***@")
}

// Markdown keeps text from being read as markup in a job summary.
func Markdown(s string) string { return markdownEscaper.Replace(s) }

// The backslash is escaped too: kept as it is, `\[` would become `\\[`,
// an escaped backslash followed by a [ that starts a link.
var markdownEscaper = strings.NewReplacer("\\", "\\\\", "`", "'", "<", "&lt;", ">", "&gt;", "|", "\\|", "*", "\\*", "_", "\\_", "[", "\\[")
