package resolve_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

const base = "http://127.0.0.1:9/client/v4"

// answers serves fuzzed bodies by the kind of lookup, in memory.
type answers struct{ list, zone, envs []byte }

func (a answers) RoundTrip(req *http.Request) (*http.Response, error) {
	body := a.zone
	switch {
	case strings.HasSuffix(req.URL.Path, "/environments"):
		body = a.envs
	case strings.HasSuffix(req.URL.Path, "/zones"):
		body = a.list
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
}

var cleanPath = regexp.MustCompile(`^/client/v4/zones/[A-Za-z0-9]{1,32}(/environments/[A-Za-z0-9]{1,32})?/purge_cache$`)

// FuzzResolveAnswers feeds the lookups any answer and checks what no
// answer may do: make an environment purge a zone purge, put anything
// but an ID into a path, or let a zone name that is not a domain through.
func FuzzResolveAnswers(f *testing.F) {
	zone := `{"id":"023e105f4ecef8ad9ca31a8372d0c353","name":"example.com","account":{"id":"0123abcd","name":"Acme"}}`
	f.Add("staging", true, false, []byte(`{"success":true,"errors":[],"result":[`+zone+`],"result_info":{"page":1,"total_pages":1}}`),
		[]byte(`{"success":true,"errors":[],"result":`+zone+`}`),
		[]byte(`{"success":true,"errors":[],"result":{"environments":[{"ref":"e7c3b1a2","name":"staging"}]}}`))
	f.Add("staging", true, true, []byte(`{"success":true,"result":[{"id":"..","name":"example.com"}]}`), []byte(`{"success":true,"result":{"name":"a\n::error::x"}}`),
		[]byte(`{"success":true,"result":{"environments":[{"ref":null,"name":"staging"},{"ref":"","name":"Staging"}]}}`))
	f.Add("Staging", false, true, []byte(`{"success":true,"result":[{"id":"a/b","name":"EXAMPLE.COM"}],"result_info":{"page":2,"total_pages":9}}`),
		[]byte(`{"success":true,"result":{"id":"x","name":"example.org","account":{"id":"x?y=1"}}}`), []byte(`{"success":true,"result":{"environments":[{"name":"staging"}]}}`))
	f.Add("", false, false, []byte(`{}`), []byte(`null`), []byte(`{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`))
	f.Fuzz(func(t *testing.T, envName string, byName, severalZones bool, list, zoneBody, envs []byte) {
		cfg := &config.Config{Operation: cloudflare.Purge, PurgeType: cloudflare.Files, BatchSize: 30,
			Targets: []cloudflare.Target{{Value: "https://example.com/a"}}}
		if byName {
			cfg.ZoneNames = []string{"example.com"}
		} else {
			cfg.ZoneIDs = []cloudflare.ID{cloudflare.MustParseID("023e105f4ecef8ad9ca31a8372d0c353")}
		}
		if severalZones {
			cfg.ZoneIDs = append(cfg.ZoneIDs, cloudflare.MustParseID("f9e8d7c6b5a4938271605f4e3d2c1b0a"))
		}
		if cfg.Zones() == 1 && envName != "" {
			cfg.EnvironmentName = envName
		}
		client := cloudflare.NewClient(base, cloudflare.Credentials{Token: "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"}, &http.Client{Transport: answers{list, zoneBody, envs}}, "fuzz")
		p, err := resolve.Resolve(context.Background(), cfg, client, resolve.Options{})
		if err != nil {
			if resErr, ok := errors.AsType[*problem.Error](err); !ok || len(resErr.Problems) == 0 {
				t.Fatalf("error %v is not a *problem.Error with problems", err)
			}
			return
		}
		if len(p.Jobs) != len(p.Zones) || len(p.Zones) == 0 {
			t.Fatalf("%d jobs for %d zones", len(p.Jobs), len(p.Zones))
		}
		if (p.Environment != nil) != cfg.WantsEnvironment() {
			t.Errorf("environment %v, but the inputs asked for one: %v", p.Environment, cfg.WantsEnvironment())
		}
		for i, job := range p.Jobs {
			if _, isEnv := job.Scope.Environment(); isEnv != cfg.WantsEnvironment() {
				t.Errorf("job %d goes to %v; the inputs asked for an environment: %v", i, job.Scope, cfg.WantsEnvironment())
			}
			endpoint, err := cloudflare.Endpoint(base, job.Scope, cloudflare.Purge)
			if err != nil {
				t.Fatalf("job %d has no endpoint: %v", i, err)
			}
			u, err := url.Parse(endpoint)
			if err != nil || u.RawQuery != "" || u.Fragment != "" || path.Clean(u.Path) != u.Path || !cleanPath.MatchString(u.Path) {
				t.Errorf("job %d goes to %q", i, endpoint)
			}
			if z := p.Zones[i]; z.Name != "" && targets.CheckHost(z.Name) != nil {
				t.Errorf("zone %d is named %q, not a domain name", i, z.Name)
			}
			if a := p.Zones[i].Account; a != "" {
				if _, err := cloudflare.ParseID(a); err != nil {
					t.Errorf("zone %d's account %q is not an ID", i, a)
				}
			}
		}
	})
}
