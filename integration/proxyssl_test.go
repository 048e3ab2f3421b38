package integration

import (
	"testing"
)

// TestTLSBackendTuning checks proxy-ssl-protocols, proxy-ssl-ciphers and
// proxy-ssl-verify-depth against real TLS backends.
func TestTLSBackendTuning(t *testing.T) {
	t.Parallel()
	root := newCA(t, "backend root CA", nil)
	mid := newCA(t, "backend intermediate CA", root)
	lower := newCA(t, "backend lower intermediate CA", mid)

	// One backend that speaks TLS 1.2 at most, for every Ingress of the
	// protocols and ciphers: its certificate is for all their Services.
	tls12 := []string{"tls12-only", "tls13-only", "rsa-ciphers", "ecdsa-ciphers"}
	var names []string
	for _, n := range tls12 {
		names = append(names, n+".default.svc")
	}
	tls12BE := startRecordingBackend(t, "tls12", &backendTLSConfig{cert: root.issue(t, names...), tls12: true})
	// Certificates one and two intermediates below the root, sent with
	// their intermediates.
	oneDeepBE := startRecordingBackend(t, "one-deep", &backendTLSConfig{cert: mid.issue(t, "one-deep.default.svc")})
	twoDeep := lower.issue(t, "two-deep-depth1.default.svc", "two-deep-depth2.default.svc")
	twoDeep.certPEM = append(twoDeep.certPEM, caPEM(mid)...)
	twoDeepBE := startRecordingBackend(t, "two-deep", &backendTLSConfig{cert: twoDeep})

	base := map[string]string{nginxAnnotation + "backend-protocol": "HTTPS", nginxAnnotation + "proxy-ssl-secret": "default/backend-root"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[nginxAnnotation+kv[i]] = kv[i+1]
		}
		return m
	}
	routes := []struct {
		ingress     string
		annotations map[string]string
		backend     *recordingBackend
	}{
		{"tls12-only", with("proxy-ssl-protocols", "TLSv1.2"), tls12BE},
		{"tls13-only", with("proxy-ssl-protocols", "TLSv1.3"), tls12BE},
		// The backend's key is ECDSA.
		{"rsa-ciphers", with("proxy-ssl-ciphers", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"), tls12BE},
		{"ecdsa-ciphers", with("proxy-ssl-ciphers", "DEFAULT:!aRSA:!SHA1"), tls12BE},
		{"one-deep", base, oneDeepBE}, // default depth 1
		{"two-deep-depth1", with("proxy-ssl-verify-depth", "1"), twoDeepBE},
		{"two-deep-depth2", with("proxy-ssl-verify-depth", "2"), twoDeepBE},
	}
	dir := t.TempDir()
	writeManifest(t, dir, "backend-root.yaml", opaqueSecretYAML("backend-root", map[string][]byte{"ca.crt": caPEM(root)}))
	for _, r := range routes {
		writeManifest(t, dir, r.ingress+"-ingress.yaml", annotatedIngress{
			name: r.ingress, annotations: r.annotations, hosts: []string{r.ingress + ".tuning.example.com"}, service: r.ingress,
		}.yaml())
		writeManifest(t, dir, r.ingress+"-service.yaml", r.backend.serviceFor(r.ingress))
	}

	c := startCaddy(t, dir)
	checks := backendChecks{c: c, cl: newClient(nil), domain: "tuning.example.com"}
	// expectOK checks that the Ingress answers from be, over TLS.
	expectOK := func(t *testing.T, ingress string, be *recordingBackend) {
		t.Helper()
		if s := checks.expectOK(t, ingress, be); !s.tls {
			t.Error("backend got the request without TLS")
		}
	}

	// In this order: the connection that TLS 1.2 opened to the backend
	// stays idle in its pool, and must not serve the TLS 1.3 path.
	t.Run("TLSv1.2 to a TLS 1.2 backend", func(t *testing.T) {
		expectOK(t, "tls12-only", tls12BE)
	})
	t.Run("TLSv1.3 to a TLS 1.2 backend", func(t *testing.T) {
		checks.expectBadGateway(t, "tls13-only", tls12BE, "protocol version not supported")
	})
	t.Run("ciphers the backend's key cannot use", func(t *testing.T) {
		checks.expectBadGateway(t, "rsa-ciphers", tls12BE, "handshake failure")
	})
	t.Run("ciphers the backend's key can use", func(t *testing.T) {
		expectOK(t, "ecdsa-ciphers", tls12BE)
	})
	t.Run("one intermediate within the default depth", func(t *testing.T) {
		expectOK(t, "one-deep", oneDeepBE)
	})
	t.Run("two intermediates beyond depth 1", func(t *testing.T) {
		checks.expectBadGateway(t, "two-deep-depth1", twoDeepBE, "certificate chain has 2 intermediate CA certificates, more than the verify depth 1")
	})
	t.Run("two intermediates within depth 2", func(t *testing.T) {
		expectOK(t, "two-deep-depth2", twoDeepBE)
	})
	t.Run("no problems", func(t *testing.T) {
		for _, e := range c.log.entries() {
			if e.str("logger") == "ingress" && e.str("msg") == "problem" {
				t.Errorf("problem: %s %s: %s", e.str("object"), e.str("field"), e.str("reason"))
			}
		}
	})
}
