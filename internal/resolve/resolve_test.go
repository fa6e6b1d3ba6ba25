package resolve_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
)

// Zones given by ID are used as given: one zone, or several whose purge
// type does not route by host (tags go to every zone), needs no lookup,
// and so no permission beyond Cache Purge.
func TestZonesGivenByIDNeedNoLookup(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   []string
		want map[string][]string // what each zone's job sends
	}{
		{"one zone, a file of any host", []string{"purge-type", "files", "targets", "https://other.example/a"},
			map[string][]string{comID: {"https://other.example/a"}}},
		{"one zone, tags", []string{"purge-type", "tags", "targets", "a"}, map[string][]string{comID: {"a"}}},
		{"several zones, tags go to every zone", []string{"zone-id", comID + "\n" + orgID, "purge-type", "tags", "targets", "a\nb\nc", "batch-size", "2"},
			map[string][]string{comID: {"a", "b", "c"}, orgID: {"a", "b", "c"}}},
		{"several zones, everything goes to every zone", []string{"zone-id", comID + "\n" + orgID, "purge-type", "everything"},
			map[string][]string{comID: {"everything"}, orgID: {"everything"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, api := step(t, tt.in...), knownZones()
			r := resolveStep(t, cfg, api, nil, 0)
			if r.err != nil || len(api.Calls()) != 0 {
				t.Fatalf("error %v, lookups %q; want none", r.err, methods(api.Calls()))
			}
			var want []resolve.Zone
			for _, id := range cfg.ZoneIDs {
				want = append(want, resolve.Zone{ID: id})
			}
			if !slices.Equal(r.Zones, want) || r.Environment != nil || r.Nothing != "" {
				t.Errorf("zones %+v, environment %v, nothing %q; want the zones as given %+v", r.Zones, r.Environment, r.Nothing, want)
			}
			if got := sent(r.Plan); !equalSent(got, tt.want) {
				t.Errorf("jobs send %q\nwant %q", got, tt.want)
			}
			for i, j := range r.Jobs {
				if j.Scope != cloudflare.ZoneScope(cfg.ZoneIDs[i]) || j.Operation != cloudflare.Purge || j.Type != cfg.PurgeType ||
					j.Account != "" || j.Plan != cloudflare.PlanUnknown {
					t.Errorf("job %d: %+v; want the zone's purge, account and plan unknown", i, j)
				}
				if cfg.BatchSize == 2 && len(j.Batches) != 2 {
					t.Errorf("job %d has %d batches; want 3 tags in batches of 2", i, len(j.Batches))
				}
			}
		})
	}
}

// equalSent compares what jobs send, zone by zone.
func equalSent(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for id, ts := range want {
		if !slices.Equal(got[id], ts) {
			return false
		}
	}
	return true
}

// A zone given by name is looked up once, in lower case, and brings its
// account and plan.
func TestZoneByName(t *testing.T) {
	t.Parallel()
	cfg, api := step(t, "zone-id", "", "zone", "Example.COM", "purge-type", "tags", "targets", "a"), knownZones()
	r := resolveStep(t, cfg, api, nil, 0)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := methods(api.Calls()); !slices.Equal(got, []string{"ZonesByName(example.com)"}) {
		t.Errorf("lookups %q; want one of the name", got)
	}
	want := resolve.Zone{ID: cloudflare.MustParseID(comID), Name: "example.com", Account: accountID("Acme"), AccountName: "Acme", Plan: cloudflare.PlanPro}
	if len(r.Zones) != 1 || r.Zones[0] != want || r.Zones[0].Label() != "zone example.com ("+comID+")" {
		t.Errorf("zones %+v; want %+v", r.Zones, want)
	}
	if len(r.Jobs) != 1 || r.Jobs[0].Scope != cloudflare.ZoneScope(want.ID) || r.Jobs[0].Account != want.Account || r.Jobs[0].Plan != cloudflare.PlanPro {
		t.Errorf("jobs %+v; want one to the zone, paced by its account and plan", r.Jobs)
	}
}

