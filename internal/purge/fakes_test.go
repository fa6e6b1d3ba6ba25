package purge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

// call is one request the fake sender received.
type call struct {
	n     int // 0-based, in arrival order
	req   cloudflare.Request
	items []string // the body's targets (tags, URLs...), in order
	at    time.Time
}

// fakeSender answers from a script and records every call with the time
// it arrived. Tests run it inside a synctest bubble, so that time is the
// bubble's virtual time and moves only when every goroutine waits.
type fakeSender struct {
	script func(c call) (cloudflare.Result, error)

	mu    sync.Mutex
	calls []call
}

func (s *fakeSender) Send(_ context.Context, r cloudflare.Request) (cloudflare.Result, error) {
	var items []string
	raw, _ := json.Marshal(r.Body)
	var decoded map[string][]any
	if json.Unmarshal(raw, &decoded) == nil {
		for _, list := range decoded {
			for _, v := range list {
				s, _ := v.(string)
				items = append(items, s)
			}
		}
	}
	s.mu.Lock()
	c := call{n: len(s.calls), req: r, items: items, at: time.Now()}
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	if s.script == nil {
		return cloudflare.Result{ID: id(c.n)}, nil
	}
	return s.script(c)
}

func (s *fakeSender) Calls() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

func id(n int) string { return fmt.Sprintf("id%03d", n) }

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// debugLines collects Run's debug lines. Options.Debugf is called from
// several goroutines at once (the workers, the pacer, the plan lookup), as
// action.Reporter.Debugf is: it takes a lock of its own.
type debugLines struct {
	mu    sync.Mutex
	lines []string
}

func (d *debugLines) debugf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lines = append(d.lines, fmt.Sprintf(format, args...))
}

// all lists the lines so far.
func (d *debugLines) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.lines)
}

// String is the lines so far, one a line.
func (d *debugLines) String() string { return strings.Join(d.all(), "\n") }
