package command_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

// The zones the fake's lookups know.
const (
	orgID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	netID = "f9e8d7c6b5a4938271605f4e3d2c1b0a"
	stgID = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
)

var knownZones = cloudflaretest.WithZones(
	cloudflaretest.Zone{ID: zone, Name: "example.com", Account: "Acme", Plan: "pro",
		Environments: []cloudflaretest.Environment{{Ref: stgID, Name: "Staging"}, {Ref: "7e7e7e", Name: "Preview"}}},
	cloudflaretest.Zone{ID: orgID, Name: "example.org", Account: "Acme", Plan: "pro"},
	cloudflaretest.Zone{ID: netID, Name: "cdn.example.org", Account: "Acme", Plan: "pro"},
)

// paths lists the paths of the requests.
func paths(reqs []cloudflaretest.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Path)
	}
	return out
}

func TestInvalidateUsesTheInvalidatePathsAndWords(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, env, path string
	}{
		{"zone", "", "/client/v4/zones/" + zone + "/invalidate_cache"},
		{"environment", envID, "/client/v4/zones/" + zone + "/environments/" + envID + "/invalidate_cache"},
	} {
		for _, typ := range []string{"everything", "files", "tags", "hosts", "prefixes"} {
			targets := map[string]string{"files": "https://www.example.com/a", "tags": "blog", "hosts": "www.example.com", "prefixes": "www.example.com/a"}[typ]
			r := runStep(t, actiontest.Step{Inputs: inputs("mode", "Invalidate", "purge-type", typ, "targets", targets, "environment-id", tt.env)})
			if r.Code != 0 || len(r.requests) != 1 || r.requests[0].Path != tt.path {
				t.Fatalf("%s/%s: exit %d, requests %q, want one to %s\n%s", tt.name, typ, r.Code, paths(r.requests), tt.path, r.Stdout)
			}
			if !strings.Contains(r.Stdout, "invalidated, ID "+cloudflaretest.ID(0)) || !strings.Contains(r.Stdout, "Invalidated 1 target(s)") ||
				strings.Contains(r.Stdout, "urged") || !strings.Contains(r.Summary, "Cloudflare cache invalidation succeeded") ||
				!strings.Contains(r.Summary, "(1 invalidated)") {
				t.Errorf("%s/%s: log or summary does not say invalidated:\n%s\n%s", tt.name, typ, r.Stdout, r.Summary)
			}
			if r.Outputs["purge-id"] != cloudflaretest.ID(0) || r.Outputs["count"] != "1" {
				t.Errorf("%s/%s: outputs %v", tt.name, typ, r.Outputs)
			}
		}
	}
	dry := runStep(t, actiontest.Step{Inputs: inputs("mode", "invalidate", "purge-type", "tags", "targets", "a", "dry-run", "true")})
	if dry.Code != 0 || len(dry.requests) != 0 || !strings.Contains(dry.Stdout, "/zones/"+zone+"/invalidate_cache") {
		t.Errorf("dry run: exit %d, %d requests\n%s", dry.Code, len(dry.requests), dry.Stdout)
	}
	failed := runStep(t, actiontest.Step{Inputs: inputs("mode", "invalidate", "purge-type", "tags", "targets", "a", "max-retries", "0")},
		cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
			return cloudflaretest.Fail(400, 7003, "Could not route")
		}))
	if !failed.HasAnnotation("error", "Cloudflare invalidation failed: HTTP 400", "1 of 1 target(s) not invalidated") {
		t.Errorf("failure annotation = %+v", failed.Annotations("error"))
	}
}

func TestSingleZoneIDNeedsNoLookup(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"files", "tags"} {
		target := map[string]string{"files": "https://other.example/a", "tags": "a"}[typ]
		r := runStep(t, actiontest.Step{Inputs: inputs("purge-type", typ, "targets", target)}, knownZones, cloudflaretest.WithoutZoneRead())
		if r.Code != 0 || len(r.lookups) != 0 || len(r.requests) != 1 {
			t.Errorf("%s: exit %d, %d lookups, %d requests; want no lookup and the purge as before\n%s", typ, r.Code, len(r.lookups), len(r.requests), r.Stdout)
		}
	}
}

