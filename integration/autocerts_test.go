package integration

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// autoCertsCaddyfile serves the manifests like caddyfileTemplate, with
// automatic certificates from Caddy's internal CA; its root is not
// installed into the system's trust store.
const autoCertsCaddyfile = `{
	admin off
	http_port {{HTTP}}
	https_port {{HTTPS}}
	local_certs
	skip_install_trust
	servers {
		protocols h1 h2
	}
	ingress {
		manifests "{{DIR}}" {
			poll_interval 100ms
		}
		automatic_certificates
	}
}

:{{HTTP}}, :{{HTTPS}} {
	bind 127.0.0.1
	ingress
}
`

// localCAIntermediateCN is the CommonName of the intermediate of Caddy's
// internal CA, which signs the certificates of local_certs.
const localCAIntermediateCN = "Caddy Local Authority - ECC Intermediate"

// TestAutomaticCertificates serves a host listed in spec.tls without a
// Secret with a certificate from Caddy's internal CA, and releases it once
// its Ingress is gone.
func TestAutomaticCertificates(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "app")
	const host = "auto.example.com"
	dir := t.TempDir()
	writeManifest(t, dir, "app.yaml", serviceWithEndpoints("app", be))
	writeManifest(t, dir, "ingress.yaml", annotatedIngress{name: "auto", hosts: []string{host}, service: "app", autoTLS: true}.yaml())

	c := startCaddyWithConfig(t, dir, autoCertsCaddyfile)
	// The internal CA creates its root while Caddy starts.
	rootPEM, err := os.ReadFile(filepath.Join(c.home, "data", "caddy", "pki", "authorities", "local", "root.crt"))
	if err != nil {
		t.Fatalf("reading the local CA's root: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("the local CA's root.crt holds no certificate")
	}
	secure := newClient(roots)

	// Issuance is in the background: until it is done, handshakes get the
	// default certificate, which the client refuses.
	var leaf *x509.Certificate
	eventually(t, "a certificate from the local CA", func() error {
		r, err := secure.get(httpsURL(c, host, "/"))
		if err != nil {
			return err
		}
		if r.status != http.StatusOK || r.body != be.name {
			return fmt.Errorf("got %d %q, want %d %q", r.status, r.body, http.StatusOK, be.name)
		}
		leaf = r.leaf
		return nil
	})
	if !slices.Equal(leaf.DNSNames, []string{host}) {
		t.Errorf("certificate names: got %v, want [%s]", leaf.DNSNames, host)
	}
	if leaf.Issuer.CommonName != localCAIntermediateCN {
		t.Errorf("certificate issuer: got %q, want %q", leaf.Issuer.CommonName, localCAIntermediateCN)
	}
	managing := c.waitForLog(t, "managing certificates", isCertificatesLog("managing certificates"))
	if got := logHosts(managing); !slices.Equal(got, []string{host}) {
		t.Errorf("managed hosts logged: got %v, want [%s]", got, host)
	}

	// Once the Ingress is gone, the name is released: from the moment
	// that is logged, handshakes get the default certificate, not the
	// one obtained.
	removeManifest(t, dir, "ingress.yaml")
	released := c.waitForLog(t, "released certificates", isCertificatesLog("released certificates"))
	if got := logHosts(released); !slices.Equal(got, []string{host}) {
		t.Errorf("released hosts logged: got %v, want [%s]", got, host)
	}
	r, err := newInsecureClient().get(httpsURL(c, host, "/"))
	if err != nil {
		t.Fatal(err)
	}
	if r.leaf == nil || r.leaf.Subject.CommonName != defaultCertCN {
		t.Errorf("certificate after release: got %s, want CN %q", describeCert(r.leaf), defaultCertCN)
	}
	eventually(t, "404 once the Ingress is gone", func() error {
		return newInsecureClient().expect(httpsURL(c, host, "/"), http.StatusNotFound, "")
	})
}

func isCertificatesLog(msg string) func(logEntry) bool {
	return func(e logEntry) bool {
		return e.str("logger") == "ingress.certificates" && e.str("msg") == msg
	}
}

// logHosts returns the "hosts" of a log entry.
func logHosts(e logEntry) []string {
	list, _ := e["hosts"].([]any)
	hosts := make([]string, 0, len(list))
	for _, h := range list {
		s, _ := h.(string)
		hosts = append(hosts, s)
	}
	return hosts
}
