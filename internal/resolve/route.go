package resolve

import (
	"fmt"
	"strings"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
	"github.com/cfpurge/cloudflare-purge-action/internal/problem"
	"github.com/cfpurge/cloudflare-purge-action/internal/safetext"
	"github.com/cfpurge/cloudflare-purge-action/internal/targets"
)

// route gives each zone its targets: tags and everything go to every
// zone; files, hosts and prefixes, with several zones, to the zone whose
// name is the target's host or its longest parent domain
// (cdn.example.org → example.org). A target no zone owns is a problem of
// the input it came from, listed by line.
func route(typ cloudflare.PurgeType, ts []cloudflare.Target, sources []config.Source, zones []Zone) ([][]cloudflare.Target, error) {
	out := make([][]cloudflare.Target, len(zones))
	if len(zones) == 1 || !typ.ByHost() {
		for i := range zones {
			out[i] = ts
		}
		return out, nil
	}
	unowned := map[string]bool{}
	for _, t := range ts {
		if i := Owner(targets.Host(typ, t), zones); i >= 0 {
			out[i] = append(out[i], t)
		} else {
			unowned[t.Value] = true
		}
	}
	if len(unowned) == 0 {
		return out, nil
	}
	var names []string
	for _, z := range zones {
		names = append(names, z.Name)
	}
	var problems []problem.Problem
	for _, src := range sources {
		bad := &targets.BadLinesError{}
		for it := range targets.Items(typ, src.Text) {
			if it.Err == nil && unowned[it.Target.Value] {
				bad.Add(it.Line, fmt.Errorf("%s is in none of the zones", safetext.Quote(it.Target.Value)))
			}
		}
		if bad.Count > 0 {
			problems = append(problems, problem.Problem{Input: src.Input,
				Message: fmt.Sprintf("%v; the zones are %s: add the zone that owns them, or remove them", bad, strings.Join(names, ", "))})
		}
	}
	return nil, &problem.Error{Kind: problem.Invalid, Problems: problems}
}

// Owner is the index of the zone whose name is host or its longest
// parent domain, or -1 (a zone whose name is unknown owns nothing).
func Owner(host string, zones []Zone) int {
	best := -1
	for i, z := range zones {
		if (host == z.Name || strings.HasSuffix(host, "."+z.Name)) && (best < 0 || len(z.Name) > len(zones[best].Name)) {
			best = i
		}
	}
	return best
}
