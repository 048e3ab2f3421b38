package caddyingress

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestSetUpstreamHeaders(t *testing.T) {
	for _, tc := range []struct {
		name       string
		full       bool
		tls        bool
		wantXFF    string
		wantScheme string
	}{
		{name: "client", wantXFF: "192.0.2.7", wantScheme: "http"},
		{name: "full", full: true, tls: true, wantXFF: "198.51.100.1, 192.0.2.7", wantScheme: "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://app.example.com/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
			caddyhttp.SetVar(r.Context(), caddyhttp.ClientIPVarKey, "192.0.2.7")
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r.Header["X-Real-Ip"] = []string{"203.0.113.9"}
			r.Header["X-Scheme"] = []string{"gopher"}
			r.Header["Proxy"] = []string{"http://evil"}
			r.Header["X-Request-Id"] = []string{"a", "b"}
			r.Header["X-Forwarded-For"] = []string{"198.51.100.1, 192.0.2.7"}
			setUpstreamHeaders(r, tc.full)
			want := http.Header{
				"X-Real-Ip": {"192.0.2.7"}, "X-Forwarded-For": {tc.wantXFF}, "X-Scheme": {tc.wantScheme},
				"X-Forwarded-Scheme": {tc.wantScheme}, "X-Request-Id": {"a,b"},
			}
			for k, v := range want {
				if got := r.Header[k]; len(got) != 1 || got[0] != v[0] {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
			if _, ok := r.Header["Proxy"]; ok {
				t.Errorf("Proxy header kept: %q", r.Header["Proxy"])
			}
		})
	}
}

func TestNewRequestID(t *testing.T) {
	hex32 := regexp.MustCompile(`\A[0-9a-f]{32}\z`)
	seen := make(map[string]bool)
	for range 1000 {
		id := newRequestID()
		if !hex32.MatchString(id) {
			t.Fatalf("request ID %q: want 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request ID %q made twice", id)
		}
		seen[id] = true
	}
}

func TestTransportForwardingValue(t *testing.T) {
	for _, v := range []string{"", "client", "full"} {
		if _, err := (&Transport{Forwarding: v}).settings(); err != nil {
			t.Errorf("forwarding %q: %v", v, err)
		}
	}
	if _, err := (&Transport{Forwarding: "{http.vars.x}"}).settings(); err == nil {
		t.Error("forwarding with a placeholder: no error")
	}
}

// fakeAddr is a net.Addr of another kind than TCP.
type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

func TestLocalPort(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 443}, "443"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 80}, "80"},
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 8443}, "8443"},
		{fakeAddr("[::1]:9000"), "9000"},
		{fakeAddr("/run/caddy.sock"), ""},
	} {
		if got := localPort(c.addr); got != c.want {
			t.Errorf("localPort(%v) = %q, want %q", c.addr, got, c.want)
		}
	}
}

func TestSetForwardingHeadersOriginals(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		sent                   http.Header
		forwardedFor           string
		wantOriginalFor, wantH []string
	}{
		{name: "none sent", sent: http.Header{}},
		{
			name:            "forwarded headers sent",
			sent:            http.Header{"X-Forwarded-For": {"203.0.113.1, 10.0.0.1", "10.0.0.2"}, "X-Forwarded-Host": {"shop.example"}},
			wantOriginalFor: []string{"203.0.113.1, 10.0.0.1, 10.0.0.2"}, wantH: []string{"shop.example"},
		},
		{
			name: "originals forged",
			sent: http.Header{"X-Original-Forwarded-For": {"192.0.2.66"}, "X-Original-Forwarded-Host": {"evil.example"}},
		},
		{
			name:            "forwarded_for_header",
			sent:            http.Header{"X-Forwarded-For": {"198.51.100.3"}, "X-Client-Ip": {"203.0.113.5"}},
			forwardedFor:    "X-Client-Ip",
			wantOriginalFor: []string{"203.0.113.5"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://app.example.com/", nil)
			r.Header = tc.sent
			forwardedFor := tc.forwardedFor
			if forwardedFor == "" {
				forwardedFor = "X-Forwarded-For"
			}
			setForwardingHeaders(r, forwardedFor)
			if got := r.Header["X-Original-Forwarded-For"]; !slices.Equal(got, tc.wantOriginalFor) {
				t.Errorf("X-Original-Forwarded-For: got %q, want %q", got, tc.wantOriginalFor)
			}
			if got := r.Header["X-Original-Forwarded-Host"]; !slices.Equal(got, tc.wantH) {
				t.Errorf("X-Original-Forwarded-Host: got %q, want %q", got, tc.wantH)
			}
		})
	}
}

func TestDropOwnVia(t *testing.T) {
	for _, tc := range []struct{ via, want []string }{
		{nil, nil},
		{[]string{"1.1 Caddy"}, nil},
		{[]string{"2.0 Caddy"}, nil},
		{[]string{"1.0 fred, 1.1 example.com (Apache/1.1)", "1.1 Caddy"}, []string{"1.0 fred, 1.1 example.com (Apache/1.1)"}},
		{[]string{"1.0 fred"}, []string{"1.0 fred"}},
	} {
		h := http.Header{}
		if tc.via != nil {
			h["Via"] = slices.Clone(tc.via)
		}
		dropOwnVia(h)
		if got := h["Via"]; !slices.Equal(got, tc.want) {
			t.Errorf("Via %q: got %q, want %q", tc.via, got, tc.want)
		}
		if _, ok := h["Via"]; ok != (tc.want != nil) {
			t.Errorf("Via %q: header present %v, want %v", tc.via, ok, tc.want != nil)
		}
	}
}
