package integration

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"testing"
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
	eventually(t, "the rotated default certificate", func() error {
		if got := served(t, "unknown.example.com"); !bytes.Equal(got.Raw, rotated.der) {
			return fmt.Errorf("got certificate serial %s", got.SerialNumber)
		}
		return nil
	})

	// Gone: the self-signed certificate, and a problem naming the option.
	removeManifest(t, dir, "fallback.yaml")
	c.waitForLog(t, "problem with default_certificate", func(e logEntry) bool {
		return e.str("msg") == "problem" && e.str("object") == "Config default_certificate" &&
			strings.Contains(e.str("reason"), "secret default/fallback-tls not found")
	})
	eventually(t, "the self-signed certificate", func() error {
		if cn := served(t, "unknown.example.com").Subject.CommonName; cn != "caddy-ingress default certificate" {
			return fmt.Errorf("got certificate %q", cn)
		}
		return nil
	})
	if n := c.countLog(isIngressStarted); n != 1 {
		t.Errorf(`log lines "started": got %d, want 1 (no reload)`, n)
	}
}
