package caddyingress

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func TestRedirectFor(t *testing.T) {
	https := ingress.Redirect{HTTPS: true}
	tests := []struct {
		name       string
		rd         ingress.Redirect
		url        string
		tls        bool
		trusted    bool
		header     map[string]string
		wantCode   int
		wantTarget string
	}{
		{name: "https drops one trailing slash", rd: https, url: "http://a.example.com/foo/", wantCode: 308, wantTarget: "https://a.example.com/foo"},
		{name: "https root", rd: https, url: "http://a.example.com/", wantCode: 308, wantTarget: "https://a.example.com"},
		{name: "https keeps the query", rd: https, url: "http://a.example.com/foo/?a=1", wantCode: 308, wantTarget: "https://a.example.com/foo/?a=1"},
		{name: "https drops the request's port", rd: ingress.Redirect{HTTPS: true, HTTPSPort: 8443}, url: "http://a.example.com:8080/x", wantCode: 308, wantTarget: "https://a.example.com:8443/x"},
		{name: "https keeps the slash", rd: ingress.Redirect{HTTPS: true, PreserveTrailingSlash: true}, url: "http://a.example.com/foo/", wantCode: 308, wantTarget: "https://a.example.com/foo/"},
		{name: "https IPv6 host", rd: https, url: "http://[::1]:8080/x", wantCode: 308, wantTarget: "https://[::1]/x"},
		{name: "already https", rd: https, url: "https://a.example.com/x", tls: true},
		{name: "ACME challenge", rd: https, url: "http://a.example.com/.well-known/acme-challenge/token"},
		{name: "X-Forwarded-Proto from a trusted proxy", rd: https, url: "http://a.example.com/x", trusted: true, header: map[string]string{"X-Forwarded-Proto": "https"}},
		{name: "X-Forwarded-Proto from anyone else", rd: https, url: "http://a.example.com/x", header: map[string]string{"X-Forwarded-Proto": "https"}, wantCode: 308, wantTarget: "https://a.example.com/x"},
		{name: "X-Forwarded-Host from a trusted proxy", rd: https, url: "http://internal/x", trusted: true, header: map[string]string{"X-Forwarded-Host": "public.example.com, other"}, wantCode: 308, wantTarget: "https://public.example.com/x"},
		{name: "fixed URL", rd: ingress.Redirect{To: "https://b.example.com/new", Code: 301}, url: "https://a.example.com/old?x=1", tls: true, wantCode: 301, wantTarget: "https://b.example.com/new"},
		{name: "fixed path", rd: ingress.Redirect{To: "/new", Code: 302}, url: "http://a.example.com:8080/old", wantCode: 302, wantTarget: "http://a.example.com:8080/new"},
		{name: "fixed path kept relative", rd: ingress.Redirect{To: "/new", Code: 301, Relative: true}, url: "http://a.example.com:8080/old", wantCode: 301, wantTarget: "/new"},
		{name: "relative leaves a URL as it is", rd: ingress.Redirect{To: "https://b.example.com/new", Code: 301, Relative: true}, url: "http://a.example.com/old", wantCode: 301, wantTarget: "https://b.example.com/new"},
		{name: "fixed wins over https", rd: ingress.Redirect{To: "https://b.example.com", Code: 301, HTTPS: true}, url: "http://a.example.com/", wantCode: 301, wantTarget: "https://b.example.com"},
		{name: "www", rd: ingress.Redirect{Host: "example.com"}, url: "http://www.example.com/a/?q=1", wantCode: 308, wantTarget: "http://example.com:8080/a/?q=1"},
		{name: "www trailing slash", rd: ingress.Redirect{Host: "example.com"}, url: "https://www.example.com/a/", tls: true, wantCode: 308, wantTarget: "https://example.com:8080/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.url, nil)
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			ctx := context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
			ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.TrustedProxyVarKey: tt.trusted})
			r = r.WithContext(ctx)
			target, code, ok := redirectFor(&tt.rd, r)
			if ok != (tt.wantCode != 0) || code != tt.wantCode || target != tt.wantTarget {
				t.Errorf("got %v %d %q, want %d %q", ok, code, target, tt.wantCode, tt.wantTarget)
			}
		})
	}
}
