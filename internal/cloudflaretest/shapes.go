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
