// Package cloudflare is what this project knows of Cloudflare's API: the
// request bodies, the endpoints of a zone and of an environment of it, the
// response envelope and its typed error, the rate-limit headers, and every
// documented limit (limits.go is their one home). Its Client sends one
// request per call and reports what came back; retries and pacing belong
// to the caller (package purge). Every request it sends passes an
// outbound.Guard, installed by NewClient: none carries a secret outside
// its auth headers.
//
// It imports only the standard library and outbound.
package cloudflare

import "encoding/json"

// PurgeType names one of the request bodies the purge endpoints accept.
type PurgeType string

// The purge types, spelled as the action's purge-type input spells them.
const (
	Everything PurgeType = "everything"
	Files      PurgeType = "files"
	Tags       PurgeType = "tags"
	Hosts      PurgeType = "hosts"
	Prefixes   PurgeType = "prefixes"
)

// ByHost reports whether each target of t names a host (files, hosts,
// prefixes), so that with several zones it belongs to the zone owning
// that host; tags and everything belong to every zone.
func (t PurgeType) ByHost() bool { return t == Files || t == Hosts || t == Prefixes }

// PurgeTypes lists every purge type, in the order the docs give them.
var PurgeTypes = []PurgeType{Everything, Files, Tags, Hosts, Prefixes}

// Target is one thing to purge: a URL, tag, host or prefix. Only a files
// target may carry Headers; a non-nil Headers (even empty) makes it the
// object form {"url": ..., "headers": {...}} in the request body.
type Target struct {
	Value   string
	Headers map[string]string
}

// MarshalJSON writes a plain string, or the URL-with-headers object form.
func (t Target) MarshalJSON() ([]byte, error) {
	if t.Headers == nil {
		return json.Marshal(t.Value)
	}
	return json.Marshal(struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}{t.Value, t.Headers})
}

// Body is one purge request body. NewBody sets exactly one field, because
// Cloudflare rejects (error 1012) or mishandles bodies that mix keys.
type Body struct {
	PurgeEverything bool     `json:"purge_everything,omitempty"`
	Files           []Target `json:"files,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	Hosts           []string `json:"hosts,omitempty"`
	Prefixes        []string `json:"prefixes,omitempty"`
}

// NewBody builds the body that purges targets by the given type. Targets
// are ignored for Everything.
func NewBody(typ PurgeType, targets []Target) Body {
	switch typ {
	case Files:
		return Body{Files: targets}
	case Tags:
		return Body{Tags: values(targets)}
	case Hosts:
		return Body{Hosts: values(targets)}
	case Prefixes:
		return Body{Prefixes: values(targets)}
	default:
		return Body{PurgeEverything: true}
	}
}

func values(targets []Target) []string {
	out := make([]string, len(targets))
	for i, t := range targets {
		out[i] = t.Value
	}
	return out
}
