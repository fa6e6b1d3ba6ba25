package safetext_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

const (
	token = "Sn3lcBUx9Kq2ZZtop77q" // 20 bytes: redacted by its runs too
	key   = "k3yOfTheLegacyPair0"
	short = "pw1x7" // shorter than MinRun: redacted only whole
)

func redactor(secrets ...string) *safetext.Redactor {
	r := &safetext.Redactor{}
	r.Add(secrets...)
	return r
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"whole secret", []string{token}, "Bearer " + token + " refused", "Bearer *** refused"},
		{"every occurrence", []string{token}, token + "," + token, "***,***"},
		{"first 8 bytes", []string{token}, "echo " + token[:8] + "!", "echo ***!"},
		{"last 8 bytes", []string{token}, "echo " + token[len(token)-8:] + "!", "echo ***!"},
		{"an 8-byte run from the middle", []string{token}, "echo " + token[5:13] + "!", "echo ***!"},
		{"a secret cut short", []string{token}, "token " + token[:12] + "…", "token ***…"},
		{"7 bytes of a long secret stay", []string{token}, "echo " + token[:7] + "!", "echo " + token[:7] + "!"},
		{"short secret whole", []string{short}, "a " + short + " b", "a *** b"},
		{"short secret inside a word", []string{short}, "x" + short + "y", "x***y"},
		{"short secret only whole", []string{short}, "a " + short[:4] + " b", "a " + short[:4] + " b"},
		{"overlapping occurrences of a short secret", []string{"aba"}, "ababa", "***"},
		{"several secrets", []string{token, key, short}, key + " " + token + " " + short, "*** *** ***"},
		{"adjacent secrets make one ***", []string{token, key}, "<" + token + key + ">", "<***>"},
		{"overlapping runs collapse into one ***", []string{token}, "x" + token[:14] + token[6:] + "y", "x***y"},
		{"the secret twice in a row", []string{token}, token + token, "***"},
		{"no secret in the text", []string{token}, "nothing here", "nothing here"},
		{"empty text", []string{token}, "", ""},
		{"empty secret is ignored", []string{""}, "text", "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := redactor(tt.secrets...).Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactWithoutSecrets(t *testing.T) {
	t.Parallel()
	var nilRedactor *safetext.Redactor
	for name, r := range map[string]*safetext.Redactor{"nil": nilRedactor, "zero": {}, "only empty": redactor("", "")} {
		if got := r.Redact("a " + token); got != "a "+token {
			t.Errorf("%s redactor: Redact = %q, want the text unchanged", name, got)
		}
	}
}

func TestRedactAddTwiceIsOnce(t *testing.T) {
	t.Parallel()
	r := redactor(token)
	r.Add(token, token)
	if got := r.Redact(token); got != "***" {
		t.Errorf("Redact = %q, want ***", got)
	}
}

