package resolve_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
)

// The answers of the lookups are untrusted input: whatever they say, the
// run purges no more than was asked, and an ID from an answer passes the
// rule an input passes before it goes into a path.

// hostileIDs are values an answer may give where an ID belongs (null and
// a missing field decode to ""). Every one reached a request path once.
var hostileIDs = map[string]string{
	"empty": "", "blank": "   ", "dot dot": "..", "dot": ".", "slash": "a/b", "query": "x?y=1", "fragment": "a#b",
	"escaped slash": "a%2Fb", "underscore": "_", "33 characters": strings.Repeat("a", 33),
	"Cyrillic": "аbc", "workflow command": "::error::pwned", "line break": "a\nb",
}

// An environment is found by name in its zone's list, in any letter
// case, and named as the input gave it; an environment given by ID needs
// no lookup. Either way every job goes to the environment.
func TestEnvironmentByName(t *testing.T) {
	t.Parallel()
	repeated := knownZones()
	repeated.Script = always("Environments", reply{Envs: []cloudflare.Environment{{Ref: "aaa111", Name: "staging"}, {Ref: "aaa111", Name: "staging"}}})
	for _, tt := range []struct {
		name    string
		in      []string
		api     *fakeLookups
		want    resolve.Environment
		label   string
		lookups []string
	}{
		{"by name", []string{"environment", "staging"}, knownZones(),
			resolve.Environment{ID: cloudflare.MustParseID(stgID), Name: "staging"}, "environment staging (" + stgID + ")", []string{"Environments(" + comID + ")"}},
		{"zone and environment by name", []string{"zone-id", "", "zone", "example.com", "environment", "STAGING"}, knownZones(),
			resolve.Environment{ID: cloudflare.MustParseID(stgID), Name: "STAGING"}, "environment STAGING (" + stgID + ")", []string{"ZonesByName(example.com)", "Environments(" + comID + ")"}},
		{"the same entry listed twice is one", []string{"environment", "staging"}, repeated,
			resolve.Environment{ID: cloudflare.MustParseID("aaa111"), Name: "staging"}, "environment staging (aaa111)", []string{"Environments(" + comID + ")"}},
		{"by ID", []string{"environment-id", envID}, knownZones(), resolve.Environment{ID: cloudflare.MustParseID(envID)}, "environment " + envID, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resolveStep(t, step(t, append(tt.in, "purge-type", "tags", "targets", "a")...), tt.api, nil, 0)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.Environment == nil || *r.Environment != tt.want || r.Environment.Label() != tt.label {
				t.Errorf("environment %+v; want %+v, labelled %q", r.Environment, tt.want, tt.label)
			}
			if got := methods(tt.api.Calls()); !slices.Equal(got, tt.lookups) {
				t.Errorf("lookups %q; want %q", got, tt.lookups)
			}
			if len(r.Jobs) != 1 || r.Jobs[0].Scope != cloudflare.EnvironmentScope(cloudflare.MustParseID(comID), tt.want.ID) {
				t.Errorf("jobs %+v; want one to the environment", r.Jobs)
			}
		})
	}
}

