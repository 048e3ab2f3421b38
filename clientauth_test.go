package caddyingress

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// seen records the request a backend got.
type seen struct{ r *http.Request }

func (s *seen) ServeHTTP(_ http.ResponseWriter, r *http.Request) error {
	s.r = r
	return nil
}

// clientAuthHandler serves a table with host mtls.test (client auth as
// given) and open.test (none), both proxied to backend.
func clientAuthHandler(auth *ingress.ClientAuth, backend caddyhttp.Handler) *Handler {
	a := &App{httpsPort: 8443}
	res := &ingress.Result{Hosts: ingress.NewHostList([]*ingress.Host{
		{Host: "mtls.test", TLS: true, ClientAuth: auth, Paths: []ingress.Path{{Path: "/", Type: ingress.PathPrefix}}},
		{Host: "open.test", TLS: true, Paths: []ingress.Path{{Path: "/", Type: ingress.PathPrefix}}},
	})}
	a.setTable(res, backend)
	return &Handler{app: a}
}

// serveStatus serves r with h and returns the recorded response and its
// status: the one written, or that of the handler error returned.
func serveStatus(t *testing.T, h *Handler, r *http.Request) (*httptest.ResponseRecorder, int) {
	t.Helper()
	w := httptest.NewRecorder()
	err := h.ServeHTTP(w, r, nil)
	var he caddyhttp.HandlerError
	if errors.As(err, &he) {
		return w, he.StatusCode
	} else if err != nil {
		t.Fatal(err)
	}
	return w, w.Code
}

func TestClientAuth(t *testing.T) {
	ca := newTestCA(t, "client CA")
	other := newTestCA(t, "other CA")
	good := ca.clientCert(t, "alice")
	intermediate := ca.intermediate(t, "intermediate")
	deep := intermediate.clientCert(t, "bob")
	second := intermediate.intermediate(t, "second intermediate")
	deeper := second.clientCert(t, "carol")
	stranger := other.clientCert(t, "mallory")

	auth := func(verify ingress.ClientVerify, depth int, pass bool) *ingress.ClientAuth {
		return &ingress.ClientAuth{Ingress: "default/mtls", Secret: "default/ca", Verify: verify, Depth: depth, PassCertificate: pass, CAs: ca.pool}
	}
	tlsState := func(sni string, certs ...*x509.Certificate) *tls.ConnectionState {
		cs := &tls.ConnectionState{ServerName: sni, HandshakeComplete: true}
		for _, c := range certs {
			cs.PeerCertificates = append(cs.PeerCertificates, c)
		}
		return cs
	}
	tests := []struct {
		name       string
		auth       *ingress.ClientAuth
		host       string
		tls        *tls.ConnectionState
		wantStatus int    // 0: served by the backend
		wantVerify string // ssl-client-verify the backend got
	}{
		{"verified", auth("on", 1, false), "mtls.test", tlsState("mtls.test", good), 0, "SUCCESS"},
		{"no certificate", auth("on", 1, false), "mtls.test", tlsState("mtls.test"), 400, ""},
		{"other CA", auth("on", 1, false), "mtls.test", tlsState("mtls.test", stranger), 400, ""},
		// The depth counts intermediates, as OpenSSL does: depth 1 takes
		// one, as nginx's ssl_verify_depth 1 does.
		{"one intermediate within depth 1", auth("on", 1, false), "mtls.test", tlsState("mtls.test", deep, intermediate.cert), 0, "SUCCESS"},
		{"chain deeper than depth", auth("on", 1, false), "mtls.test", tlsState("mtls.test", deeper, second.cert, intermediate.cert), 400, ""},
		{"chain within depth", auth("on", 2, false), "mtls.test", tlsState("mtls.test", deeper, second.cert, intermediate.cert), 0, "SUCCESS"},
		{"SNI of another host", auth("on", 1, false), "mtls.test", tlsState("open.test", good), 421, ""},
		{"no SNI", auth("on", 1, false), "mtls.test", tlsState("", good), 421, ""},
		{"Host with port and case", auth("on", 1, false), "MTLS.test:8443", tlsState("mtls.test", good), 0, "SUCCESS"},
		{"optional without certificate", auth("optional", 1, false), "mtls.test", tlsState("mtls.test"), 0, "NONE"},
		{"optional with bad certificate", auth("optional", 1, false), "mtls.test", tlsState("mtls.test", stranger), 400, ""},
		{"optional_no_ca with any certificate", auth("optional_no_ca", 1, false), "mtls.test", tlsState("mtls.test", stranger), 0, "FAILED:x509: certificate signed by unknown authority"},
		{"plain HTTP, verify on", auth("on", 1, false), "mtls.test", nil, 308, ""},
		{"plain HTTP, optional", auth("optional", 1, false), "mtls.test", nil, 0, "NONE"},
		{"other host unaffected", auth("on", 1, false), "open.test", tlsState("mtls.test"), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := new(seen)
			h := clientAuthHandler(tt.auth, backend)
			r := httptest.NewRequest("GET", "/x?y=1", nil)
			r.Host, r.TLS = tt.host, tt.tls
			r.Header.Set("Ssl-Client-Verify", "SUCCESS") // forged by the client
			w, status := serveStatus(t, h, r)
			if tt.wantStatus != 0 {
				if backend.r != nil || status != tt.wantStatus {
					t.Fatalf("status %d, backend reached: %v; want %d", status, backend.r != nil, tt.wantStatus)
				}
				if status == 308 && w.Header().Get("Location") != "https://mtls.test:8443/x?y=1" {
					t.Errorf("Location %q", w.Header().Get("Location"))
				}
				return
			}
			if backend.r == nil {
				t.Fatalf("backend not reached: status %d", status)
			}
			if got := backend.r.Header.Get("Ssl-Client-Verify"); got != tt.wantVerify {
				t.Errorf("ssl-client-verify %q, want %q", got, tt.wantVerify)
			}
		})
	}
}

