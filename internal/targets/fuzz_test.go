package targets_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// fuzzPurgeTypes are the purge types that take targets; every fuzzed text
// is read as each of them.
var fuzzPurgeTypes = []cloudflare.PurgeType{cloudflare.Files, cloudflare.Tags, cloudflare.Hosts, cloudflare.Prefixes}

// FuzzAdd reads two arbitrary texts into one list of each purge type and
// checks properties of what came out, not the API's rules again (the
// table tests pin those): Add does not panic and is deterministic; no two
// targets purge the same thing; every target encodes to valid JSON that
// reads back as itself; nothing is lost: every item of the input is a
// target, a repeat of one, or counted as bad; and a *BadLinesError shows
// the first MaxShown bad items in line order.
func FuzzAdd(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://www.example.com/css/styles.css\nhttp://example.com/b?x=1", ""},
		{"# comment\n\n  blog  \n\t\nhome, Blog,BLOG", "blog\nnews"},
		{"www.example.com,images.example.com\nbücher.example", "WWW.example.com"},
		{"www.example.com/images\nwww.example.com/a/b/c/d", "www.example.com/images"},
		{`{"url": "https://www.example.com/cat.jpg", "headers": {"CF-IPCountry": "US", "CF-Device-Type": "desktop"}}`, `{"url":"https://www.example.com/cat.jpg","headers":{"cf-ipcountry":"US","cf-device-type":"desktop"}}`},
		{`{"url": "https://www.example.com/cat.jpg", "headers": {}}`, "https://www.example.com/cat.jpg"},
		{`{"url": "https://www.example.com/cat.jpg", "headers": null}`, `{"url": "https://www.example.com/cat.jpg", "headers": {"Origin": null}}`},
		{"\uFEFFa\r\nb\r\n\uFEFFc", "https://[::1]:8443/x\nhttps://a.example:/x"},
		{"https://a.example/*\nexample.com/a?b\nhttps://user@a.example/\nhttps://a.example/#top", "a b\nx\x00y\n\xff"},
		{"a.example" + strings.Repeat("/p", 31) + "\na.example" + strings.Repeat("/p", 32), strings.Repeat("t", 1025)},
		{"http://example.com\nhttps:example.com\n//example.com/a\nexample.com:8080", "İ.example\ni.example\nσ.example\nΣ.example"},
		// More bad items than a BadLinesError shows, some on one line.
		{strings.Repeat("bad item\n", 12), "x y, a, #b, c d\n" + strings.Repeat("é é,\n", 9)},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, text, more string) {
		for _, typ := range fuzzPurgeTypes {
			l := targets.NewList(typ)
			err1 := l.Add(text)
			err2 := l.Add(more)
			got := l.Targets()

			again := targets.NewList(typ)
			again1, again2 := again.Add(text), again.Add(more)
			if !reflect.DeepEqual(again.Targets(), got) || !sameError(again1, err1) || !sameError(again2, err2) {
				t.Errorf("%s: Add gave other results the second time", typ)
			}

			for _, tg := range got {
				if tg.Headers != nil && typ != cloudflare.Files {
					t.Errorf("%s: target %q has headers, which only files targets may have", typ, tg.Value)
				}
				checkJSON(t, typ, tg)
			}
			checkNoDuplicates(t, typ, got)
			seen := map[string]bool{}
			for _, tg := range got {
				seen[targetKey(typ, tg)] = true
			}
			checkNothingLost(t, typ, seen, text, err1)
			checkNothingLost(t, typ, seen, more, err2)
		}
	})
}

// sameError reports whether two results of Add say the same.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}

