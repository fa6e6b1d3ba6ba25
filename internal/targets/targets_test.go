package targets_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

func values(ts []cloudflare.Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Value
	}
	return out
}

func TestAddAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  cloudflare.PurgeType
		text string
		want []string
	}{
		{"files", cloudflare.Files, "https://www.example.com/a.css\nhttp://example.com/b?x=1", []string{"https://www.example.com/a.css", "http://example.com/b?x=1"}},
		{"comments and blank lines", cloudflare.Tags, "# deploy tags\n\n  blog  \n\t\n#x\nhome", []string{"blog", "home"}},
		{"comma lists for tags", cloudflare.Tags, "a, b,c\nd", []string{"a", "b", "c", "d"}},
		{"comma lists for hosts", cloudflare.Hosts, "www.example.com,images.example.com", []string{"www.example.com", "images.example.com"}},
		{"no comma split for prefixes", cloudflare.Prefixes, "www.example.com/a,b", []string{"www.example.com/a,b"}},
		{"duplicates dropped, first kept", cloudflare.Files, "https://a.example/x\nhttps://a.example/y\nhttps://a.example/x", []string{"https://a.example/x", "https://a.example/y"}},
		{"tags dedupe case-insensitively", cloudflare.Tags, "Blog\nblog\nBLOG", []string{"Blog"}},
		{"url paths are case-sensitive", cloudflare.Files, "https://a.example/X\nhttps://a.example/x", []string{"https://a.example/X", "https://a.example/x"}},
		{"CRLF line ends", cloudflare.Tags, "a\r\nb\r\n", []string{"a", "b"}},
		{"byte order mark", cloudflare.Hosts, "\uFEFFwww.example.com\n", []string{"www.example.com"}},
		{"unicode host", cloudflare.Hosts, "bücher.example", []string{"bücher.example"}},
		{"prefix host only", cloudflare.Prefixes, "www.example.com", []string{"www.example.com"}},
		{"prefix 31 separators", cloudflare.Prefixes, "a.example" + strings.Repeat("/p", 31), []string{"a.example" + strings.Repeat("/p", 31)}},
		{"tag of 1024 characters", cloudflare.Tags, strings.Repeat("t", 1024), []string{strings.Repeat("t", 1024)}},
		{"url with port", cloudflare.Files, "https://a.example:8443/x", []string{"https://a.example:8443/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := targets.NewList(tt.typ)
			if err := l.Add(tt.text); err != nil {
				t.Fatalf("Add: %v", err)
			}
			if got := values(l.Targets()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("targets = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddFilesWithHeaders(t *testing.T) {
	t.Parallel()
	l := targets.NewList(cloudflare.Files)
	text := `{"url": "https://www.example.com/cat.jpg", "headers": {"CF-IPCountry": "US", "CF-Device-Type": "desktop"}}
{"url": "https://www.example.com/cat.jpg", "headers": {"CF-IPCountry": "DE"}}
{"url": "https://www.example.com/cat.jpg", "headers": {"CF-Device-Type": "desktop", "CF-IPCountry": "US"}}
{"url": "https://www.example.com/dog.jpg"}
{"url": "https://www.example.com/empty.jpg", "headers": {}}
https://www.example.com/cat.jpg`
	if err := l.Add(text); err != nil {
		t.Fatalf("Add: %v", err)
	}
	want := []cloudflare.Target{
		{Value: "https://www.example.com/cat.jpg", Headers: map[string]string{"CF-IPCountry": "US", "CF-Device-Type": "desktop"}},
		{Value: "https://www.example.com/cat.jpg", Headers: map[string]string{"CF-IPCountry": "DE"}},
		{Value: "https://www.example.com/dog.jpg"},
		{Value: "https://www.example.com/empty.jpg", Headers: map[string]string{}},
		{Value: "https://www.example.com/cat.jpg"},
	}
	if got := l.Targets(); !reflect.DeepEqual(got, want) {
		t.Errorf("targets =\n%#v\nwant\n%#v", got, want)
	}
}

func TestAddDedupesAcrossTexts(t *testing.T) {
	t.Parallel()
	l := targets.NewList(cloudflare.Tags)
	for _, text := range []string{"a\nb", "b\nc"} {
		if err := l.Add(text); err != nil {
			t.Fatalf("Add(%q): %v", text, err)
		}
	}
	if got := values(l.Targets()); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("targets = %q", got)
	}
}

func TestAddRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		typ     cloudflare.PurgeType
		line    string
		wantMsg string
	}{
		{"relative url", cloudflare.Files, "/path/to/image.jpg", "not an absolute http(s) URL"},
		{"ftp url", cloudflare.Files, "ftp://example.com/a", "not an absolute http(s) URL"},
		{"no host", cloudflare.Files, "https:///a", "not an absolute http(s) URL"},
		{"wildcard url", cloudflare.Files, "https://example.com/*.css", "wildcard"},
		{"url with credentials", cloudflare.Files, "https://u:p@example.com/a", "user credentials"},
		{"url with fragment", cloudflare.Files, "https://example.com/a#top", "fragment"},
		{"url with space", cloudflare.Files, "https://example.com/a b", "white space"},
		{"NUL byte", cloudflare.Tags, "a\x00b", "control character"},
		{"invalid utf8", cloudflare.Tags, "a\xffb", "not valid UTF-8"},
		{"bad json", cloudflare.Files, `{"url": "https://a.example/x"`, "not a JSON object"},
		{"json without url", cloudflare.Files, `{"headers": {}}`, `has no "url"`},
		{"json unknown field", cloudflare.Files, `{"url": "https://a.example/x", "header": {}}`, "not a JSON object"},
		{"json headers null", cloudflare.Files, `{"url": "https://a.example/x", "headers": null}`, `"headers": null`},
		{"json header value null", cloudflare.Files, `{"url": "https://a.example/x", "headers": {"CF-IPCountry": null}}`, "null value"},
		{"json header value number", cloudflare.Files, `{"url": "https://a.example/x", "headers": {"CF-IPCountry": 1}}`, "not a JSON object"},
		{"json bad header name", cloudflare.Files, `{"url": "https://a.example/x", "headers": {"Bad Name": "x"}}`, "not a valid HTTP header name"},
		{"json relative url", cloudflare.Files, `{"url": "/x"}`, "not an absolute http(s) URL"},
		{"json trailing data", cloudflare.Files, `{"url": "https://a.example/x"} {}`, "not a JSON object"},
		{"host with scheme", cloudflare.Hosts, "https://www.example.com", "has a scheme"},
		{"host with path", cloudflare.Hosts, "www.example.com/a", "has a path"},
		{"host with port", cloudflare.Hosts, "www.example.com:443", "has a port"},
		{"host empty label", cloudflare.Hosts, "www..example.com", "bare host name"},
		{"host odd character", cloudflare.Hosts, "www.exa$mple.com", "bare host name"},
		{"prefix with scheme", cloudflare.Prefixes, "https://www.example.com/foo", "has a scheme"},
		{"prefix with query", cloudflare.Prefixes, "www.example.com/foo?x=1", "query string"},
		{"prefix with fragment", cloudflare.Prefixes, "www.example.com/foo#x", "fragment"},
		{"prefix 32 separators", cloudflare.Prefixes, "a.example" + strings.Repeat("/p", 32), "at most 31"},
		{"prefix bad host", cloudflare.Prefixes, "/foo/bar", "bare host name"},
		{"tag too long", cloudflare.Tags, strings.Repeat("t", 1025), "at most 1024"},
		{"tag non-ascii", cloudflare.Tags, "café", "printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := badLines(t, targets.NewList(tt.typ).Add("# the bad line is line 2\n"+tt.line))
			if bad.Count != 1 || len(bad.First) != 1 {
				t.Fatalf("error = %v, want exactly one bad line", bad)
			}
			if bad.First[0].Line != 2 {
				t.Errorf("line = %d, want 2", bad.First[0].Line)
			}
			if !strings.Contains(bad.First[0].Err.Error(), tt.wantMsg) {
				t.Errorf("problem = %q, want it to mention %q", bad.First[0].Err, tt.wantMsg)
			}
		})
	}
}