// TestClientAuthErrorPage checks auth-tls-error-page: a certificate that
// is required and missing, or does not verify, is redirected (302) to the
// page; other outcomes are not.
func TestClientAuthErrorPage(t *testing.T) {
	ca := newTestCA(t, "client CA")
	good := ca.clientCert(t, "alice")
	stranger := newTestCA(t, "other CA").clientCert(t, "mallory")
	const page = "https://errors.example.com:8443/client-certificate.html"
	auth := func(verify ingress.ClientVerify, matchCN string) *ingress.ClientAuth {
		return &ingress.ClientAuth{Ingress: "default/mtls", Secret: "default/ca", Verify: verify, Depth: 1, CAs: ca.pool, MatchCN: matchCN, ErrorPage: page}
	}
	tests := []struct {
		name       string
		auth       *ingress.ClientAuth
		certs      []*x509.Certificate
		plain      bool // plain HTTP
		wantStatus int  // 0: served by the backend
		wantPage   bool
	}{
		{name: "no certificate", auth: auth("on", ""), wantStatus: 302, wantPage: true},
		{name: "other CA", auth: auth("on", ""), certs: []*x509.Certificate{stranger}, wantStatus: 302, wantPage: true},
		{name: "optional with bad certificate", auth: auth("optional", ""), certs: []*x509.Certificate{stranger}, wantStatus: 302, wantPage: true},
		{name: "verified", auth: auth("on", ""), certs: []*x509.Certificate{good}},
		{name: "optional without certificate", auth: auth("optional", "")},
		{name: "CN not matched", auth: auth("on", "^CN=bob$"), certs: []*x509.Certificate{good}, wantStatus: 403},
		{name: "plain HTTP goes to HTTPS", auth: auth("on", ""), plain: true, wantStatus: 308},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := new(seen)
			h := clientAuthHandler(tt.auth, backend)
			r := httptest.NewRequest("GET", "/x?y=1", nil)
			r.Host = "mtls.test"
			if !tt.plain {
				r.TLS = &tls.ConnectionState{ServerName: "mtls.test", HandshakeComplete: true, PeerCertificates: tt.certs}
			}
			w, status := serveStatus(t, h, r)
			if tt.wantStatus == 0 {
				if backend.r == nil {
					t.Fatalf("got status %d, want the backend reached", status)
				}
				return
			}
			if backend.r != nil || status != tt.wantStatus {
				t.Fatalf("got status %d, backend reached %v; want %d, not reached", status, backend.r != nil, tt.wantStatus)
			}
			if got := w.Header().Get("Location") == page; got != tt.wantPage {
				t.Errorf("got Location %q, want the error page: %v", w.Header().Get("Location"), tt.wantPage)
			}
		})
	}
}

