package cloudflare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Zone is a zone as the zone lookups describe it.
type Zone struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Account struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"account"`
	Plan struct {
		LegacyID string `json:"legacy_id"` // free, pro, business or enterprise
	} `json:"plan"`
}

// Environment is one environment of a versioned zone.
type Environment struct {
	Ref  string `json:"ref"` // the ID the environment paths take
	Name string `json:"name"`
}

// zonesPerPage is the most zones a page of GET /zones holds.
const zonesPerPage = 50

// maxZonePages bounds how many pages one name lookup reads. An exact
// name matches one zone per account the token can read, so one page is
// the rule; a server that claims more pages than this, repeats a page or
// answers another page than the one asked for is not believed: the
// lookup fails rather than loop or guess.
const maxZonePages = 5

// ZonesByName lists the zones named name that the credentials can read
// (GET /zones?name=…, page by page), each zone once. Needs Zone › Zone ›
// Read. The IDs are as the server sent them: the caller validates them.
func (c *Client) ZonesByName(ctx context.Context, name string) ([]Zone, error) {
	var all []Zone
	seen := map[string]bool{}
	for page := 1; ; page++ {
		q := url.Values{"name": {name}, "page": {fmt.Sprint(page)}, "per_page": {fmt.Sprint(zonesPerPage)}}
		var zones []Zone
		info, err := c.get(ctx, "/zones?"+q.Encode(), &zones)
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, z := range zones {
			if !seen[z.ID] {
				seen[z.ID] = true
				all = append(all, z)
				fresh++
			}
		}
		switch {
		case info == nil || page >= int(info.TotalPages) || len(zones) == 0:
			return all, nil
		case info.Page != 0 && int(info.Page) != page:
			return nil, &APIError{Status: http.StatusOK, Problem: fmt.Sprintf("asked for page %d of the zones, the answer says page %d: the listing does not advance", page, info.Page)}
		case fresh == 0:
			return nil, &APIError{Status: http.StatusOK, Problem: fmt.Sprintf("page %d of the zones repeats earlier ones: the listing does not advance", page)}
		case page >= maxZonePages:
			return nil, &APIError{Status: http.StatusOK, Problem: fmt.Sprintf("the listing claims %d pages of zones of this name; at most %d are read", info.TotalPages, maxZonePages)}
		}
	}
}

// Zone reads one zone (GET /zones/{id}). Needs Zone › Zone › Read.
func (c *Client) Zone(ctx context.Context, id ID) (Zone, error) {
	var z Zone
	if id.IsZero() {
		return z, fmt.Errorf("%w: no zone ID", ErrIncompleteScope)
	}
	_, err := c.get(ctx, "/zones/"+url.PathEscape(id.s), &z)
	return z, err
}

// Environments lists a versioned zone's environments (GET
// /zones/{id}/environments). Needs Zone Versioning Read.
func (c *Client) Environments(ctx context.Context, zone ID) ([]Environment, error) {
	var result struct {
		Environments []Environment `json:"environments"`
	}
	if zone.IsZero() {
		return nil, fmt.Errorf("%w: no zone ID", ErrIncompleteScope)
	}
	_, err := c.get(ctx, "/zones/"+url.PathEscape(zone.s)+"/environments", &result)
	return result.Environments, err
}

// get sends a GET to path (below the base URL) and decodes the envelope's
// result into out.
func (c *Client) get(ctx context.Context, path string, out any) (*resultInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, networkError(err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	env, err := decodeEnvelope(resp, raw, readErr, time.Now())
	if err != nil {
		return nil, err
	}
	listing, _, _ := strings.Cut(path, "?")
	listing = "GET " + listing
	if err := json.Unmarshal(env.Result, out); err != nil {
		return nil, &APIError{Status: resp.StatusCode, Problem: "the result is not what " + listing + " returns: " + err.Error()}
	}
	info, err := parseResultInfo(resp.StatusCode, env.ResultInfo, listing)
	if err != nil {
		return nil, err
	}
	c.warnOf("the lookup "+listing, env.Errors)
	return info, nil
}
