package cloudflare_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

var fuzzNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// fuzzToken is a token a server might echo; the fuzzer finds it in the
// seeds below.
const fuzzToken = "fuzzTok3nSn3lcBUx9Kq2"

// FuzzDecode decodes arbitrary answers: any status from 100 to 599, any
// body, any rate-limit headers. The answer is a Result with an ID only
// for a 2xx; every error begins "HTTP <status>:" and keeps the server's
// messages whole (shortening is the printer's, after redaction). Printed
// the way the reporter prints it (redacted, then safetext.OneLine), the
// error is one line of text with no control character, since it goes into
// the log, where a line break could start a workflow command, and shows
// nothing of a token the server echoed.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		status                                  int
		body                                    string
		retryAfter, ratelimit, policy, location string
		readFails                               bool
	}{
		{200, `{"success":true,"errors":[],"messages":[],"result":{"id":"023e105f4ecef8ad9ca31a8372d0c353"}}`, "", `"default";r=50;t=30`, `"default";q=100;w=60`, "", false},
		{200, `{"success":true,"errors":[],"result":{"id":"a\nb"}}`, "", "", "", "", false},
		{200, `{"success":true,"errors":[],"result":null}`, "", "", "", "", false},
		{200, `{"success":false,"errors":[],"result":{"id":"x"}}`, "", "", "", "", false},
		{400, `{"success":false,"errors":[{"code":1012,"message":"Request must contain one of \"purge_everything\"\n::error::x","error_chain":[{"code":6111,"message":"Invalid\r\nformat"}]}],"messages":[],"result":null}`, "", "", "", "", false},
		{403, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`, "", "", "", "", false},
		{429, `{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]}`, "7", `limit=100, remaining=0, reset=20`, "100;w=60", "", false},
		{503, "", "Fri, 27 Nov 2026 12:00:30 GMT", "", "", "", false},
		{502, "<html><head><title>502 Bad Gateway</title></head>\r\n<body>cloudflare\n::set-output name=x::y</body></html>", "", "", "", "", false},
		{520, "\xff\xfe\x00\x1b[31mred\u2028line\u0085next", "-1", `;;;=,,"`, `q=x;w=-1`, "", false},
		{301, "", "", "", "", "https://evil.example\n/x", false},
		{302, "", "", "", "", "https://evil.example%0A.com/x", false},
		{200, strings.Repeat(" ", 1<<20+1), "", "", "", "", false},
		{200, `{"success":true}`, "", "", "", "", true},
		{100, `{"success":true,"result":{"id":"x"}}`, "", "", "", "", false},
		{204, "", "", "", "", "", false},
		{599, `{"success":false,"errors":[{"code":1e400}]}`, "99999999999999999999", "", "", "", false},
		{400, `{"success":false,"errors":[{"code":6111,"message":"Invalid format for Authorization header: Bearer ` + fuzzToken + `"}]}`, "", "", "", "", false},
		{502, "<html>" + strings.Repeat("x", 2000) + fuzzToken + "</html>", "", "", "", "", false},
		{400, `{"success":false,"errors":[{"code":1,"message":"` + strings.Repeat("y", 995) + fuzzToken + `"}]}`, "", "", "", "", false},
	} {
		f.Add(s.status, []byte(s.body), s.retryAfter, s.ratelimit, s.policy, s.location, s.readFails)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter, ratelimit, policy, location string, readFails bool) {
		status = 100 + int(uint(status)%500)
		h := http.Header{}
		for k, v := range map[string]string{"Retry-After": retryAfter, "Ratelimit": ratelimit, "Ratelimit-Policy": policy, "Location": location} {
			if v != "" {
				h.Set(k, v)
			}
		}
		var readErr error
		if readFails {
			readErr = io.ErrUnexpectedEOF
		}
		resp := &http.Response{StatusCode: status, Header: h, Body: http.NoBody}

		res, err := cloudflare.Decode(resp, body, readErr, fuzzNow)

		if err == nil {
			if status < 200 || status > 299 {
				t.Errorf("HTTP %d decoded as a success (ID %q)", status, res.ID)
			}
			if res.ID == "" || !fuzzPrintableWord(res.ID) {
				t.Errorf("HTTP %d: success with ID %q; want a non-empty word of printable ASCII", status, res.ID)
			}
			fuzzCheckRateLimit(t, res.RateLimit, ratelimit, policy)
			return
		}
		if res.ID != "" || res.RateLimit != (cloudflare.RateLimit{}) || res.Warnings != nil {
			t.Errorf("HTTP %d: both a result %+v and an error %v", status, res, err)
		}
		msg := err.Error()
		if want := fmt.Sprintf("HTTP %d", status); !strings.HasPrefix(msg, want+":") {
			t.Errorf("error %q does not begin %q", msg, want+":")
		}
		redactor := &safetext.Redactor{}
		redactor.Add(fuzzToken)
		line := safetext.OneLine(redactor.Redact(msg), 1000)
		if p := fuzzLogLineProblem(line); p != "" {
			t.Errorf("error %q printed as %q, which %s", msg, line, p)
		}
		for i := 0; i+safetext.MinRun <= len(fuzzToken); i++ {
			if run := fuzzToken[i : i+safetext.MinRun]; strings.Contains(line, run) {
				t.Errorf("error %q printed as %q, which shows %q of the token", msg, line, run)
			}
		}
		if apiErr, ok := errors.AsType[*cloudflare.APIError](err); ok {
			if apiErr.Status != status {
				t.Errorf("APIError.Status = %d; want %d", apiErr.Status, status)
			}
			if apiErr.RetryAfter < 0 || (!apiErr.HasRetryAfter && apiErr.RetryAfter != 0) {
				t.Errorf("Retry-After %q read as %v, %v", retryAfter, apiErr.RetryAfter, apiErr.HasRetryAfter)
			}
			if apiErr.Retryable() && !apiErr.RateLimited() && status < 500 || status == 501 && apiErr.Retryable() && !apiErr.RateLimited() {
				t.Errorf("HTTP %d is retryable; only rate limits (429, code 1134) and 5xx but 501 are", status)
			}
			fuzzCheckRateLimit(t, apiErr.RateLimit, ratelimit, policy)
			fuzzCheckWhole(t, msg, apiErr.Errors)
		} else if !readFails {
			t.Errorf("error %q (%T) is not an *APIError, though the body was read", msg, err)
		}
	})
}

