package resolve_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
)

// changedInputs are the inputs of a purge-type changed step: the site
// under public/ on www.example.com, its docs on docs.example.org, the
// files changed since before; then kv.
func changedInputs(kv ...string) []string {
	return append([]string{"purge-type", "changed", "changed-since", before, "github-token", ghToken,
		"url-map", "public/ => https://www.example.com/\ndocs/ => https://docs.example.org/"}, kv...)
}

// ahead is a comparison of a push that changed paths.
func ahead(paths ...string) *fakeCompare {
	return &fakeCompare{Comparison: changed.Comparison{Status: "ahead", Paths: paths}}
}

// values are the targets' values.
func values(ts []cloudflare.Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Value)
	}
	return out
}

// changed-files are mapped to URLs through url-map, with no comparison:
// a files purge of those URLs, each path's row listed.
func TestChangedFilesAreMappedToURLs(t *testing.T) {
	t.Parallel()
	gh, api := &fakeCompare{Err: errors.New("not to be called")}, knownZones()
	cfg := step(t, changedInputs("changed-since", "", "changed-files", "public/a.html\nREADME.md\n./public/b/index.html")...)
	r := resolveStep(t, cfg, api, gh, 0)
	if r.err != nil || r.Nothing != "" {
		t.Fatalf("error %v, nothing %q", r.err, r.Nothing)
	}
	want := []string{"https://www.example.com/a.html", "https://www.example.com/a", "https://www.example.com/b/", "https://www.example.com/b/index.html"}
	if r.PurgeType != cloudflare.Files || !slices.Equal(values(r.Targets), want) || !equalSent(sent(r.Plan), map[string][]string{comID: want}) {
		t.Errorf("purge type %s, targets %q, jobs send %q; want files %q", r.PurgeType, values(r.Targets), sent(r.Plan), want)
	}
	rows := []changed.Row{
		{Path: "public/a.html", URLs: want[:2]},
		{Path: "README.md", Skipped: changed.NoRule},
		{Path: "public/b/index.html", URLs: want[2:]},
	}
	if ch := r.Changes; ch == nil || ch.Source != "changed-files" || ch.Everything != "" || !slices.EqualFunc(ch.Rows, rows, equalRow) {
		t.Errorf("changes %+v; want from changed-files, rows %+v", ch, rows)
	}
	if len(gh.Calls())+len(api.Calls()) != 0 {
		t.Errorf("comparisons %q, lookups %q; want none", gh.Calls(), methods(api.Calls()))
	}
	if cfg.PurgeType != cloudflare.Files || cfg.Targets != nil {
		t.Errorf("the config was written: purge type %s, targets %v", cfg.PurgeType, cfg.Targets)
	}
}

func equalRow(a, b changed.Row) bool {
	return a.Path == b.Path && slices.Equal(a.URLs, b.URLs) && a.Skipped == b.Skipped
}

// changed-since is compared with GITHUB_SHA once; the changed paths'
// URLs are routed to their zones as any files target is.
func TestChangedSinceIsComparedAndItsURLsRouted(t *testing.T) {
	t.Parallel()
	gh := ahead("public/blog/index.html", "public/old.html", "docs/guide.html")
	gh.Comparison.FromTrees = true
	r := resolveStep(t, step(t, changedInputs("zone-id", "", "zone", "example.com\nexample.org")...), knownZones(), gh, 0)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := map[string][]string{
		comID: {"https://www.example.com/blog/", "https://www.example.com/blog/index.html", "https://www.example.com/old.html", "https://www.example.com/old"},
		orgID: {"https://docs.example.org/guide.html", "https://docs.example.org/guide"},
	}
	if got := sent(r.Plan); r.PurgeType != cloudflare.Files || !equalSent(got, want) {
		t.Errorf("purge type %s, jobs send %q\nwant %q", r.PurgeType, got, want)
	}
	if got := gh.Calls(); !slices.Equal(got, []string{before + "..." + head}) {
		t.Errorf("comparisons %q; want one of changed-since with GITHUB_SHA", got)
	}
	if ch := r.Changes; ch == nil || ch.Source != "changed since "+before || !ch.FromTrees || len(ch.Rows) != 3 {
		t.Errorf("changes %+v", r.Changes)
	}
}

// A changed URL that no zone owns is bad input of url-map, which made it.
func TestChangedURLsOfNoZoneAreInvalid(t *testing.T) {
	t.Parallel()
	cfg := step(t, changedInputs("zone-id", "", "zone", "example.com\nexample.org", "url-map", "public/ => https://www.example.net/")...)
	r := resolveStep(t, cfg, knownZones(), ahead("public/a.css"), 0)
	assertEnded(t, r, cfg, problem.Invalid, problem.Problem{Input: "url-map",
		Message: `1 bad target(s): line 1: "https://www.example.net/a.css" is in none of the zones; the zones are example.com, example.org: add the zone that owns them, or remove them`})
}