// A zone listed twice, by the lookup or by the inputs (its ID and its
// name), is one zone, purged once.
func TestAZoneListedTwiceIsOneZone(t *testing.T) {
	t.Parallel()
	twice := knownZones()
	twice.Script = always("ZonesByName", reply{Zones: []cloudflare.Zone{twice.Zones[0], twice.Zones[0]}})
	r := resolveStep(t, step(t, "zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a"), twice, nil, 0)
	if r.err != nil || len(r.Zones) != 1 || len(r.Jobs) != 1 {
		t.Errorf("listed twice by the lookup: error %v, %d zones, %d jobs; want one", r.err, len(r.Zones), len(r.Jobs))
	}

	api := knownZones()
	r = resolveStep(t, step(t, "zone-id", comID, "zone", "example.com", "purge-type", "hosts", "targets", "www.example.com"), api, nil, 0)
	want := resolve.Zone{ID: cloudflare.MustParseID(comID), Name: "example.com", Account: accountID("Acme"), AccountName: "Acme", Plan: cloudflare.PlanPro}
	if r.err != nil || !slices.Equal(r.Zones, []resolve.Zone{want}) || len(r.Jobs) != 1 {
		t.Errorf("given by ID and by name: error %v, zones %+v, %d jobs; want one zone with what its lookup named", r.err, r.Zones, len(r.Jobs))
	}
	if got := methods(api.Calls()); !slices.Equal(got, []string{"ZonesByName(example.com)"}) {
		t.Errorf("lookups %q; want the name's alone: one zone routes nothing", got)
	}
}

// A name matching no zone, or several (one domain in several accounts),
// stops the run naming the name, and the accounts to choose from; every
// name is looked up, and every problem said together.
func TestAZoneNameMustMatchOneZone(t *testing.T) {
	t.Parallel()
	noZone := problem.Problem{Input: "zone", Message: `"nowhere.example" matches no zone this token can read; check the name, or give the token the Zone > Zone > Read permission on it`}
	twoZones := problem.Problem{Input: "zone", Message: `"example.org" matches 2 zones (ID "` + orgID + `" in account "Acme", ID "dup" in account "Other"); give the one meant by its zone-id`}
	withDup := func() *fakeLookups {
		api := knownZones()
		api.Zones = append(api.Zones, zoneEntry("dup", "example.org", "Other", "free"))
		return api
	}
	nearName := knownZones()
	nearName.Script = always("ZonesByName", reply{Zones: []cloudflare.Zone{zoneEntry(orgID, "www.example.org", "Acme", "pro")}})
	for _, tt := range []struct {
		name  string
		zones string
		api   *fakeLookups
		want  []problem.Problem
	}{
		{"no zone", "nowhere.example", knownZones(), []problem.Problem{noZone}},
		{"two zones", "example.org", withDup(), []problem.Problem{twoZones}},
		{"a listed zone of another name", "example.org", nearName, []problem.Problem{{Input: "zone", Message: strings.ReplaceAll(noZone.Message, "nowhere.example", "example.org")}}},
		{"both", "nowhere.example\nexample.org\nexample.com", withDup(), []problem.Problem{noZone, twoZones}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := step(t, "zone-id", "", "zone", tt.zones, "purge-type", "tags", "targets", "a")
			r := resolveStep(t, cfg, tt.api, nil, 0)
			assertEnded(t, r, cfg, problem.Stopped, tt.want...)
			if n := len(tt.api.Calls()); n != len(cfg.ZoneNames) {
				t.Errorf("%d lookups; want one a name", n)
			}
		})
	}
}