func TestZoneAndEnvironmentByName(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "Example.COM", "environment", "staging", "purge-type", "tags", "targets", "a")}, knownZones)
	want := "/client/v4/zones/" + zone + "/environments/" + stgID + "/purge_cache"
	if r.Code != 0 || len(r.requests) != 1 || r.requests[0].Path != want {
		t.Fatalf("exit %d, requests %q, want one to %s\n%s", r.Code, paths(r.requests), want, r.Stdout)
	}
	wantLookups := []string{"/client/v4/zones?name=example.com&page=1&per_page=50", "/client/v4/zones/" + zone + "/environments"}
	if got := paths(r.lookups); strings.Join(got, " ") != strings.Join(wantLookups, " ") {
		t.Errorf("lookups = %q, want %q (one per name)", got, wantLookups)
	}
	if got := r.Outputs["results"]; got != results(zone, "example.com", stgID, []string{cloudflaretest.ID(0)}, 1, 0) {
		t.Errorf("results = %s", got)
	}
	if !strings.Contains(r.Stdout, "environment staging ("+stgID+") of zone example.com ("+zone+")") {
		t.Errorf("the log does not name the environment by the name given:\n%s", r.Stdout)
	}
	assertSecretsOnlyMasked(t, r, token)
}

// Lookups that fail stop the step before anything is purged, titled
// with the input that asked for them and naming the name and the
// permission to add; input problems found on the way are invalid inputs.
// One case a title: what resolve says of each kind of lookup problem (no
// zone, several, two zones of one name, no such environment) is its unit
// tests' (internal/resolve).
func TestLookupProblemsSendNothing(t *testing.T) {
	t.Parallel()
	const invalid = "Invalid input "
	for _, tt := range []struct {
		name     string
		in       map[string]string
		opts     []cloudflaretest.Option
		title    string
		wantMsgs []string
	}{
		{"token without Zone Read", inputs("zone-id", "", "zone", "example.com"), []cloudflaretest.Option{knownZones, cloudflaretest.WithoutZoneRead()},
			"zone", []string{`looking up "example.com" was refused (HTTP 403: 10000 Authentication error): the token is active, so it lacks Zone > Zone > Read`}},
		{"several zones by ID, files, without Zone Read", inputs("zone-id", zone+"\n"+orgID, "purge-type", "files", "targets", "https://example.com/a"),
			[]cloudflaretest.Option{knownZones, cloudflaretest.WithoutZoneRead()},
			"zone-id", []string{"looking up zone " + zone + " (its name decides which files go to it) was refused", "Zone > Zone > Read"}},
		{"token without Zone Versioning Read", inputs("environment", "staging"), []cloudflaretest.Option{knownZones, cloudflaretest.WithoutVersioningRead()},
			"environment", []string{"was refused", "Zone > Zone Versioning > Read"}},
		{"environment with several zones", inputs("zone", "example.org", "environment", "staging"), []cloudflaretest.Option{knownZones},
			invalid + "environment", []string{"2 zones are given"}},
		{"no zone at all", inputs("zone-id", ""), nil, invalid + "zone-id", []string{"is required"}},
		{"a name in a dry run without credentials", inputs("zone-id", "", "zone", "example.com", "api-token", "", "dry-run", "true"), []cloudflaretest.Option{knownZones},
			invalid + "api-token", []string{"is needed to look up zones and environments by name, even in a dry run"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in
			if _, ok := in["purge-type"]; !ok {
				in["purge-type"], in["targets"] = "tags", "a"
			}
			r := runStep(t, actiontest.Step{Inputs: in}, tt.opts...)
			if r.Code != 1 || len(r.requests) != 0 {
				t.Fatalf("exit %d, %d requests; want 1 and nothing purged\n%s", r.Code, len(r.requests), r.Stdout)
			}
			for _, msg := range tt.wantMsgs {
				if !r.HasAnnotation("error", tt.title, msg) {
					t.Errorf("annotations = %+v\nwant one titled %q saying %q", r.Annotations("error"), tt.title, msg)
				}
			}
			if lookup := !strings.HasPrefix(tt.title, invalid); lookup && strings.Contains(r.Stdout, "fix the input") {
				t.Errorf("a lookup problem is reported as invalid input:\n%s", r.Stdout)
			}
			if in["api-token"] != "" {
				assertSecretsOnlyMasked(t, r, token)
			}
		})
	}
}

