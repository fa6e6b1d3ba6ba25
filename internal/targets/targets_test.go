package targets_test

import (
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
			if errs := l.Add(tt.text); len(errs) != 0 {
				t.Fatalf("Add: %v", errs)
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
	if errs := l.Add(text); len(errs) != 0 {
		t.Fatalf("Add: %v", errs)
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
	l.Add("a\nb")
	l.Add("b\nc")
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
			errs := targets.NewList(tt.typ).Add("# the bad line is line 2\n" + tt.line)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want exactly one", errs)
			}
			if errs[0].Line != 2 {
				t.Errorf("line = %d, want 2", errs[0].Line)
			}
			if !strings.Contains(errs[0].Problem, tt.wantMsg) {
				t.Errorf("problem = %q, want it to mention %q", errs[0].Problem, tt.wantMsg)
			}
		})
	}
}

func TestAddQuotesLongLinesShort(t *testing.T) {
	t.Parallel()
	errs := targets.NewList(cloudflare.Files).Add("/" + strings.Repeat("x", 5000))
	if len(errs) != 1 || len(errs[0].Problem) > 400 {
		t.Fatalf("errors = %d, problem length %d; want one short problem", len(errs), len(errs[0].Problem))
	}
}