// An environment name that no entry matches stops the run, listing the
// zone's environments, or saying it has none.
func TestEnvironmentNotFoundListsTheNames(t *testing.T) {
	t.Parallel()
	hostileName := knownZones()
	hostileName.Script = always("Environments", reply{Envs: []cloudflare.Environment{{Ref: "aaa111", Name: "x\n::error::pwned"}}})
	for _, tt := range []struct {
		name string
		in   []string
		api  *fakeLookups
		want string
	}{
		{"by zone ID", []string{"environment", "prod"}, knownZones(),
			`zone ` + comID + ` has no environment named "prod"; it has "Staging", "Preview"`},
		{"by zone name", []string{"zone-id", "", "zone", "example.com", "environment", "prod"}, knownZones(),
			`zone example.com (` + comID + `) has no environment named "prod"; it has "Staging", "Preview"`},
		{"none", []string{"zone-id", orgID, "environment", "prod"}, knownZones(),
			`zone ` + orgID + ` has no environment named "prod"; it has none: zone versioning may be off for this zone`},
		{"names quoted", []string{"environment", "prod"}, hostileName,
			`zone ` + comID + ` has no environment named "prod"; it has "x\n::error::pwned"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := step(t, append(tt.in, "purge-type", "everything")...)
			assertEnded(t, resolveStep(t, cfg, tt.api, nil, 0), cfg, problem.Stopped, problem.Problem{Input: "environment", Message: tt.want})
		})
	}
}

// Two environments a name matches equally (names differing only in
// letter case, or one name with two refs) are ambiguous: refused, not
// "take the first".
func TestEnvironmentCaseTwinsAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		envs []cloudflare.Environment
		want string
	}{
		{"case twins", []cloudflare.Environment{{Ref: "aaa111", Name: "staging"}, {Ref: "bbb222", Name: "Staging"}},
			`zone ` + comID + ` has 2 environments named "STAGING", differing only in letter case or ref ("staging" ref "aaa111", "Staging" ref "bbb222"); rename one in the dashboard, or give the one meant by its environment-id`},
		{"one name, two refs", []cloudflare.Environment{{Ref: "aaa111", Name: "STAGING"}, {Ref: "bbb222", Name: "STAGING"}},
			`zone ` + comID + ` has 2 environments named "STAGING", differing only in letter case or ref ("STAGING" ref "aaa111", "STAGING" ref "bbb222"); rename one in the dashboard, or give the one meant by its environment-id`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := knownZones()
			api.Envs[comID] = tt.envs
			cfg := step(t, "environment", "STAGING", "purge-type", "everything")
			assertEnded(t, resolveStep(t, cfg, api, nil, 0), cfg, problem.Stopped, problem.Problem{Input: "environment", Message: tt.want})
		})
	}
}

// The worst of the answers: the matching environment has no usable ref.
// The zone's path would purge production and every environment; the run
// stops, whatever the purge type, and no job is made.
func TestEnvironmentWithoutAUsableRefIsRefused(t *testing.T) {
	t.Parallel()
	for name, ref := range hostileIDs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, in := range [][]string{{"purge-type", "everything"}, {"purge-type", "tags", "targets", "a"}} {
				api := knownZones()
				api.Envs[comID] = []cloudflare.Environment{{Ref: ref, Name: "staging"}}
				cfg := step(t, append(in, "environment", "staging")...)
				assertEnded(t, resolveStep(t, cfg, api, nil, 0), cfg, problem.Stopped, problem.Problem{Input: "environment",
					Message: `Cloudflare listed environment "staging" of zone ` + comID + ` with the ref ` + safetext.Quote(ref) + `, which is not an environment ID (` + cloudflare.IDRule + `); nothing was purged`})
			}
		})
	}
}

// A zone ID that a name's lookup answers passes the rule of IDs.
func TestZoneIDFromAnAnswerIsRefused(t *testing.T) {
	t.Parallel()
	for name, id := range hostileIDs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			api := &fakeLookups{Zones: []cloudflare.Zone{zoneEntry(id, "example.com", "Acme", "pro")}}
			cfg := step(t, "zone-id", "", "zone", "example.com", "purge-type", "everything")
			assertEnded(t, resolveStep(t, cfg, api, nil, 0), cfg, problem.Stopped, problem.Problem{Input: "zone",
				Message: `Cloudflare answered "example.com" with the zone ID ` + safetext.Quote(id) + `, which is not an ID (` + cloudflare.IDRule + `); nothing was purged`})
		})
	}
}

// An account ID (what zones are paced by) passes the rule of IDs too,
// from either lookup; an answer without one is an account unknown.
func TestAccountIDFromAnAnswerIsRefused(t *testing.T) {
	t.Parallel()
	for name, id := range hostileIDs {
		if id == "" {
			continue // no account: unknown, below
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hostile := zoneEntry(orgID, "example.org", "Acme", "pro")
			hostile.Account.ID = id
			api := &fakeLookups{Zones: []cloudflare.Zone{zoneEntry(comID, "example.com", "Acme", "pro"), hostile}}
			byName := step(t, "zone-id", "", "zone", "example.org", "purge-type", "tags", "targets", "a")
			assertEnded(t, resolveStep(t, byName, api, nil, 0), byName, problem.Stopped, problem.Problem{Input: "zone",
				Message: `Cloudflare answered "example.org" with the account ID ` + safetext.Quote(id) + `, which is not an ID (` + cloudflare.IDRule + `); nothing was purged`})
			byID := step(t, "zone-id", comID+"\n"+orgID, "purge-type", "files", "targets", "https://example.org/a")
			assertEnded(t, resolveStep(t, byID, api, nil, 0), byID, problem.Stopped, problem.Problem{Input: "zone-id",
				Message: `Cloudflare gave zone ` + orgID + ` the account ID ` + safetext.Quote(id) + `, which is not an ID (` + cloudflare.IDRule + `); nothing was purged`})
		})
	}
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		api := &fakeLookups{Zones: []cloudflare.Zone{zoneEntry(comID, "example.com", "", "pro")}}
		r := resolveStep(t, step(t, "zone-id", "", "zone", "example.com", "purge-type", "tags", "targets", "a"), api, nil, 0)
		if r.err != nil || len(r.Zones) != 1 || r.Zones[0].Account != "" || r.Jobs[0].Account != "" {
			t.Errorf("error %v, zones %+v; want the zone, its account unknown", r.err, r.Zones)
		}
	})
}

// A zone name that a zone's lookup answers decides where files go, and
// is printed: it must be a domain name (in any letter case, kept in
// lower case), and a name that is not one never reaches the plan.
func TestZoneNameFromAnAnswerMustBeADomain(t *testing.T) {
	t.Parallel()
	for name, bad := range map[string]string{
		"too long": strings.Repeat("a", 250) + ".com", "control character": "exa\u0007mple.org", "empty": "",
		"workflow command": "x\n::error::pwned", "markdown": "example.org | x | y |", "no dot": "localhost",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			named := zoneEntry(orgID, bad, "Acme", "pro")
			api := &fakeLookups{Zones: []cloudflare.Zone{zoneEntry(comID, "example.com", "Acme", "pro"), named}}
			cfg := step(t, "zone-id", comID+"\n"+orgID, "purge-type", "files", "targets", "https://example.com/a")
			assertEnded(t, resolveStep(t, cfg, api, nil, 0), cfg, problem.Stopped, problem.Problem{Input: "zone-id",
				Message: `Cloudflare gave zone ` + orgID + ` the name ` + safetext.Quote(bad) + `, which is not a domain name; nothing was purged`})
		})
	}
	t.Run("upper case", func(t *testing.T) {
		t.Parallel()
		api := &fakeLookups{Zones: []cloudflare.Zone{zoneEntry(comID, "Example.COM", "Acme", "pro"), zoneEntry(orgID, "EXAMPLE.ORG", "Acme", "pro")}}
		r := resolveStep(t, step(t, "zone-id", comID+"\n"+orgID, "purge-type", "files", "targets", "https://example.com/a\nhttps://www.example.org/b"), api, nil, 0)
		if r.err != nil || len(r.Zones) != 2 || r.Zones[0].Name != "example.com" || r.Zones[1].Name != "example.org" {
			t.Fatalf("error %v, zones %+v; want both, named in lower case", r.err, r.Zones)
		}
		if got := sent(r.Plan); !equalSent(got, map[string][]string{comID: {"https://example.com/a"}, orgID: {"https://www.example.org/b"}}) {
			t.Errorf("jobs send %q", got)
		}
	})
}
