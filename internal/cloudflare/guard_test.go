package cloudflare_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/outbound"
)

// countingTransport answers every request with a success and counts them.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(okBody)), Request: req}, nil
}

// A client made by NewClient sends no request that holds a secret: its
// own token or key, or the GitHub token it is given, anywhere but in the
// auth headers. The refusal is returned as it is, naming where.
func TestClientSendsNoSecret(t *testing.T) {
	t.Parallel()
	const (
		tok     = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
		key     = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d"
		ghToken = "ghs_Q7yV3kLm9PzR2xW8sT5nB1cD4fG6hJ0aE3iK"
	)
	byToken := cloudflare.Credentials{Token: tok}
	byKey := cloudflare.Credentials{Email: "ops@example.com", Key: key}
	files := func(secret string) cloudflare.Request {
		return cloudflare.Request{Scope: scope("z1", ""), Operation: cloudflare.Purge,
			Body: cloudflare.NewBody(cloudflare.Files, []cloudflare.Target{{Value: "https://www.example.com/public/" + secret + ".html"}})}
	}
	tests := []struct {
		name   string
		creds  cloudflare.Credentials
		secret string
		call   func(*cloudflare.Client, string) error
		where  string
	}{
		{"its token in a purge body", byToken, tok, func(c *cloudflare.Client, s string) error {
			_, err := c.Send(context.Background(), files(s))
			return err
		}, "body"},
		{"its key in a purge body", byKey, key, func(c *cloudflare.Client, s string) error {
			_, err := c.Send(context.Background(), files(s))
			return err
		}, "body"},
		{"the GitHub token in a purge body", byToken, ghToken, func(c *cloudflare.Client, s string) error {
			_, err := c.Send(context.Background(), files(s))
			return err
		}, "body"},
		{"the token in a files target's header", byToken, tok, func(c *cloudflare.Client, s string) error {
			_, err := c.Send(context.Background(), cloudflare.Request{Scope: scope("z1", ""), Operation: cloudflare.Purge,
				Body: cloudflare.NewBody(cloudflare.Files, []cloudflare.Target{{Value: "https://www.example.com/", Headers: map[string]string{"Origin": "https://" + s}}})})
			return err
		}, "body"},
		{"the GitHub token in a lookup's URL", byKey, ghToken, func(c *cloudflare.Client, s string) error {
			_, err := c.ZonesByName(context.Background(), s+".example.com")
			return err
		}, "URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := &countingTransport{}
			c := cloudflare.NewClient("https://api.cloudflare.com/client/v4", tt.creds, &http.Client{Transport: rt}, "ua", ghToken)
			err := tt.call(c, tt.secret)
			refused, ok := errors.AsType[*outbound.RefusedError](err)
			if !ok || refused.Where != tt.where || err.Error() != refused.Error() {
				t.Errorf("error %v; want the guard's refusal in its %s, unwrapped", err, tt.where)
			}
			if err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error quotes the secret: %v", err)
			}
			if n := rt.n.Load(); n != 0 {
				t.Errorf("%d request(s) sent", n)
			}
			// The same client still sends a request without a secret, its
			// credentials in their headers.
			if _, err := c.Send(context.Background(), files("index")); err != nil || rt.n.Load() != 1 {
				t.Errorf("a clean request: error %v, %d sent; want it sent", err, rt.n.Load())
			}
		})
	}
}