// Changes that cannot be read stop the run before any lookup, titled
// changed-since, saying why and what to do.
func TestChangedCompareFailureStops(t *testing.T) {
	t.Parallel()
	const what = `Reading the files changed since "` + before + `" in ` + repository + ` from GitHub's compare API`
	reset := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		gh       *fakeCompare
		cancelAt time.Duration
		want     string
	}{
		{"403", &fakeCompare{Err: &changed.APIError{Status: 403, Message: "Resource not accessible by integration"}}, 0,
			what + ` was refused (GitHub answered HTTP 403: "Resource not accessible by integration"). Give the job permissions: contents: read, or pass a github-token that can read the repository. Nothing was purged.`},
		{"401", &fakeCompare{Err: &changed.APIError{Status: 401, Message: "Bad credentials"}}, 0,
			what + ` was refused (GitHub answered HTTP 401: "Bad credentials"). Give the job permissions: contents: read, or pass a github-token that can read the repository. Nothing was purged.`},
		{"hidden repository", &fakeCompare{Err: &changed.APIError{Status: 404, Message: "Not Found", RepositoryHidden: true}}, 0,
			what + ` failed: GitHub answers 404 for the repository itself, so github-token cannot see it. Give the job permissions: contents: read (or pass a github-token that can read ` + repository + `). Nothing was purged.`},
		{"rate limit", &fakeCompare{Err: &changed.APIError{Status: 403, Message: "API rate limit exceeded", RateLimitReset: reset}}, 0,
			what + ` failed: GitHub answered HTTP 403: "API rate limit exceeded" (rate limit used up until 12:30:00 UTC). Run again after the reset, or give changed-files instead. Nothing was purged.`},
		{"5xx", &fakeCompare{Err: &changed.APIError{Status: 502, Message: "Server Error"}}, 0,
			what + ` failed: the API could not answer (GitHub answered HTTP 502: "Server Error") after every retry (max-retries). Nothing was purged; run again.`},
		{"429", &fakeCompare{Err: &changed.APIError{Status: 429}}, 0,
			what + ` failed: the API could not answer (GitHub answered HTTP 429) after every retry (max-retries). Nothing was purged; run again.`},
		{"the timeout", &fakeCompare{Hang: true}, 0,
			what + ` did not finish: timeout reached: context deadline exceeded. Nothing was purged.`},
		{"a cancel", &fakeCompare{Hang: true}, time.Second,
			what + ` did not finish: run cancelled (the job was cancelled, or the runner sent SIGTERM): context canceled. Nothing was purged.`},
		{"another error", &fakeCompare{Err: errors.New("unexpected EOF")}, 0,
			what + ` failed: unexpected EOF. Nothing was purged.`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := knownZones()
			cfg := step(t, changedInputs("zone-id", comID+"\n"+orgID)...)
			r := resolveStep(t, cfg, api, tt.gh, tt.cancelAt)
			assertEnded(t, r, cfg, problem.Stopped, problem.Problem{Input: "changed-since", Message: tt.want})
			if len(tt.gh.Calls()) != 1 || len(api.Calls()) != 0 {
				t.Errorf("comparisons %q, lookups %q; want one comparison and no lookup", tt.gh.Calls(), methods(api.Calls()))
			}
		})
	}
}

// When what changed cannot be known exactly, or is too much, everything
// is purged, in every zone, saying why.
func TestChangedPurgesEverythingSayingWhy(t *testing.T) {
	t.Parallel()
	cut := ahead("public/a.html")
	cut.Comparison.Everything = "GitHub's comparison lists 300 changed files, the most it lists."
	for _, tt := range []struct {
		name        string
		in          []string
		gh          *fakeCompare
		comparisons int
		why         string
	}{
		{"changed-since empty", []string{"changed-since", ""}, ahead(), 0,
			"changed-since is empty (github.event.before is empty for events other than push), so what changed is unknown."},
		{"a new branch", []string{"changed-since", strings.Repeat("0", 40)}, ahead(), 0,
			"changed-since is all zeros: the first push of a new branch has no commit before it."},
		{"a comparison that cannot be known exactly", nil, cut, 1, "GitHub's comparison lists 300 changed files, the most it lists."},
		{"purge-everything-when", []string{"purge-everything-when", "config.toml\nlayouts/**"}, ahead("public/a.html", "layouts/base.html"), 1,
			`changed path "layouts/base.html" matches purge-everything-when pattern "layouts/**".`},
		{"max-changed", []string{"max-changed", "2"}, ahead("public/a.html", "public/b.css"), 1,
			"the changed files map to 3 URLs, more than max-changed (2)."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resolveStep(t, step(t, changedInputs(append(tt.in, "zone-id", comID+"\n"+orgID)...)...), knownZones(), tt.gh, 0)
			if r.err != nil || r.Nothing != "" || r.PurgeType != cloudflare.Everything || r.Targets != nil {
				t.Fatalf("error %v, nothing %q, purge type %s, targets %v; want everything", r.err, r.Nothing, r.PurgeType, r.Targets)
			}
			if got := sent(r.Plan); !equalSent(got, map[string][]string{comID: {"everything"}, orgID: {"everything"}}) {
				t.Errorf("jobs send %q; want everything in each zone", got)
			}
			if r.Changes == nil || r.Changes.Everything != tt.why {
				t.Errorf("changes %+v; want everything because %q", r.Changes, tt.why)
			}
			if len(tt.gh.Calls()) != tt.comparisons {
				t.Errorf("%d comparisons; want %d", len(tt.gh.Calls()), tt.comparisons)
			}
		})
	}
}

