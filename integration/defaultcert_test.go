package integration

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDefaultCertificate checks the app's default_certificate: it is served
// for unknown server names and for TLS hosts whose Secret is missing (their
// redirect to HTTPS stays), it rotates like any Secret, and while it is
// unusable the self-signed certificate is served and a problem is logged.
func TestDefaultCertificate(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "app")
	ca := newCA(t, "caddy-ingress e2e test CA", nil)
	fallback := ca.issue(t, "fallback.example.com")
	dir := t.TempDir()
	writeManifest(t, dir, "app.yaml", serviceWithEndpoints("app", be))
	writeManifest(t, dir, "fallback.yaml", secretYAML("fallback-tls", fallback))
	writeManifest(t, dir, "ingress.yaml", ingressYAML("broken", "missing-tls",
		rule{host: "broken.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "app"}}}))

	template := strings.Replace(caddyfileTemplate, "\t\tmanifests ", "\t\tdefault_certificate default/fallback-tls\n\t\tmanifests ", 1)
	if template == caddyfileTemplate {
		t.Fatal("caddyfileTemplate has no manifests line in its ingress options")
	}
	c := startCaddyWithConfig(t, dir, template)
	insecure := newInsecureClient()

	served := func(t *testing.T, sni string) *x509.Certificate {
		t.Helper()
		conn, err := insecure.dialTLS(c.httpsPort, sni)
		if err != nil {
			t.Fatalf("handshake for %q: %v", sni, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	for _, sni := range []string{"unknown.example.com", "broken.example.com", ""} {
		if got := served(t, sni); !bytes.Equal(got.Raw, fallback.der) {
			t.Errorf("SNI %q: got certificate %q, want the default_certificate", sni, got.Subject.CommonName)
		}
	}
	if err := insecure.expect(httpURL(c, "broken.example.com", "/"), http.StatusPermanentRedirect, ""); err != nil {
		t.Errorf("TLS host without its Secret: %v", err)
	}

	// Rotated: the new certificate is served, without reload.
	rotated := ca.issue(t, "fallback.example.com")
	writeManifest(t, dir, "fallback.yaml", secretYAML("fallback-tls", rotated))
	waitFor(t, "the rotated default certificate", func() bool {
		return bytes.Equal(served(t, "unknown.example.com").Raw, rotated.der)
	})

	// Gone: the self-signed certificate, and a problem naming the option.
	removeManifest(t, dir, "fallback.yaml")
	c.waitForLog(t, "problem with default_certificate", func(e logEntry) bool {
		return e.str("msg") == "problem" && e.str("object") == "Config default_certificate" &&
			strings.Contains(e.str("reason"), "secret default/fallback-tls not found")
	})
	waitFor(t, "the self-signed certificate", func() bool {
		return served(t, "unknown.example.com").Subject.CommonName == "caddy-ingress default certificate"
	})
	if n := c.countLog(isIngressStarted); n != 1 {
		t.Errorf(`log lines "started": got %d, want 1 (no reload)`, n)
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen after 10s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
