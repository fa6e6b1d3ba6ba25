package sitemap_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/site"
	"github.com/cfpurge/cloudflare-purge-action/internal/sitemap"
)

// A site that sends its sitemap with Content-Encoding: gzip has it
// inflated by net/http's transport, below the sitemap reader: the bound
// holds on what the transport inflates too, to the byte (a few KB that
// inflate to MaxFileBytes+1). Over loopback (the in-memory
// edge has no transport that inflates), so without synctest; no waits.
func TestContentEncodingGzipIsBoundedToo(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = w.Write(make([]byte, 1<<20))
	_ = w.Close()
	member := b.Bytes() // 1 MiB of zeros
	b = bytes.Buffer{}
	w, _ = gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = w.Write([]byte{0})
	_ = w.Close()
	last := b.Bytes() // one byte past the bound
	small := gz(urlset(entry("https://www.example.com/a", "", "")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		if r.URL.Path == "/small.xml" {
			_, _ = w.Write([]byte(small))
			return
		}
		for range sitemap.MaxFileBytes >> 20 {
			if _, err := w.Write(member); err != nil {
				return // the client stopped reading
			}
		}
		_, _ = w.Write(last)
	}))
	defer srv.Close()
	c := site.NewClient(nil, userAgent, 1)

	res, err := sitemap.Read(t.Context(), c, srv.URL+"/small.xml", sitemap.Options{})
	if err != nil || len(res.URLs) != 1 {
		t.Fatalf("a sitemap the transport inflates: %q, %v", locs(res.URLs), err)
	}
	_, err = sitemap.Read(t.Context(), c, srv.URL+"/bomb.xml", sitemap.Options{})
	if fileErr, ok := errors.AsType[*sitemap.Error](err); !errors.Is(err, sitemap.ErrFileTooLarge) || !ok || fileErr.Sitemap != srv.URL+"/bomb.xml" {
		t.Errorf("err = %v; want the 50 MiB bound, naming the file", err)
	}
}
