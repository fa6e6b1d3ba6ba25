package cloudflaretest

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Scripted behaviours of the real API that a run must get round, for
// tests and the load benchmark. Each refuses some requests and passes the
// rest to next (nil: a successful purge, OK(ID(n))), so they stack:
//
//	WithScript(RefuseURL(bad, RefuseFilesOver(30, nil)))

// InvalidURLMessage is Cloudflare's message for a files target it will
// not purge (a relative URL, say), as the API reference's users report
// it. Cloudflare publishes no code for it.
func InvalidURLMessage(url string) string {
	return fmt.Sprintf("Unable to purge %s, which is an invalid URL.", url)
}

// TooManyFilesMessage is the fake's message for a files request over the
// account's cap; Cloudflare publishes neither the message nor a code.
const TooManyFilesMessage = "too many files in one request"

// refusalCode is the code the fake gives the refusals above, which
// Cloudflare documents none for: not one of the codes a client treats as
// a malformed body (1012, 1014) or bad credentials.
const refusalCode = 1

// RefuseURL answers 400 with Cloudflare's invalid-URL message, naming url,
// to any files request that holds url (alone or with headers), and next's
// answer to every other request.
func RefuseURL(url string, next Script) Script {
	next = orOK(next)
	return func(n int, r Request) Response {
		if slices.Contains(requestURLs(r), url) {
			return Fail(400, refusalCode, InvalidURLMessage(url))
		}
		return next(n, r)
	}
}

// RefuseFilesOver answers 400 (TooManyFilesMessage) to any files request
// of more than max URLs, as an account whose cap is below the batch size
// does, and next's answer to every other request.
func RefuseFilesOver(max int, next Script) Script {
	next = orOK(next)
	return func(n int, r Request) Response {
		if urls := requestURLs(r); len(urls) > max {
			return Fail(400, refusalCode, TooManyFilesMessage)
		}
		return next(n, r)
	}
}

func orOK(s Script) Script {
	if s == nil {
		return func(n int, _ Request) Response { return OK(ID(n)) }
	}
	return s
}

// requestURLs lists the URLs of a files request's body, in order: plain
// strings and the {"url": …, "headers": …} form alike. Nil for any other
// body.
func requestURLs(r Request) []string {
	var body struct {
		Files []json.RawMessage `json:"files"`
	}
	if json.Unmarshal(r.Body, &body) != nil {
		return nil
	}
	urls := make([]string, 0, len(body.Files))
	for _, raw := range body.Files {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			urls = append(urls, s)
			continue
		}
		var withHeaders struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(raw, &withHeaders) == nil {
			urls = append(urls, withHeaders.URL)
		}
	}
	return urls
}

// RefusedMessage is the fake's message for a files request it refuses
// without naming a URL (RefuseEveryURL).
const RefusedMessage = "Unable to purge the URLs given."

// RefuseEveryURL answers 400 to every files request, as a zone that
// takes none of the URLs given would: naming one URL of the request
// (Cloudflare's invalid-URL message, for its middle URL) when named is
// set, else with RefusedMessage, the same for every request. Every other
// request gets next's answer.
func RefuseEveryURL(named bool, next Script) Script {
	next = orOK(next)
	return func(n int, r Request) Response {
		urls := requestURLs(r)
		switch {
		case len(urls) == 0:
			return next(n, r)
		case named:
			return Fail(400, refusalCode, InvalidURLMessage(urls[len(urls)/2]))
		}
		return Fail(400, refusalCode, RefusedMessage)
	}
}

// RateLimitMessage is Cloudflare's message for code 1134, the purge rate
// limit, which it sends with other statuses than 429 too.
const RateLimitMessage = "Unable to purge, rate limit reached. Please wait and consider throttling your request speed"

// RateLimitedWith answers the first count requests with code 1134 at HTTP
// status (a 400, or even a 200 with "success": false) and Retry-After:
// retryAfter seconds, and next's answer to the rest.
func RateLimitedWith(status, count, retryAfter int, next Script) Script {
	next = orOK(next)
	return func(n int, r Request) Response {
		if n < count {
			resp := Fail(status, 1134, RateLimitMessage)
			resp.Header = map[string]string{"Retry-After": fmt.Sprint(retryAfter)}
			return resp
		}
		return next(n, r)
	}
}

// EverythingWithKeysMessage is Cloudflare's message for code 1092.
const EverythingWithKeysMessage = `Request cannot contain "purge_everything" and any of "files", "tags", "hosts" or "prefixes"`

// RefuseEverythingWithKeys answers 400 with code 1092 to every request,
// as Cloudflare answers a body with purge_everything and another key.
func RefuseEverythingWithKeys() Script {
	return func(int, Request) Response { return Fail(400, 1092, EverythingWithKeysMessage) }
}