// fuzzCheckWhole checks that the error holds every message of the
// envelope, and of its error chains, whole: nothing is cut before the
// printer has redacted it.
func fuzzCheckWhole(t *testing.T, msg string, items []cloudflare.ErrorItem) {
	t.Helper()
	for _, item := range items {
		if !strings.Contains(msg, strings.TrimSpace(item.Message)) {
			t.Errorf("error %q does not hold the whole message %q", msg, item.Message)
		}
		fuzzCheckWhole(t, msg, item.ErrorChain)
	}
}

// fuzzLogLineProblem says why s cannot be printed as one log line: invalid
// UTF-8, a control character (line breaks included), or a Unicode line or
// paragraph separator.
func fuzzLogLineProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("holds %U", r)
		}
	}
	return ""
}

// fuzzPrintableWord reports whether s is printable ASCII without spaces,
// safe as a step output value.
func fuzzPrintableWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// fuzzCheckRateLimit checks what ParseRateLimit read from the header
// values: no negative number or duration, and nothing where its flag says
// absent.
func fuzzCheckRateLimit(t *testing.T, rl cloudflare.RateLimit, header ...string) {
	t.Helper()
	if rl.Remaining < 0 || rl.Reset < 0 || rl.Quota < 0 || rl.Window < 0 {
		t.Errorf("rate limit %+v has a negative field", rl)
	}
	if !rl.HasRemaining && (rl.Remaining != 0 || rl.Reset != 0) || !rl.HasPolicy && (rl.Quota != 0 || rl.Window != 0) {
		t.Errorf("rate limit %+v has values it says are absent", rl)
	}
	if rl.HasPolicy && (rl.Quota <= 0 || rl.Window <= 0) {
		t.Errorf("rate limit %+v has a policy with no quota or window", rl)
	}
}

// FuzzParseHeaders reads arbitrary Retry-After and rate-limit headers, in
// the current and the older forms: no panic, no negative duration.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range [][5]string{
		{"7", `"default";r=50;t=30`, `"default";q=100;w=60`, "", ""},
		{"Fri, 27 Nov 2026 12:00:30 GMT", `"burst";r=40;t=1, "day";r=3;t=3600`, `"burst";q=50;w=1, "day";q=1000;w=86400`, "", ""},
		{"Friday, 27-Nov-26 12:01:00 GMT", `limit=100, remaining=9, reset=20`, "100;w=60", "", ""},
		{"Thu, 01 Jan 1970 00:00:00 GMT", "", "100;w=60", "0", "12"},
		{"-3", `;;;=,,"`, `q=x;w=-1`, "-1", "-1"},
		{"99999999999999999999", "", "", "", ""},
		{" 120 ", `"a;b";r="5";t=1,"c"`, `"c";q=1;w=1, "a;b";q=2;w=2`, "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, retryAfter, ratelimit, policy, remaining, reset string) {
		d, ok := cloudflare.ParseRetryAfter(retryAfter, fuzzNow)
		if d < 0 || (!ok && d != 0) {
			t.Errorf("ParseRetryAfter(%q) = %v, %v", retryAfter, d, ok)
		}
		h := http.Header{}
		for k, v := range map[string]string{"Ratelimit": ratelimit, "Ratelimit-Policy": policy, "Ratelimit-Remaining": remaining, "Ratelimit-Reset": reset} {
			h.Set(k, v)
		}
		fuzzCheckRateLimit(t, cloudflare.ParseRateLimit(h), ratelimit, policy, remaining, reset)
	})
}