// A run may start inside a multi-byte character of the text: what is left
// of that character must not make the result invalid UTF-8.
func TestRedactKeepsUTF8Valid(t *testing.T) {
	t.Parallel()
	secret := "ÿabcdefgh" // ÿ is C3 BF
	// ¿ is C2 BF: its second byte begins a run of the secret.
	got := redactor(secret).Redact("x¿abcdefgh")
	if !utf8.ValidString(got) {
		t.Fatalf("Redact = %q, not valid UTF-8", got)
	}
	if strings.Contains(got, "abcdefg") {
		t.Errorf("Redact = %q still shows the run", got)
	}
	if got != "x\uFFFD***" {
		t.Errorf("Redact = %q, want %q", got, "x\uFFFD***")
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "plain", 100, "plain"},
		{"line breaks", "a\nb\r\nc", 100, "a b c"},
		{"a line break cannot start a workflow command", "x\n::add-mask::y", 100, "x ::add-mask::y"},
		{"folds runs of space, trims the ends", "  lead  and \t  trail  ", 100, "lead and trail"},
		{"C0 controls", "\x00nul\x1b[31m", 100, "nul [31m"},
		{"C1 control and NEL", "a\u009bb\u0085c", 100, "a b c"},
		{"Unicode line and paragraph separators", "a\u2028b\u2029c", 100, "a b c"},
		{"no-break and ideographic space", "a\u00a0b\u3000c", 100, "a b c"},
		{"cut with an ellipsis", "abcdefghij", 5, "abcde…"},
		{"exactly max is not cut", "abcde", 5, "abcde"},
		{"trailing space is not counted", "abcde \n", 5, "abcde"},
		{"cut counts runes, not bytes", "éééééé", 3, "ééé…"},
		{"cut right after a space drops it", "ab cd", 3, "ab…"},
		{"invalid UTF-8", "bad \xff utf8", 100, "bad \uFFFD utf8"},
		{"invalid UTF-8 then cut", "bad \xff utf8", 5, "bad \uFFFD…"},
		{"only space", " \n\t ", 10, ""},
		{"empty", "", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := safetext.OneLine(tt.in, tt.max); got != tt.want {
				t.Errorf("OneLine(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

// OneLine's promise, for texts the table does not list: valid UTF-8, one
// line without control characters, at most max runes before the ellipsis.
func TestOneLineBounds(t *testing.T) {
	t.Parallel()
	texts := []string{
		"a b c d e f g h i j k",
		"ab  cd\n\nef\r\ngh",
		strings.Repeat("x ", 50),
		strings.Repeat("\xff\x00é ", 30),
		"\u2028\u2029\u0085\u00a0a",
	}
	for _, s := range texts {
		for max := 0; max <= 12; max++ {
			got := safetext.OneLine(s, max)
			if !utf8.ValidString(got) {
				t.Errorf("OneLine(%q, %d) = %q: invalid UTF-8", s, max, got)
			}
			if strings.ContainsAny(got, "\r\n\x00\u0085\u2028\u2029") {
				t.Errorf("OneLine(%q, %d) = %q: not one clean line", s, max, got)
			}
			if n := utf8.RuneCountInString(strings.TrimSuffix(got, "…")); n > max {
				t.Errorf("OneLine(%q, %d) = %q: %d runes before the ellipsis, more than %d", s, max, got, n, max)
			}
			if got != strings.TrimSpace(got) {
				t.Errorf("OneLine(%q, %d) = %q: space at an end", s, max, got)
			}
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 119) + "é" + strings.Repeat("b", 10) // é spans bytes 119-120
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "blog", `"blog"`},
		{"escapes what cannot be seen", "a\nb\x00\u2028", `"a\nb\x00\u2028"`},
		{"invalid UTF-8 escaped", "a\xffb", `"a\xffb"`},
		{"120 bytes are not cut", strings.Repeat("x", 120), `"` + strings.Repeat("x", 120) + `"`},
		{"cut at 120 bytes", strings.Repeat("x", 200), `"` + strings.Repeat("x", 120) + `"…`},
		{"cut on a character boundary", long, `"` + strings.Repeat("a", 119) + `"…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := safetext.Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// However long, a quoted value is short, and a cut never leaves half a
// character (which %q would show as \x escapes).
func TestQuoteNeverSplitsACharacter(t *testing.T) {
	t.Parallel()
	for pad := range 4 {
		s := strings.Repeat("a", pad) + strings.Repeat("日本", 100)
		got := safetext.Quote(s)
		if strings.Contains(got, `\x`) || !utf8.ValidString(got) {
			t.Errorf("Quote(%d pad) = %q: a character was split", pad, got)
		}
		if len(got) > 130 {
			t.Errorf("Quote(%d pad) is %d bytes long", pad, len(got))
		}
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"plain text", "plain text"},
		{"<img src=x> | `code` *b* [l](u)", "&lt;img src=x&gt; \\| 'code' \\*b\\* \\[l](u)"},
		{"snake_case_name", "snake\\_case\\_name"},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		// A backslash of the text must not escape the escape.
		{`\[link](https://evil.example)`, `\\\[link](https://evil.example)`},
		{`\*not bold\*`, `\\\*not bold\\\*`},
	}
	for _, tt := range tests {
		if got := safetext.Markdown(tt.in); got != tt.want {
			t.Errorf("Markdown(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Markdown after Redact: a secret holding Markdown characters is blanked
// before it can be escaped into a form the redactor no longer knows.
func TestRedactThenMarkdown(t *testing.T) {
	t.Parallel()
	secret := "Sn3l_cBU-x9Kq2_ZZtop77"
	got := safetext.Markdown(redactor(secret).Redact("token " + secret + " refused"))
	if got != "token \\*\\*\\* refused" {
		t.Errorf("got %q", got)
	}
}

func TestHideUserinfo(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:hunter22@example.com/a":           "https://***@example.com/a",
		"see http://a@b@example.com:8080/x?y=z@w":       "see http://***@example.com:8080/x?y=z@w",
		"https://user@example.com and ftp://u:p@h/":     "https://***@example.com and ftp://***@h/",
		"no URL: mail@example.com, https://example.com": "no URL: mail@example.com, https://example.com",
		"https://example.com/path@notuser":              "https://example.com/path@notuser",
	} {
		if got := safetext.HideUserinfo(in); got != want {
			t.Errorf("HideUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
	if got := safetext.Quote("https://u:hunter22@example.com/"); strings.Contains(got, "hunter22") {
		t.Errorf("Quote = %s", got)
	}
	var r safetext.Redactor
	if got := r.Redact("GET https://u:hunter22@example.com/"); strings.Contains(got, "hunter22") {
		t.Errorf("Redact = %s", got)
	}
}