func TestClientAuthPassesCertificate(t *testing.T) {
	ca := newTestCA(t, "client CA")
	good := ca.clientCert(t, "alice")
	backend := new(seen)
	h := clientAuthHandler(&ingress.ClientAuth{Verify: "on", Depth: 1, PassCertificate: true, CAs: ca.pool}, backend)
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "mtls.test"
	r.TLS = &tls.ConnectionState{ServerName: "mtls.test", PeerCertificates: []*x509.Certificate{good}}
	if err := h.ServeHTTP(httptest.NewRecorder(), r, nil); err != nil {
		t.Fatal(err)
	}
	got := backend.r.Header.Get("Ssl-Client-Cert")
	pemText, err := url.PathUnescape(got)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || !equalBytes(block.Bytes, good.Raw) {
		t.Fatalf("ssl-client-cert %q does not decode to the client certificate", got)
	}
	if dn := backend.r.Header.Get("Ssl-Client-Subject-Dn"); dn != "CN=alice" {
		t.Errorf("ssl-client-subject-dn %q", dn)
	}
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

func TestClientAuthMatcher(t *testing.T) {
	h := clientAuthHandler(&ingress.ClientAuth{Verify: "on"}, new(seen))
	m := &ClientAuthMatcher{app: h.app}
	for sni, want := range map[string]bool{"mtls.test": true, "MTLS.test": true, "open.test": false, "unknown.test": false, "": false} {
		if got := m.Match(&tls.ClientHelloInfo{ServerName: sni}); got != want {
			t.Errorf("Match(%q) = %v, want %v", sni, got, want)
		}
	}
}

func TestClientAuthMatchCN(t *testing.T) {
	ca := newTestCA(t, "client CA")
	for _, tt := range []struct {
		name   string
		verify ingress.ClientVerify
		client *x509.Certificate
		want   int // 0: served by the backend
	}{
		{"matching subject", "on", ca.clientCert(t, "alice"), 0},
		{"other subject", "on", ca.clientCert(t, "carol"), 403},
		{"optional without certificate", "optional", nil, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			backend := new(seen)
			h := clientAuthHandler(&ingress.ClientAuth{Ingress: "default/mtls", Verify: tt.verify, Depth: 1, MatchCN: "^CN=(alice|bob)$", CAs: ca.pool}, backend)
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = "mtls.test"
			r.TLS = &tls.ConnectionState{ServerName: "mtls.test"}
			if tt.client != nil {
				r.TLS.PeerCertificates = []*x509.Certificate{tt.client}
			}
			err := h.ServeHTTP(httptest.NewRecorder(), r, nil)
			var he caddyhttp.HandlerError
			switch {
			case tt.want == 0 && (err != nil || backend.r == nil):
				t.Fatalf("not served: %v", err)
			case tt.want != 0 && (!errors.As(err, &he) || he.StatusCode != tt.want || backend.r != nil):
				t.Fatalf("got %v, backend reached %v; want %d", err, backend.r != nil, tt.want)
			}
		})
	}
}

