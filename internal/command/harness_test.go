package command_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

const (
	zone  = "023e105f4ecef8ad9ca31a8372d0c353"
	envID = "e7c3b1a2d4f5e6a7b8c9d0e1f2a3b4c5"
	token = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
)

func inputs(kv ...string) map[string]string {
	m := map[string]string{"zone-id": zone, "api-token": token, "max-retries": "3"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// run is what a step left, and every request the fake saw.
type run struct {
	actiontest.Result
	requests []cloudflaretest.Request // purges and invalidations
	lookups  []cloudflaretest.Request // GETs
	verifies []cloudflaretest.Request // token checks
}

// runStep runs the action in this process, as the runner would, against
// an in-memory fake made with opts (api-url points at it unless the step
// names one), inside a testing/synctest bubble: retries, Retry-After and
// pacing pass in virtual time, so no test sleeps.
func runStep(t *testing.T, s actiontest.Step, opts ...cloudflaretest.Option) run {
	t.Helper()
	if !s.Local {
		in := map[string]string{"api-url": cloudflaretest.InMemoryBaseURL}
		for k, v := range s.Inputs {
			in[k] = v
		}
		s.Inputs = in
	}
	var r run
	synctest.Test(t, func(t *testing.T) {
		fake := cloudflaretest.NewInMemory(opts...)
		defer fake.Close()
		r.Result = actiontest.Run(t, actiontest.InProcess{HTTPClient: fake.Client()}, s)
		r.requests = fake.Requests()
		r.lookups = fake.Lookups()
		r.verifies = fake.Verifies()
	})
	return r
}

// assertSecretsOnlyMasked checks every sink of a step in Actions.
func assertSecretsOnlyMasked(t *testing.T, r run, secrets ...string) {
	t.Helper()
	actiontest.AssertSecretsOnlyMasked(t, r.Result, false, secrets...)
}

// results is the results output of one zone, as the action writes it.
func results(zoneID, name, envID string, ids []string, count, failed int) string {
	if ids == nil {
		ids = []string{}
	}
	type result struct { // the keys and their order, exactly
		ZoneID   string   `json:"zone-id"`
		Zone     string   `json:"zone"`
		EnvID    string   `json:"environment-id"`
		PurgeIDs []string `json:"purge-ids"`
		Count    int      `json:"count"`
		Failed   int      `json:"failed"`
		Verified int      `json:"verified"`
		Stale    int      `json:"stale"`
		Broken   int      `json:"broken"`
		Warmed   int      `json:"warmed"`
	}
	b, err := json.Marshal([]result{{zoneID, name, envID, ids, count, failed, 0, 0, 0, 0}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// tagList is n tags, t0 to t(n-1), one a line: a targets input.
func tagList(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "t%d\n", i)
	}
	return b.String()
}