// Two zones given of one name (one domain in two accounts) are refused,
// naming both zones and their accounts: a host of that domain would go
// to whichever came first, and the other would purge nothing as a
// success.
func TestTwoZonesOfOneNameAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		in     []string
		listed bool // the name's listing shows only example.org of Acme
		want   string
	}{
		{"both by ID", []string{"zone-id", orgID + "\n0ddd"}, false,
			`zones ` + orgID + ` (account "Acme") and 0ddd (account "Other") are both named example.org, so no host of it can be routed to one of them; list only the one meant`},
		{"by ID and by name", []string{"zone-id", "0ddd", "zone", "example.org"}, true,
			`zones 0ddd (account "Other") and ` + orgID + ` (account "Acme") are both named example.org, so no host of it can be routed to one of them; list only the one meant`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := knownZones()
			api.Zones = append(api.Zones, zoneEntry("0ddd", "Example.ORG", "Other", "free")) // case does not tell them apart
			if tt.listed {
				api.Script = always("ZonesByName", reply{Zones: api.Zones[1:2]})
			}
			cfg := step(t, append(tt.in, "purge-type", "files", "targets", "https://example.org/a")...)
			r := resolveStep(t, cfg, api, nil, 0)
			assertEnded(t, r, cfg, problem.Stopped, problem.Problem{Input: "zone-id", Message: tt.want})
		})
	}
}

// With several zones, files, hosts and prefixes go to the zone whose
// name is their host or its longest parent domain, whatever the order
// the zones are given in; tags and everything go to every zone. Zones
// given by ID are looked up for their names only when routing needs them.
func TestSeveralZonesRouteByTheLongestParentDomain(t *testing.T) {
	t.Parallel()
	// example.org comes before cdn.example.org: taking the first zone
	// that matches would send cdn.example.org's targets to example.org.
	zones := []string{"zone-id", comID + "\n" + orgID, "zone", "cdn.example.org"}
	byHost := []string{"ZonesByName(cdn.example.org)", "Zone(" + comID + ")", "Zone(" + orgID + ")"}
	for _, tt := range []struct {
		typ, targets string
		want         map[string][]string
		lookups      []string
	}{
		{"files", "https://www.example.com/a\nhttps://cdn.example.org/b\nhttps://example.org/c\nhttps://img.cdn.example.org/d\nhttps://EXAMPLE.com/e",
			map[string][]string{
				comID: {"https://www.example.com/a", "https://EXAMPLE.com/e"},
				orgID: {"https://example.org/c"},
				cdnID: {"https://cdn.example.org/b", "https://img.cdn.example.org/d"},
			}, byHost},
		{"hosts", "www.example.com\ncdn.example.org\nexample.org\nimg.cdn.example.org",
			map[string][]string{comID: {"www.example.com"}, orgID: {"example.org"}, cdnID: {"cdn.example.org", "img.cdn.example.org"}}, byHost},
		{"prefixes", "www.example.com/a\ncdn.example.org/b\nexample.org/c\nimg.cdn.example.org/d",
			map[string][]string{comID: {"www.example.com/a"}, orgID: {"example.org/c"}, cdnID: {"cdn.example.org/b", "img.cdn.example.org/d"}}, byHost},
		{"tags", "a\nb", map[string][]string{comID: {"a", "b"}, orgID: {"a", "b"}, cdnID: {"a", "b"}}, byHost[:1]},
		{"everything", "", map[string][]string{comID: {"everything"}, orgID: {"everything"}, cdnID: {"everything"}}, byHost[:1]},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			t.Parallel()
			cfg, api := step(t, append(zones, "purge-type", tt.typ, "targets", tt.targets)...), knownZones()
			r := resolveStep(t, cfg, api, nil, 0)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got := sent(r.Plan); !equalSent(got, tt.want) {
				t.Errorf("jobs send %q\nwant %q", got, tt.want)
			}
			if got := methods(api.Calls()); !slices.Equal(got, tt.lookups) {
				t.Errorf("lookups %q\nwant %q", got, tt.lookups)
			}
			if len(tt.lookups) == len(byHost) {
				var names []string
				for _, z := range r.Zones {
					names = append(names, z.Name)
				}
				if !slices.Equal(names, []string{"example.com", "example.org", "cdn.example.org"}) {
					t.Errorf("zones named %q; want every zone's name, in input order", names)
				}
			}
		})
	}
}

