package purge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/clocktest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// newClock is virtual time from t0; see clocktest.Clock for auto.
func newClock(auto bool) *clocktest.Clock { return clocktest.New(t0, auto) }

// call is one request the fake purger received.
type call struct {
	n     int // 0-based, in arrival order
	items []string
	at    time.Time
}

// fakePurger answers from a script and records calls with clock time.
type fakePurger struct {
	clock  *clocktest.Clock
	script func(c call) (cloudflare.Result, error)

	mu    sync.Mutex
	calls []call
}

func (p *fakePurger) Purge(_ context.Context, _, _ string, body cloudflare.Body) (cloudflare.Result, error) {
	var items []string
	raw, _ := json.Marshal(body)
	var decoded map[string][]any
	if json.Unmarshal(raw, &decoded) == nil {
		for _, list := range decoded {
			for _, v := range list {
				s, _ := v.(string)
				items = append(items, s)
			}
		}
	}
	p.mu.Lock()
	c := call{n: len(p.calls), items: items, at: p.clock.Now()}
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	if p.script == nil {
		return cloudflare.Result{ID: id(c.n)}, nil
	}
	return p.script(c)
}

func (p *fakePurger) Calls() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls...)
}

func id(n int) string { return fmt.Sprintf("id%03d", n) }