func TestSeveralZonesTagsGoToEveryZone(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", zone+"\n"+orgID, "purge-type", "tags", "targets", "a\nb\nc", "batch-size", "2", "concurrency", "1")})
	wantPaths := []string{"/client/v4/zones/" + zone + "/purge_cache", "/client/v4/zones/" + zone + "/purge_cache",
		"/client/v4/zones/" + orgID + "/purge_cache", "/client/v4/zones/" + orgID + "/purge_cache"}
	if r.Code != 0 || strings.Join(paths(r.requests), " ") != strings.Join(wantPaths, " ") || len(r.lookups) != 0 {
		t.Fatalf("exit %d, requests %q, %d lookups; want two batches a zone and no lookup\n%s", r.Code, paths(r.requests), len(r.lookups), r.Stdout)
	}
	ids := []string{cloudflaretest.ID(0), cloudflaretest.ID(1), cloudflaretest.ID(2), cloudflaretest.ID(3)}
	idsJSON, _ := json.Marshal(ids)
	if r.Outputs["purge-ids"] != string(idsJSON) || r.Outputs["count"] != "6" || r.Outputs["purge-id"] != ids[0] {
		t.Errorf("outputs = %v; want every ID in zone order, then batch order, and 3 tags × 2 zones", r.Outputs)
	}
	var res []map[string]any
	if err := json.Unmarshal([]byte(r.Outputs["results"]), &res); err != nil || len(res) != 2 || res[0]["zone-id"] != zone || res[1]["zone-id"] != orgID ||
		res[1]["count"] != 3.0 || len(res[1]["purge-ids"].([]any)) != 2 {
		t.Errorf("results = %s (%v)", r.Outputs["results"], err)
	}
	for _, row := range []string{"| Zone | Zone ID |", "| — | `" + zone + "` | 3 | 0 |", "| — | `" + orgID + "` | 3 | 0 |"} {
		if !strings.Contains(r.Summary, row) {
			t.Errorf("summary lacks %q:\n%s", row, r.Summary)
		}
	}
}

func TestSeveralZonesFilesGoToTheirHostsZone(t *testing.T) {
	t.Parallel()
	targets := "https://www.example.com/a\nhttps://cdn.example.org/b\nhttps://example.org/c\nhttps://img.cdn.example.org/d\nhttps://EXAMPLE.com/e"
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", zone+"\n"+netID, "zone", "example.org", "purge-type", "files", "targets", targets, "concurrency", "1")}, knownZones)
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
	}
	sent := map[string]string{}
	for _, req := range r.requests {
		var body struct{ Files []string }
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatal(err)
		}
		sent[req.Path] = strings.Join(body.Files, " ")
	}
	want := map[string]string{
		"/client/v4/zones/" + zone + "/purge_cache":  "https://www.example.com/a https://EXAMPLE.com/e",
		"/client/v4/zones/" + netID + "/purge_cache": "https://cdn.example.org/b https://img.cdn.example.org/d",
		"/client/v4/zones/" + orgID + "/purge_cache": "https://example.org/c",
	}
	for path, files := range want {
		if sent[path] != files {
			t.Errorf("%s got %q, want %q", path, sent[path], files)
		}
	}
	if len(r.requests) != 3 || len(r.lookups) != 3 { // the name, and each zone given by ID
		t.Errorf("%d requests, %d lookups %q; want 3 and 3", len(r.requests), len(r.lookups), paths(r.lookups))
	}
	if !strings.Contains(r.Outputs["results"], `"zone":"example.org"`) || !strings.Contains(r.Outputs["results"], `"zone":"cdn.example.org"`) {
		t.Errorf("results = %s", r.Outputs["results"])
	}
	for _, row := range []string{"| example.com | `" + zone + "` | 2 | 0 |", "| cdn.example.org | `" + netID + "` | 2 | 0 |", "| example.org | `" + orgID + "` | 1 | 0 |"} {
		if !strings.Contains(r.Summary, row) {
			t.Errorf("summary lacks %q:\n%s", row, r.Summary)
		}
	}
}

