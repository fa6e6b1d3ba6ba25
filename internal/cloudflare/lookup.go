package cloudflare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// maxPages bounds how many pages one lookup follows, so that a server
// answering total_pages: 1e9 cannot keep the action busy.
const maxPages = 100

// ZonesByName lists the zones named name that the credentials can read
// (GET /zones?name=…, every page). Needs Zone › Zone › Read.
func (c *Client) ZonesByName(ctx context.Context, name string) ([]Zone, error) {
	var all []Zone
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"name": {name}, "page": {fmt.Sprint(page)}, "per_page": {fmt.Sprint(zonesPerPage)}}
		var zones []Zone
		info, err := c.get(ctx, "/zones?"+q.Encode(), &zones)
		if err != nil {
			return nil, err
		}
		all = append(all, zones...)
		if info == nil || page >= info.TotalPages || len(zones) == 0 {
			return all, nil
		}
	}
	return all, nil
}

// Zone reads one zone (GET /zones/{id}). Needs Zone › Zone › Read.
func (c *Client) Zone(ctx context.Context, id string) (Zone, error) {
	var z Zone
	_, err := c.get(ctx, "/zones/"+url.PathEscape(id), &z)
	return z, err
}

// Environments lists a versioned zone's environments (GET
// /zones/{id}/environments). Needs Zone Versioning Read.
func (c *Client) Environments(ctx context.Context, zoneID string) ([]Environment, error) {
	var result struct {
		Environments []Environment `json:"environments"`
	}
	_, err := c.get(ctx, "/zones/"+url.PathEscape(zoneID)+"/environments", &result)
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
	if err := json.Unmarshal(env.Result, out); err != nil {
		return nil, &APIError{Status: resp.StatusCode, Problem: "the result is not what " + path + " returns: " + err.Error()}
	}
	return env.ResultInfo, nil
}