func TestClientAuthRevoked(t *testing.T) {
	ca := newTestCA(t, "client CA")
	revoked, good := ca.clientCert(t, "revoked"), ca.clientCert(t, "good")
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: revoked.SerialNumber, RevocationTime: time.Now()}},
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := secrets.ParseCA(&corev1.Secret{Data: map[string][]byte{
		"ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}),
		"ca.crl": pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}),
	}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for client, want := range map[*x509.Certificate]bool{revoked: false, good: true} {
		backend := new(seen)
		h := clientAuthHandler(&ingress.ClientAuth{Verify: "on", Depth: 1, CAs: parsed.Pool, Revoked: parsed.Revoked}, backend)
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = "mtls.test"
		r.TLS = &tls.ConnectionState{ServerName: "mtls.test", PeerCertificates: []*x509.Certificate{client}}
		err := h.ServeHTTP(httptest.NewRecorder(), r, nil)
		if served := err == nil && backend.r != nil; served != want {
			t.Errorf("%s: served %v (%v), want %v", client.Subject.CommonName, served, err, want)
		}
	}
}

// TestClientAuthCatchAll checks that the catch-all keeps the client
// certificate check of the rules without host when a request for another
// host falls through to it.
func TestClientAuthCatchAll(t *testing.T) {
	ca := newTestCA(t, "client CA")
	a := &App{httpsPort: 443}
	res := &ingress.Result{
		Hosts: ingress.NewHostList([]*ingress.Host{
			{Host: "", ClientAuth: &ingress.ClientAuth{Verify: "on", Depth: 1, CAs: ca.pool}, Paths: []ingress.Path{{Path: "/hostless", Type: ingress.PathPrefix}}},
			{Host: "open.test", Paths: []ingress.Path{{Path: "/open", Type: ingress.PathPrefix}}},
		}),
		Default: &ingress.Action{},
	}
	backend := new(seen)
	a.setTable(res, backend)
	h := &Handler{app: a}
	for path, want := range map[string]int{"/open": 0, "/elsewhere": 421} {
		backend.r = nil
		r := httptest.NewRequest("GET", path, nil)
		r.Host = "open.test"
		r.TLS = &tls.ConnectionState{ServerName: "open.test"}
		err := h.ServeHTTP(httptest.NewRecorder(), r, nil)
		var he caddyhttp.HandlerError
		switch {
		case want == 0 && (err != nil || backend.r == nil):
			t.Errorf("%s: not served: %v", path, err)
		case want != 0 && (!errors.As(err, &he) || he.StatusCode != want || backend.r != nil):
			t.Errorf("%s: got %v, backend reached %v; want %d", path, err, backend.r != nil, want)
		}
	}
}

// TestVerifyCache checks that a cached outcome is used for the same
// chain and check, and never past the leaf's expiry or for another check.
func TestVerifyCache(t *testing.T) {
	ca := newTestCA(t, "client CA")
	other := newTestCA(t, "other CA")
	leaf := ca.clientCert(t, "alice") // valid for the next hour
	certs := []*x509.Certificate{leaf}
	auth := &ingress.ClientAuth{Verify: "on", Depth: 1, CAs: ca.pool}
	var vc verifyCache
	now := time.Now()
	if err := vc.verify(auth, certs, now); err != nil {
		t.Fatal(err)
	}
	if len(vc.m) != 1 {
		t.Fatalf("cache holds %d outcomes, want 1", len(vc.m))
	}
	if err := vc.verify(auth, certs, now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := vc.verify(auth, certs, leaf.NotAfter.Add(time.Second)); err == nil {
		t.Error("an expired certificate verified from the cache")
	}
	rotated := &ingress.ClientAuth{Verify: "on", Depth: 1, CAs: other.pool}
	if err := vc.verify(rotated, certs, now); err == nil {
		t.Error("a certificate verified against a CA that did not sign it")
	}
}