// A target that no zone owns is bad input of the input it came from,
// named by line, with the zones that were given; nothing is purged.
func TestTargetsNoZoneOwnsAreInvalid(t *testing.T) {
	t.Parallel()
	cfg := stepWithFiles(t, map[string]string{"hosts.txt": "# more\nbadexample.com\nimg.example.org\n"},
		"zone-id", comID, "zone", "example.org", "purge-type", "hosts", "targets", "www.example.com\nexample.net", "targets-file", "hosts.txt")
	r := resolveStep(t, cfg, knownZones(), nil, 0)
	assertEnded(t, r, cfg, problem.Invalid,
		problem.Problem{Input: "targets", Message: `1 bad target(s): line 2: "example.net" is in none of the zones; the zones are example.com, example.org: add the zone that owns them, or remove them`},
		problem.Problem{Input: "targets-file", Message: `1 bad target(s): line 2: "badexample.com" is in none of the zones; the zones are example.com, example.org: add the zone that owns them, or remove them`})
}

// Zones of one account share its purge buckets, zones of one plan of it
// one bucket: a job is paced by its zone's account only when every
// account is known (else all are paced as one account), and by the plan
// its lookup named unless the plan input is given (then the input is the
// user's word for every zone).
func TestJobsArePacedByAccountAndPlan(t *testing.T) {
	t.Parallel()
	api := func() *fakeLookups {
		api := knownZones()
		api.Zones = append(api.Zones, zoneEntry("0bbb", "example.net", "Other", "free"), zoneEntry("0ccc", "example.io", "", "partner"))
		return api
	}
	acme, other := accountID("Acme"), accountID("Other")
	for _, tt := range []struct {
		name      string
		in        []string
		accounts  []string
		plans     []cloudflare.Plan
		zonePlans []cloudflare.Plan
	}{
		{"two accounts", []string{"zone-id", "", "zone", "example.com\nexample.net"},
			[]string{acme, other}, []cloudflare.Plan{cloudflare.PlanPro, cloudflare.PlanFree}, []cloudflare.Plan{cloudflare.PlanPro, cloudflare.PlanFree}},
		{"a zone not looked up", []string{"zone-id", orgID, "zone", "example.net"},
			[]string{"", ""}, []cloudflare.Plan{cloudflare.PlanUnknown, cloudflare.PlanFree}, []cloudflare.Plan{cloudflare.PlanUnknown, cloudflare.PlanFree}},
		{"an answer without an account or a known plan", []string{"zone-id", "", "zone", "example.com\nexample.io"},
			[]string{"", ""}, []cloudflare.Plan{cloudflare.PlanPro, cloudflare.PlanUnknown}, []cloudflare.Plan{cloudflare.PlanPro, cloudflare.PlanUnknown}},
		{"the plan input", []string{"zone-id", "", "zone", "example.com\nexample.net", "plan", "business"},
			[]string{acme, other}, []cloudflare.Plan{cloudflare.PlanUnknown, cloudflare.PlanUnknown}, []cloudflare.Plan{cloudflare.PlanPro, cloudflare.PlanFree}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := step(t, append(tt.in, "purge-type", "tags", "targets", "a", "mode", "invalidate")...)
			r := resolveStep(t, cfg, api(), nil, 0)
			if r.err != nil || len(r.Jobs) != 2 {
				t.Fatalf("error %v, %d jobs", r.err, len(r.Jobs))
			}
			for i, j := range r.Jobs {
				if j.Account != tt.accounts[i] || j.Plan != tt.plans[i] || r.Zones[i].Plan != tt.zonePlans[i] || j.Operation != cloudflare.Invalidate {
					t.Errorf("job %d: account %q, plan %q, zone's plan %q, operation %s; want %q, %q, %q, invalidate",
						i, j.Account, j.Plan, r.Zones[i].Plan, j.Operation, tt.accounts[i], tt.plans[i], tt.zonePlans[i])
				}
			}
		})
	}
}