// badLines is err as a *BadLinesError, or fails the test.
func badLines(t *testing.T, err error) *targets.BadLinesError {
	t.Helper()
	bad, ok := errors.AsType[*targets.BadLinesError](err)
	if !ok {
		t.Fatalf("error = %v (%T), want a *targets.BadLinesError", err, err)
	}
	return bad
}

func TestAddQuotesLongLinesShort(t *testing.T) {
	t.Parallel()
	bad := badLines(t, targets.NewList(cloudflare.Files).Add("/"+strings.Repeat("x", 5000)))
	if bad.Count != 1 || len(bad.First[0].Err.Error()) > 400 {
		t.Fatalf("%d errors, problem length %d; want one short problem", bad.Count, len(bad.First[0].Err.Error()))
	}
}

func TestAddKeepsTheGoodTargetsOfABadText(t *testing.T) {
	t.Parallel()
	l := targets.NewList(cloudflare.Hosts)
	bad := badLines(t, l.Add("www.example.com\nbad host\nimages.example.com, https://x.example"))
	if got := values(l.Targets()); !reflect.DeepEqual(got, []string{"www.example.com", "images.example.com"}) {
		t.Errorf("targets = %q", got)
	}
	var lines []int
	for _, e := range bad.First {
		lines = append(lines, e.Line)
	}
	if bad.Count != 2 || !reflect.DeepEqual(lines, []int{2, 3}) {
		t.Errorf("bad lines = %v (count %d), want lines 2 and 3", lines, bad.Count)
	}
}

