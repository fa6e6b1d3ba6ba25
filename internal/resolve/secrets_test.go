package resolve_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
)

// percentEncoded writes every byte of s as %XX: no run of it is left for
// a redactor that matches bytes as they stand.
func percentEncoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// A target or a URL to check that holds a secret, as it stands or
// percent-encoded, in its value or in a cache-key header, is left out of
// the plan and listed, the secret blanked; the rest are purged and
// checked. The validated Config is not changed.
func TestTargetsAndURLsHoldingASecretAreLeftOut(t *testing.T) {
	t.Parallel()
	const site = "https://www.example.com"
	targets := strings.Join([]string{
		site + "/a",
		site + "/" + token + ".css",
		site + "/x/" + strings.ReplaceAll(token, "_", "%5F"),
		site + "/y/" + percentEncoded(ghToken),
		`{"url": "` + site + `/h", "headers": {"Accept-Language": "` + token + `"}}`,
		`{"url": "` + site + `/n", "headers": {"` + token + `": "1"}}`,
		site + "/b",
	}, "\n")
	cfg := step(t, "purge-type", "files", "targets", targets, "verify", "warn", "verify-urls", site+"/a\n"+site+"/?v="+token+"\n"+site+"/b")
	r := resolveStep(t, cfg, knownZones(), nil, 0)
	if r.err != nil || r.Nothing != "" {
		t.Fatalf("error %v, nothing %q", r.err, r.Nothing)
	}
	clean := []string{site + "/a", site + "/b"}
	if !slices.Equal(values(r.Targets), clean) || !equalSent(sent(r.Plan), map[string][]string{comID: clean}) || !slices.Equal(values(r.VerifyURLs), clean) {
		t.Errorf("targets %q, jobs send %q, URLs to check %q; want %q each", values(r.Targets), sent(r.Plan), values(r.VerifyURLs), clean)
	}
	// The redactor blanks every run of safetext.MinRun bytes or more of
	// a secret: the shorter ends of one split by escapes are shown.
	notPurged := []string{`"` + site + `/***.css"`, `"` + site + `/x/cfut%5F***%5F4f2a"`, `"` + site + `/y/***"`, `"` + site + `/h"`, `"` + site + `/n"`}
	if !slices.Equal(r.NotPurged, notPurged) {
		t.Errorf("not purged %q\nwant %q", r.NotPurged, notPurged)
	}
	if want := []string{`"` + site + `/?v=***"`}; !slices.Equal(r.NotChecked, want) {
		t.Errorf("not checked %q; want %q", r.NotChecked, want)
	}
	if len(cfg.Targets) != 7 || len(cfg.VerifyURLs) != 3 {
		t.Errorf("the config was written: %d targets, %d URLs to check", len(cfg.Targets), len(cfg.VerifyURLs))
	}
}

// Tags, hosts and prefixes are targets too.
func TestATagHoldingASecretIsLeftOut(t *testing.T) {
	t.Parallel()
	r := resolveStep(t, step(t, "purge-type", "tags", "targets", "a\nrelease-"+token+"\nb"), knownZones(), nil, 0)
	if r.err != nil || !equalSent(sent(r.Plan), map[string][]string{comID: {"a", "b"}}) || !slices.Equal(r.NotPurged, []string{`"release-***"`}) {
		t.Errorf("error %v, jobs send %q, not purged %q; want a and b sent, the other listed", r.err, sent(r.Plan), r.NotPurged)
	}
}

// When every target holds a secret there is nothing to purge, said why,
// and nothing is looked up; purging everything holds no target, so it
// goes on whatever the URLs to check hold.
func TestEveryTargetHoldingASecretIsNothingToPurge(t *testing.T) {
	t.Parallel()
	api := knownZones()
	r := resolveStep(t, step(t, "zone-id", "", "zone", "example.com", "purge-type", "hosts", "targets", token+".example.com"), api, nil, 0)
	if r.err != nil || r.Nothing != "Every target holds a secret, so none was sent (the warning lists them)." || r.Jobs != nil {
		t.Errorf("error %v, nothing %q, %d jobs; want nothing to purge", r.err, r.Nothing, len(r.Jobs))
	}
	if !slices.Equal(r.NotPurged, []string{`"***.example.com"`}) || !slices.Equal(r.Zones, []resolve.Zone{{Name: "example.com"}}) || len(api.Calls()) != 0 {
		t.Errorf("not purged %q, zones %+v, lookups %q; want the target listed, the zone as given, no lookup", r.NotPurged, r.Zones, methods(api.Calls()))
	}

	r = resolveStep(t, step(t, "purge-type", "everything", "verify", "warn", "verify-urls", "https://www.example.com/?v="+token), knownZones(), nil, 0)
	if r.err != nil || r.Nothing != "" || !equalSent(sent(r.Plan), map[string][]string{comID: {"everything"}}) ||
		len(r.VerifyURLs) != 0 || !slices.Equal(r.NotChecked, []string{`"https://www.example.com/?v=***"`}) {
		t.Errorf("everything: error %v, nothing %q, jobs send %q, URLs to check %q, not checked %q", r.err, r.Nothing, sent(r.Plan), values(r.VerifyURLs), r.NotChecked)
	}
}

// Without known secrets nothing is left out; a value is quoted as it is.
func TestNoSecretsLeaveNothingOut(t *testing.T) {
	t.Parallel()
	cfg := step(t, "purge-type", "tags", "targets", "release-"+token)
	p, err := resolve.Resolve(t.Context(), cfg, knownZones(), resolve.Options{})
	if err != nil || !slices.Equal(values(p.Targets), []string{"release-" + token}) || p.NotPurged != nil || p.Nothing != "" {
		t.Errorf("error %v, targets %q, not purged %q, nothing %q; want the tag kept", err, values(p.Targets), p.NotPurged, p.Nothing)
	}
	var none *resolve.Secrets
	if none.Held(cloudflare.Target{Value: token}) || none.Quote("a\n"+token) != `"a\n`+token+`"` {
		t.Errorf("a nil *Secrets holds a value, or quotes it otherwise than as it is")
	}
}
