package site

import (
	"maps"
	"net/url"
	"path"
	"strings"
)

// Cloudflare's Vary for Images keeps a copy of an image for each format
// the browser's Accept asks for (AVIF, WebP, the file's own), and a purge
// of the URL removes them all. Verify checks the copy a current browser
// gets; Warm refills all three.
const (
	// acceptAVIF is what a browser that takes AVIF and WebP asks for.
	acceptAVIF = "image/avif,image/webp,*/*"
	// acceptWebP is what a browser that takes WebP but not AVIF asks for.
	acceptWebP = "image/webp,*/*"
	// acceptAny asks for the file's own format, as a client that names
	// none (Cloudflare serves no Accept and */* the same copy).
	acceptAny = "*/*"
)

// imageExtensions are those Cloudflare's Vary for Images applies to
// (developers.cloudflare.com/cache/advanced-configuration/vary-for-images):
// raster formats only; an SVG has one copy whatever the Accept.
var imageExtensions = map[string]bool{
	".avif": true, ".bmp": true, ".gif": true, ".jpg": true, ".jpeg": true,
	".jp2": true, ".png": true, ".tif": true, ".tiff": true, ".webp": true,
}

// ImageURL reports whether Cloudflare may keep a copy of the URL for
// each image format: its path (not its query, which Vary for Images
// ignores) ends in one of the extensions Vary for Images applies to,
// in any case.
func ImageURL(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && imageExtensions[strings.ToLower(path.Ext(u.Path))]
}

// imageAccepts are the Accept values requests for t add, the one Verify
// sends first: none unless t is an image URL whose own headers name no
// Accept (a target that names one asked for that copy).
func imageAccepts(t Target) []string {
	if !ImageURL(t.URL) {
		return nil
	}
	for name := range t.Headers {
		if strings.EqualFold(name, "Accept") {
			return nil
		}
	}
	return []string{acceptAVIF, acceptWebP, acceptAny}
}

// withAccept is t with Accept added to a copy of its headers.
func (t Target) withAccept(accept string) Target {
	headers := make(map[string]string, len(t.Headers)+1)
	maps.Copy(headers, t.Headers)
	headers["Accept"] = accept
	t.Headers = headers
	return t
}
