package checks

import (
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/purge"
	"github.com/cfpurge/cloudflare-purge-action/internal/report"
	"github.com/cfpurge/cloudflare-purge-action/internal/resolve"
)

// With nested zones (example.com and shop.example.com), a URL of the shop
// belongs to the shop's zone by the one ownership rule (resolve.Owner,
// the longest parent domain), so it is judged against the shop's purge
// time and counts in the shop's results, not example.com's, which also
// ends its host.
func TestNestedZonesJudgeAURLByItsOwnZonesPurge(t *testing.T) {
	t.Parallel()
	id := func(s string) cloudflare.ID {
		v, err := cloudflare.ParseID(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	parent, shop := id("0aaa"), id("0bbb")
	shopURL := cloudflare.Target{Value: "https://shop.example.com/cart"}
	wwwURL := cloudflare.Target{Value: "https://www.example.com/"}
	rp := &resolve.Plan{
		Zones:      []resolve.Zone{{ID: parent, Name: "example.com"}, {ID: shop, Name: "shop.example.com"}},
		PurgeType:  cloudflare.Tags,
		VerifyURLs: []cloudflare.Target{wwwURL, shopURL},
	}
	cfg := &config.Config{PurgeType: cloudflare.Tags, Concurrency: 1, Checks: config.Checks{Verify: config.VerifyFail}}
	c := New(cfg, report.New(rp, cfg), nil, nil)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	// The parent zone's purge was confirmed first, the shop's 30 s later:
	// a copy of the shop cached between the two is stale.
	results := []purge.BatchResult{{Job: 0, First: t0}, {Job: 1, First: t0.Add(30 * time.Second)}}
	checked, notPurged := c.toCheck(c.confirmations(results))
	if len(notPurged) != 0 || len(checked) != 2 {
		t.Fatalf("checked %+v, not purged %+v", checked, notPurged)
	}
	for _, st := range checked {
		want, zone := t0, 0
		if st.URL == shopURL.Value {
			want, zone = t0.Add(30*time.Second), 1
		}
		if !st.Purged.Equal(want) || st.Zone != zone {
			t.Errorf("%s: judged against %s in zone %d, want %s in zone %d", st.URL, st.Purged, st.Zone, want, zone)
		}
	}
}
