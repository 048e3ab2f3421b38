package caddyfile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestParseDirective covers the directive's own syntax. A Helper built
// outside the adapter has no site block, so the results hold the route
// only; the testdata goldens cover the TLS values.
func TestParseDirective(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantMatch string
		wantErr   string
	}{
		{
			name:  "no matcher",
			input: "ingress",
		},
		{
			name:      "path matcher",
			input:     "ingress /app/*",
			wantMatch: `[{"path":["/app/*"]}]`,
		},
		{
			name:  "wildcard matcher",
			input: "ingress *",
		},
		{
			name:    "argument",
			input:   "ingress foo",
			wantErr: "wrong argument count",
		},
		{
			name:    "argument after matcher",
			input:   "ingress /app/* foo",
			wantErr: "wrong argument count",
		},
		{
			name:    "block",
			input:   "ingress {\n\tstrip_prefix /app\n}",
			wantErr: "ingress directive takes no block",
		},
		{
			name:    "block after matcher",
			input:   "ingress /app/* {\n\tstrip_prefix /app\n}",
			wantErr: "ingress directive takes no block",
		},
		{
			name:    "undefined named matcher",
			input:   "ingress @app",
			wantErr: "unrecognized matcher name: @app",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(tt.input)}
			vals, err := parseDirective(h)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(vals) != 1 || vals[0].Class != "route" {
				t.Fatalf("got %v, want one route", vals)
			}
			route, ok := vals[0].Value.(caddyhttp.Route)
			if !ok {
				t.Fatalf("got %T, want caddyhttp.Route", vals[0].Value)
			}
			if len(route.HandlersRaw) != 1 || string(route.HandlersRaw[0]) != `{"handler":"ingress"}` {
				t.Errorf("got handlers %s, want [{\"handler\":\"ingress\"}]", route.HandlersRaw)
			}
			var gotMatch string
			if route.MatcherSetsRaw != nil {
				b, err := json.Marshal(route.MatcherSetsRaw)
				if err != nil {
					t.Fatal(err)
				}
				gotMatch = string(b)
			}
			if gotMatch != tt.wantMatch {
				t.Errorf("got matchers %v, want %v", gotMatch, tt.wantMatch)
			}
		})
	}
}

func TestServesHTTPS(t *testing.T) {
	tests := []struct {
		name      string
		address   string
		httpPort  string
		httpsPort string
		want      bool
	}{
		{name: "https scheme", address: "https://", httpPort: "80", httpsPort: "443", want: true},
		{name: "https scheme on other port", address: "https://:9000", httpPort: "80", httpsPort: "443", want: true},
		{name: "http scheme", address: "http://", httpPort: "80", httpsPort: "443", want: false},
		{name: "http scheme with host", address: "http://example.com", httpPort: "80", httpsPort: "443", want: false},
		{name: "https port", address: ":443", httpPort: "80", httpsPort: "443", want: true},
		{name: "custom https port", address: ":8443", httpPort: "8080", httpsPort: "8443", want: true},
		{name: "http port", address: ":80", httpPort: "80", httpsPort: "443", want: false},
		{name: "custom http port", address: ":8080", httpPort: "8080", httpsPort: "8443", want: false},
		{name: "default https port when custom", address: ":443", httpPort: "8080", httpsPort: "8443", want: false},
		{name: "host", address: "example.com", httpPort: "80", httpsPort: "443", want: true},
		{name: "wildcard host", address: "*.example.com", httpPort: "80", httpsPort: "443", want: true},
		{name: "host on http port", address: "example.com:80", httpPort: "80", httpsPort: "443", want: false},
		{name: "host on other port", address: "example.com:9443", httpPort: "80", httpsPort: "443", want: true},
		{name: "no host on other port", address: ":9000", httpPort: "80", httpsPort: "443", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, err := httpcaddyfile.ParseAddress(tt.address)
			if err != nil {
				t.Fatal(err)
			}
			if got := servesHTTPS(addr, tt.httpPort, tt.httpsPort); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSiteKeysFindsBlock fails when a Caddy upgrade moves the site block
// out of httpcaddyfile.Helper, where siteKeys reads it.
func TestSiteKeysFindsBlock(t *testing.T) {
	keys, ok := siteKeys(httpcaddyfile.Helper{})
	if !ok {
		t.Fatal("got no site block field in httpcaddyfile.Helper, want one")
	}
	if len(keys) != 0 {
		t.Errorf("got %v, want no keys", keys)
	}
}