func TestSeveralZonesATargetNoZoneOwnsSendsNothing(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{
		Inputs: inputs("zone-id", zone, "zone", "example.org", "purge-type", "hosts", "targets", "www.example.com\nexample.net", "targets-file", "hosts.txt"),
		Files:  map[string]string{"hosts.txt": "# more\nbadexample.com\nimg.example.org\n"},
	}, knownZones)
	if r.Code != 1 || len(r.requests) != 0 {
		t.Fatalf("exit %d, %d requests; want 1 and nothing sent\n%s", r.Code, len(r.requests), r.Stdout)
	}
	// The lines and the zones the messages name are resolve's
	// (TestTargetsNoZoneOwnsAreInvalid): here, each input's annotation.
	for input, msg := range map[string]string{
		"targets":      `"example.net" is in none of the zones`,
		"targets-file": `"badexample.com" is in none of the zones`,
	} {
		if !r.HasAnnotation("error", "Invalid input "+input, msg) {
			t.Errorf("annotations = %+v\nwant one for %s saying %q", r.Annotations("error"), input, msg)
		}
	}
}

func TestSeveralZonesAFailureNamesItsZone(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", zone+"\n"+orgID, "purge-type", "everything", "max-retries", "0")},
		cloudflaretest.WithScript(func(n int, req cloudflaretest.Request) cloudflaretest.Response {
			if strings.Contains(req.Path, orgID) {
				return cloudflaretest.Fail(400, 7003, "Could not route")
			}
			return cloudflaretest.OK(cloudflaretest.ID(n))
		}))
	if r.Code != 1 || !r.HasAnnotation("error", "Cloudflare purge failed: HTTP 400", "zone "+orgID+", request 1 of 1: HTTP 400: 7003 Could not route") {
		t.Fatalf("exit %d, annotations %+v", r.Code, r.Annotations("error"))
	}
	var res []struct {
		Count, Failed int
	}
	if err := json.Unmarshal([]byte(r.Outputs["results"]), &res); err != nil || len(res) != 2 || res[0].Count != 1 || res[1].Failed != 1 {
		t.Errorf("results = %s", r.Outputs["results"])
	}
}

func TestDryRunLooksUpNamesAndSendsNothing(t *testing.T) {
	t.Parallel()
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com\nexample.org", "purge-type", "prefixes",
		"targets", "www.example.com/a\nexample.org/b", "dry-run", "true")}, knownZones)
	if r.Code != 0 || len(r.requests) != 0 || len(r.lookups) != 2 {
		t.Fatalf("exit %d, %d requests, %d lookups\n%s", r.Code, len(r.requests), len(r.lookups), r.Stdout)
	}
	for _, want := range []string{"POST " + cloudflaretest.InMemoryBaseURL + "/zones/" + zone + "/purge_cache", `{"prefixes":["www.example.com/a"]}`,
		"POST " + cloudflaretest.InMemoryBaseURL + "/zones/" + orgID + "/purge_cache", `{"prefixes":["example.org/b"]}`} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, r.Stdout)
		}
	}
	if r.Outputs["count"] != "0" || !strings.Contains(r.Outputs["results"], `"zone":"example.org"`) {
		t.Errorf("outputs = %v", r.Outputs)
	}
}

