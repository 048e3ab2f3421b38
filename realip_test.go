package caddyingress

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestRealIP(t *testing.T) {
	tests := []struct {
		name        string
		app         *App
		peer, xff   string
		wantClient  string
		wantTrusted bool
	}{
		{name: "off", app: new(App), peer: "10.0.0.1:1234", xff: "203.0.113.5", wantClient: "10.0.0.1"},
		{name: "trusted peer", app: &App{UseForwardedHeaders: true, ProxyRealIPCIDR: []string{"10.0.0.0/8"}},
			peer: "10.0.0.1:1234", xff: "203.0.113.5, 10.0.0.2", wantClient: "203.0.113.5", wantTrusted: true},
		{name: "untrusted peer", app: &App{UseForwardedHeaders: true, ProxyRealIPCIDR: []string{"10.0.0.0/8"}},
			peer: "192.0.2.1:1234", xff: "203.0.113.5", wantClient: "192.0.2.1"},
		{name: "spoofed start of the list", app: &App{UseForwardedHeaders: true, ProxyRealIPCIDR: []string{"10.0.0.0/8"}},
			peer: "10.0.0.1:1234", xff: "1.2.3.4, 203.0.113.5", wantClient: "203.0.113.5", wantTrusted: true},
		{name: "enable_real_ip reads the address only", app: &App{EnableRealIP: true, ProxyRealIPCIDR: []string{"10.0.0.1"}},
			peer: "10.0.0.1:1234", xff: "203.0.113.5", wantClient: "203.0.113.5"},
		{name: "garbage keeps the peer", app: &App{UseForwardedHeaders: true},
			peer: "10.0.0.1:1234", xff: "not-an-ip", wantClient: "10.0.0.1", wantTrusted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.app
			if err := a.provisionRealIP(); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "http://a.example.com/", nil)
			r.RemoteAddr = tt.peer
			r.Header.Set("X-Forwarded-For", tt.xff)
			host := tt.peer[:len(tt.peer)-len(":1234")]
			r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{
				caddyhttp.ClientIPVarKey: host, caddyhttp.TrustedProxyVarKey: false,
			}))
			a.realIP.apply(r)
			if got := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey); got != tt.wantClient {
				t.Errorf("client: got %v, want %s", got, tt.wantClient)
			}
			if got := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey); got != tt.wantTrusted {
				t.Errorf("trusted: got %v, want %v", got, tt.wantTrusted)
			}
		})
	}
	bad := &App{ProxyRealIPCIDR: []string{"10.0.0.0/8"}}
	if err := bad.provisionRealIP(); err == nil {
		t.Error("proxy_real_ip_cidr alone: want an error")
	}
	bad = &App{UseForwardedHeaders: true, ProxyRealIPCIDR: []string{"10.0.0.0/40"}}
	if err := bad.provisionRealIP(); err == nil {
		t.Error("bad network: want an error")
	}
}