// When nothing changed that maps to a URL, there is nothing to purge,
// said why; nothing is looked up, and the zones are as the inputs give
// them.
func TestChangedWithNothingToPurge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		gh   *fakeCompare
		why  string
	}{
		{"identical", &fakeCompare{Comparison: changed.Comparison{Status: "identical"}},
			`GITHUB_SHA is the commit changed-since names ("` + before + `"): no file changed.`},
		{"no file changed", ahead(), "No file changed (changed since " + before + ")."},
		{"no rule matches", ahead("src/main.go"),
			"None of the 1 changed path(s) maps to a URL: no url-map rule matches them, or they are not safe to map (the log lists why)."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := knownZones()
			cfg := step(t, changedInputs("zone-id", orgID, "zone", "example.com")...)
			r := resolveStep(t, cfg, api, tt.gh, 0)
			if r.err != nil || r.Nothing != tt.why || r.Jobs != nil || r.Changes == nil {
				t.Errorf("error %v, nothing %q, %d jobs, changes %+v; want nothing to purge because %q", r.err, r.Nothing, len(r.Jobs), r.Changes, tt.why)
			}
			given := []string{orgID + "/", "/example.com"}
			var zones []string
			for _, z := range r.Zones {
				zones = append(zones, z.ID.String()+"/"+z.Name)
			}
			if !slices.Equal(zones, given) || len(api.Calls()) != 0 {
				t.Errorf("zones %q, lookups %q; want the zones as given %q, and no lookup", zones, methods(api.Calls()), given)
			}
		})
	}
}

// A changed file named after a secret maps to URLs that hold it: they
// are left out and listed as not purged, the secret blanked, its row
// saying why; the other files go on.
func TestChangedURLHoldingASecretIsLeftOut(t *testing.T) {
	t.Parallel()
	r := resolveStep(t, step(t, changedInputs()...), knownZones(), ahead("public/"+token+".html", "public/clean.html", "docs/"+ghToken+"/index.html"), 0)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []string{"https://www.example.com/clean.html", "https://www.example.com/clean"}
	if !slices.Equal(values(r.Targets), want) || !equalSent(sent(r.Plan), map[string][]string{comID: want}) {
		t.Errorf("targets %q, jobs send %q; want %q", values(r.Targets), sent(r.Plan), want)
	}
	notPurged := []string{`"https://www.example.com/***.html"`, `"https://www.example.com/***"`, `"https://docs.example.org/***/"`, `"https://docs.example.org/***/index.html"`}
	if !slices.Equal(r.NotPurged, notPurged) {
		t.Errorf("not purged %q\nwant %q", r.NotPurged, notPurged)
	}
	for _, row := range r.Changes.Rows {
		held := strings.Contains(row.Path, token) || strings.Contains(row.Path, ghToken)
		if held != (row.Skipped == "its URL holds a secret, so no request carries it") || held != (row.URLs == nil) {
			t.Errorf("row %+v; a row is skipped, with no URL, exactly when its URL holds a secret", row)
		}
	}
}

// A changed URL is validated as any files target is: one that is not a
// valid target (here its host, which url-map's rules do not check) is
// not mapped, its row saying why, and the other files go on.
func TestChangedURLThatIsNotATargetIsNotMapped(t *testing.T) {
	t.Parallel()
	cfg := step(t, changedInputs("url-map", "public/ => https://ex!ample.com/\ndocs/ => https://docs.example.org/")...)
	r := resolveStep(t, cfg, knownZones(), ahead("public/a.css", "docs/b.css"), 0)
	if r.err != nil || !slices.Equal(values(r.Targets), []string{"https://docs.example.org/b.css"}) || r.NotPurged != nil {
		t.Fatalf("error %v, targets %q, not purged %q; want the docs' URL alone", r.err, values(r.Targets), r.NotPurged)
	}
	want := changed.Row{Path: "public/a.css", Skipped: `not mapped: 1 bad target(s): line 1: URL host "ex!ample.com" has '!'; want a bare host name like www.example.com`}
	if !equalRow(r.Changes.Rows[0], want) {
		t.Errorf("row %+v\nwant %+v", r.Changes.Rows[0], want)
	}
}