// A lookup that meets a 429 or a 5xx is sent again, as a purge would be,
// waiting as Retry-After says; when retries run out, it is a problem of
// the input that asked for it.
func TestLookupsAreRetried(t *testing.T) {
	t.Parallel()
	busy := cloudflaretest.Fail(429, 971, "Please wait and consider throttling your request speed")
	busy.Header = map[string]string{"Retry-After": "7"}
	down := cloudflaretest.Response{Status: 503, Body: "<html>503</html>"}
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a")},
		knownZones, cloudflaretest.WithLookupFailures(busy, down))
	if r.Code != 0 || len(r.lookups) != 3 || len(r.requests) != 1 {
		t.Fatalf("exit %d, %d lookups, %d requests; want the third lookup to find the zone\n%s", r.Code, len(r.lookups), len(r.requests), r.Stdout)
	}
	if gap := r.lookups[1].At.Sub(r.lookups[0].At); gap < 7*time.Second {
		t.Errorf("second lookup %v after a 429 with Retry-After: 7", gap)
	}

	r = runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a", "max-retries", "1")},
		knownZones, cloudflaretest.WithLookupFailures(down, down))
	if r.Code != 1 || len(r.lookups) != 2 || len(r.requests) != 0 ||
		!r.HasAnnotation("error", "zone", `looking up "example.com" failed: HTTP 503: response is not a Cloudflare API envelope: 503`) {
		t.Errorf("exit %d, %d lookups, %d requests, annotations %+v", r.Code, len(r.lookups), len(r.requests), r.Annotations("error"))
	}
}

// Zones of different accounts have their own purge buckets: with names
// looked up, each account is paced on its own; zones whose account is
// not known are paced as one account.
func TestZonesArePacedByAccount(t *testing.T) {
	t.Parallel()
	other := cloudflaretest.WithZones(cloudflaretest.Zone{ID: "0bbb", Name: "example.net", Account: "Other", Plan: "free"})
	tags := tagList(25)
	for _, tt := range []struct {
		name      string
		zones     []string // zone-id, zone
		wantAtT0  int      // requests sent at once
		wantLater bool     // the rest wait for Free's refill (12 s a request)
	}{
		{"two accounts", []string{"", "example.com\nexample.net"}, 50, false},
		{"one account", []string{"", "example.com\nexample.org"}, 25, true},
		{"an account not looked up", []string{zone, "example.net"}, 25, true},
	} {
		r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", tt.zones[0], "zone", tt.zones[1], "purge-type", "tags",
			"targets", tags, "batch-size", "1", "plan", "free", "concurrency", "64", "timeout", "1h")}, knownZones, other)
		if r.Code != 0 || len(r.requests) != 50 {
			t.Fatalf("%s: exit %d, %d requests\n%s", tt.name, r.Code, len(r.requests), r.Stdout)
		}
		first, atT0, later := r.requests[0].At, 0, false
		for _, req := range r.requests {
			switch gap := req.At.Sub(first); {
			case gap == 0:
				atT0++
			case gap >= 12*time.Second:
				later = true
			}
		}
		if atT0 != tt.wantAtT0 || later != tt.wantLater {
			t.Errorf("%s: %d requests at once (want %d), later ones waited for the refill: %v (want %v)", tt.name, atT0, tt.wantAtT0, later, tt.wantLater)
		}
	}
}

// Zones of one account but of different plans draw from different
// buckets (Cloudflare: zones of one plan in one account share a bucket):
// without a plan input, each zone is paced by the plan its lookup named.
func TestZonesOfOneAccountArePacedByTheirPlans(t *testing.T) {
	t.Parallel()
	free := cloudflaretest.WithZones(cloudflaretest.Zone{ID: "0ccc", Name: "example.io", Account: "Acme", Plan: "free"})
	tags := tagList(30)
	r := runStep(t, actiontest.Step{Inputs: inputs("zone-id", "", "zone", "example.com\nexample.io", "purge-type", "tags",
		"targets", tags, "batch-size", "1", "concurrency", "64", "timeout", "1h")}, knownZones, free)
	if r.Code != 0 || len(r.requests) != 60 {
		t.Fatalf("exit %d, %d requests\n%s", r.Code, len(r.requests), r.Stdout)
	}
	first := r.requests[0].At
	last := map[string]time.Duration{}
	for _, req := range r.requests {
		z := strings.Split(req.Path, "/")[4]
		last[z] = max(last[z], req.At.Sub(first))
	}
	// Pro: a bucket of 25, then 5 a second. Free: 25, then one per 12 s.
	if last[zone] > 3*time.Second || last["0ccc"] < 12*time.Second {
		t.Errorf("the pro zone's last request went after %v (want within 3s), the free zone's after %v (want its bucket's refill, 12s or more)",
			last[zone], last["0ccc"])
	}
}