// checkJSON encodes a target as a request body does and reads it back: a
// plain target is a JSON string, a target with headers the object
// {"url": ..., "headers": {...}}; either reads back as the same target.
func checkJSON(t *testing.T, typ cloudflare.PurgeType, tg cloudflare.Target) {
	t.Helper()
	raw, err := json.Marshal(tg)
	if err != nil || !json.Valid(raw) {
		t.Errorf("%s: %q encodes to %q, %v; want valid JSON", typ, tg.Value, raw, err)
		return
	}
	var back cloudflare.Target
	if tg.Headers == nil {
		if !bytes.HasPrefix(raw, []byte(`"`)) {
			t.Errorf("%s: %q without headers encodes to %s, not a JSON string", typ, tg.Value, raw)
		}
		err = json.Unmarshal(raw, &back.Value)
	} else {
		var obj struct {
			URL     *string            `json:"url"`
			Headers *map[string]string `json:"headers"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(&obj)
		if err == nil && (obj.URL == nil || obj.Headers == nil) {
			err = errors.New("no url or no headers")
		}
		if err == nil {
			back = cloudflare.Target{Value: *obj.URL, Headers: *obj.Headers}
		}
	}
	if err != nil || !reflect.DeepEqual(back, tg) {
		t.Errorf("%s: %#v encodes to %s, which reads back as %#v (%v)", typ, tg, raw, back, err)
	}
}

// targetKey is the documented dedupe rule: two targets purge the same
// thing when their keys are equal. Tags and host names are
// case-insensitive by ASCII case only (Unicode folding would make
// different host names one); URLs and prefixes compare exactly; a URL
// with headers is another cache entry than the URL without (and {} is
// kept apart from no headers: a different request body); header names
// compare case-insensitively, values exactly.
func targetKey(typ cloudflare.PurgeType, t cloudflare.Target) string {
	switch typ {
	case cloudflare.Tags, cloudflare.Hosts:
		return asciiLower(t.Value)
	case cloudflare.Files:
		if t.Headers == nil {
			return strconv.Quote(t.Value)
		}
		pairs := make([]string, 0, len(t.Headers))
		for name, value := range t.Headers {
			pairs = append(pairs, strconv.Quote(asciiLower(name))+"="+strconv.Quote(value))
		}
		sort.Strings(pairs)
		return strconv.Quote(t.Value) + " {" + strings.Join(pairs, ",") + "}"
	}
	return t.Value
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func checkNoDuplicates(t *testing.T, typ cloudflare.PurgeType, got []cloudflare.Target) {
	t.Helper()
	first := map[string]int{}
	for i, tg := range got {
		k := targetKey(typ, tg)
		if j, ok := first[k]; ok {
			t.Errorf("%s: targets %d (%q %q) and %d (%q %q) purge the same thing", typ, j, got[j].Value, got[j].Headers, i, tg.Value, tg.Headers)
			continue
		}
		first[k] = i
	}
}

// checkNothingLost splits text the way Add documents (one item a line;
// comma lists for tags and hosts; blank and # lines skipped; a leading
// byte order mark dropped; CRLF accepted) and reads each item into a list
// of its own, where it must be either one target or one bad line. Then:
// every item good alone is in the combined list (seen, by the dedupe
// rule); the bad ones are exactly what err counts; and err shows the
// first MaxShown of them, with their line numbers, in line order.
func checkNothingLost(t *testing.T, typ cloudflare.PurgeType, seen map[string]bool, text string, err error) {
	t.Helper()
	var badLines []int
	text = strings.TrimPrefix(text, "\uFEFF")
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		items := []string{line}
		if typ == cloudflare.Tags || typ == cloudflare.Hosts {
			items = nil
			for part := range strings.SplitSeq(line, ",") {
				if part = strings.TrimSpace(part); part != "" {
					items = append(items, part)
				}
			}
		}
		for _, item := range items {
			// The item on a line of its own after an empty first one, so
			// that a byte order mark is not dropped as a leading one; for
			// tags and hosts after a comma too, so that an item starting
			// with # (a comma list may hold one) is not a comment.
			prefix := "\n"
			if typ == cloudflare.Tags || typ == cloudflare.Hosts {
				prefix = "\n,"
			}
			alone := targets.NewList(typ)
			aloneErr := alone.Add(prefix + item)
			switch {
			case aloneErr != nil && len(alone.Targets()) == 0:
				badLines = append(badLines, n+1)
			case aloneErr == nil && len(alone.Targets()) == 1:
				if !seen[targetKey(typ, alone.Targets()[0])] {
					t.Errorf("%s: item %q (line %d) is valid alone but missing from the list", typ, item, n+1)
				}
			default:
				t.Errorf("%s: item %q alone gives %d target(s) and error %v; want one or the other", typ, item, len(alone.Targets()), aloneErr)
			}
		}
	}
	if len(badLines) == 0 {
		if err != nil {
			t.Errorf("%s: every item is valid alone, yet Add says %v", typ, err)
		}
		return
	}
	bad, ok := errors.AsType[*targets.BadLinesError](err)
	if !ok {
		t.Errorf("%s: %d item(s) bad alone (lines %v), yet Add returned %v (%T)", typ, len(badLines), badLines, err, err)
		return
	}
	if bad.Count != len(badLines) {
		t.Errorf("%s: Count = %d; %d item(s) are bad alone (lines %v)", typ, bad.Count, len(badLines), badLines)
	}
	shown := badLines[:min(len(badLines), targets.MaxShown)]
	var got []int
	for _, e := range bad.First {
		got = append(got, e.Line)
		if e.Err == nil {
			t.Errorf("%s: bad line %d has no error", typ, e.Line)
		}
	}
	if !reflect.DeepEqual(got, shown) {
		t.Errorf("%s: First shows lines %v; want the first %d bad items' lines %v", typ, got, len(shown), shown)
	}
}
