package caddyingress

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// BenchmarkClientAuth measures the client certificate check of a request
// on a host with auth-tls (an ECDSA P-256 chain of one): "verify" is the
// x509 verification itself, "request" the whole dispatch, which finds
// the outcome of the connection's earlier requests in the cache.
func BenchmarkClientAuth(b *testing.B) {
	t := new(testing.T)
	ca := newTestCA(t, "client CA")
	good := ca.clientCert(t, "alice")
	auth := &ingress.ClientAuth{Verify: "on", Depth: 1, CAs: ca.pool}
	certs := []*x509.Certificate{good}

	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if err := verifyClient(auth, certs, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("request", func(b *testing.B) {
		backend := new(seen)
		h := clientAuthHandler(auth, backend)
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = "mtls.test"
		r.TLS = &tls.ConnectionState{ServerName: "mtls.test", PeerCertificates: certs}
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			if err := h.ServeHTTP(w, r, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