func TestBadLinesErrorShowsTheFirstTenAndCountsAll(t *testing.T) {
	t.Parallel()
	var text strings.Builder
	for i := range 25 {
		fmt.Fprintf(&text, "https://a.example/%d\nbad-%d\n", i, i) // bad lines are 2, 4, ..., 50
	}
	l := targets.NewList(cloudflare.Files)
	bad := badLines(t, l.Add(text.String()))
	if bad.Count != 25 || len(bad.First) != targets.MaxShown || targets.MaxShown != 10 {
		t.Fatalf("Count %d, First %d (MaxShown %d); want 25 and 10", bad.Count, len(bad.First), targets.MaxShown)
	}
	for i, e := range bad.First {
		if e.Line != 2*(i+1) {
			t.Errorf("First[%d] is line %d, want %d", i, e.Line, 2*(i+1))
		}
	}
	if len(l.Targets()) != 25 {
		t.Errorf("%d targets, want the 25 good ones", len(l.Targets()))
	}
	msg := bad.Error()
	if !strings.HasPrefix(msg, "25 bad target(s): line 2: ") || !strings.HasSuffix(msg, "; and 15 more") {
		t.Errorf("Error = %q, want it to count all 25, list from line 2 and end with the 15 not shown", msg)
	}
	if strings.Contains(msg, "line 22:") {
		t.Errorf("Error = %q lists more than the first ten", msg)
	}
}

func TestBadLinesErrorOfExactlyTenHasNoMore(t *testing.T) {
	t.Parallel()
	bad := badLines(t, targets.NewList(cloudflare.Tags).Add(strings.Repeat("café\n", 10)))
	if bad.Count != 10 || len(bad.First) != 10 || strings.Contains(bad.Error(), "more") {
		t.Errorf("Count %d, First %d, Error %q", bad.Count, len(bad.First), bad.Error())
	}
}

func TestLineError(t *testing.T) {
	t.Parallel()
	cause := errors.New("tag \"café\" has 'é'")
	e := targets.LineError{Line: 7, Err: cause}
	if e.Error() != `line 7: tag "café" has 'é'` {
		t.Errorf("Error = %q", e.Error())
	}
	if !errors.Is(e, cause) {
		t.Error("LineError does not unwrap to its cause")
	}
}

func TestAddOfGoodTextIsNil(t *testing.T) {
	t.Parallel()
	// A nil *BadLinesError in an error would not be == nil.
	if err := targets.NewList(cloudflare.Tags).Add("a\n# c\n\n"); err != nil {
		t.Errorf("Add = %#v, want nil", err)
	}
}
