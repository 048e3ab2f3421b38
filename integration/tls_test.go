package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Annotation names under both prefixes.
const (
	nginxAnnotation = "nginx.ingress.kubernetes.io/"
	ownAnnotation   = "caddy-ingress.io/"
)

// TestTLSBackends proxies to backends over TLS (backend-protocol HTTPS and
// GRPCS) with the proxy-ssl-* annotations, and to cleartext HTTP/2
// backends (H2C, GRPC).
func TestTLSBackends(t *testing.T) {
	t.Parallel()
	trusted := newCA(t, "backend CA", nil)
	other := newCA(t, "other backend CA", nil)
	// The backend that asks for a client certificate trusts this CA for
	// them; Caddy's client certificate comes from it.
	clientCA := newCA(t, "backend client CA", nil)
	proxyCert := clientCA.issueClient(t, "caddy-ingress proxy")
	const customName = "backend.internal.test"

	// Each Ingress routes its own host to its own Service.
	type route struct {
		ingress     string
		annotations map[string]string
		backend     *recordingBackend
	}
	https := map[string]string{nginxAnnotation + "backend-protocol": "HTTPS"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := maps.Clone(base)
		if m == nil {
			m = make(map[string]string)
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	caSecret := nginxAnnotation + "proxy-ssl-secret"

	// Service names are the Ingress names; a backend's certificate is
	// for <service>.default.svc unless said otherwise.
	trustedBE := startRecordingBackend(t, "trusted", &backendTLSConfig{cert: trusted.issue(t, "trusted.default.svc")})
	untrustedBE := startRecordingBackend(t, "untrusted", &backendTLSConfig{cert: other.issue(t, "untrusted.default.svc")})
	wrongNameBE := startRecordingBackend(t, "wrong-name", &backendTLSConfig{cert: trusted.issue(t, "someone-else.default.svc")})
	customNameBE := startRecordingBackend(t, "custom-name", &backendTLSConfig{cert: trusted.issue(t, customName)})
	sniBE := startRecordingBackend(t, "sni", &backendTLSConfig{cert: trusted.issue(t, "default-sni.default.svc", "default-sni-unverified.default.svc")})
	mtlsBE := startRecordingBackend(t, "mtls", &backendTLSConfig{cert: trusted.issue(t, "mtls.default.svc", "mtls-no-client-cert.default.svc"), clientCAs: clientCA.pool})
	grpcsBE := startRecordingBackend(t, "grpcs", &backendTLSConfig{cert: trusted.issue(t, "grpcs.default.svc"), h2Only: true})
	h2cBE := startRecordingBackend(t, "h2c", nil)

	routes := []route{
		{"trusted", with(https, caSecret, "default/backend-ca"), trustedBE},
		{"untrusted", with(https, caSecret, "default/backend-ca"), untrustedBE},
		{"verify-off", with(https, caSecret, "default/backend-ca", nginxAnnotation+"proxy-ssl-verify", "off"), untrustedBE},
		{"own-verify-off", with(https, caSecret, "default/backend-ca", nginxAnnotation+"proxy-ssl-verify", "on", ownAnnotation+"backend-tls-verify", "off"), untrustedBE},
		{"no-secret", https, untrustedBE},
		{"wrong-name", with(https, caSecret, "default/backend-ca"), wrongNameBE},
		{"custom-name", with(https, caSecret, "default/backend-ca", nginxAnnotation+"proxy-ssl-name", customName), customNameBE},
		{"custom-sni", with(https, caSecret, "default/backend-ca", nginxAnnotation+"proxy-ssl-name", customName, nginxAnnotation+"proxy-ssl-server-name", "on"), customNameBE},
		{"default-sni", with(https, caSecret, "default/backend-ca", nginxAnnotation+"proxy-ssl-server-name", "on"), sniBE},
		{"default-sni-unverified", with(https, nginxAnnotation+"proxy-ssl-server-name", "on"), sniBE},
		{"mtls", with(https, caSecret, "default/backend-mtls"), mtlsBE},
		{"mtls-no-client-cert", with(https, caSecret, "default/backend-ca"), mtlsBE},
		{"mtls-unverified", with(https, caSecret, "default/backend-client-only"), mtlsBE},
		{"grpcs", with(nil, nginxAnnotation+"backend-protocol", "GRPCS", caSecret, "default/backend-ca"), grpcsBE},
		{"h2c", with(nil, nginxAnnotation+"backend-protocol", "H2C"), h2cBE},
		{"grpc", with(nil, ownAnnotation+"backend-protocol", "GRPC"), h2cBE},
	}

	dir := t.TempDir()
	writeManifest(t, dir, "backend-ca.yaml", opaqueSecretYAML("backend-ca", map[string][]byte{"ca.crt": caPEM(trusted)}))
	// Written as a person would: stringData, PEM as block scalars.
	writeManifest(t, dir, "backend-mtls.yaml", stringDataSecretYAML("backend-mtls", map[string][]byte{
		"ca.crt":  caPEM(trusted),
		"tls.crt": proxyCert.certPEM,
		"tls.key": proxyCert.keyPEM,
	}))
	// Only a client certificate, in a kubernetes.io/tls Secret: nothing
	// to verify the backend with, so verify is off.
	writeManifest(t, dir, "backend-client-only.yaml", secretYAML("backend-client-only", proxyCert))
	for _, r := range routes {
		host := r.ingress + ".backends.example.com"
		writeManifest(t, dir, r.ingress+"-ingress.yaml", annotatedIngress{
			name: r.ingress, annotations: r.annotations, hosts: []string{host}, service: r.ingress,
		}.yaml())
		writeManifest(t, dir, r.ingress+"-service.yaml", r.backend.serviceFor(r.ingress))
	}

	c := startCaddy(t, dir)
	checks := backendChecks{c: c, cl: newClient(nil), domain: "backends.example.com"}

	t.Run("trusted backend certificate", func(t *testing.T) {
		s := checks.expectOK(t, "trusted", trustedBE)
		if !s.tls {
			t.Error("backend got the request without TLS")
		}
		if s.sni != "" {
			t.Errorf("SNI without proxy-ssl-server-name: got %q, want none", s.sni)
		}
		if s.clientCert != nil {
			t.Error("backend got a client certificate from a Secret without tls.crt")
		}
		if want := fmt.Sprintf("trusted.backends.example.com:%d", c.httpPort); s.host != want {
			t.Errorf("Host header: got %q, want %q", s.host, want)
		}
	})
	t.Run("certificate from another CA with verify on", func(t *testing.T) {
		checks.expectBadGateway(t, "untrusted", untrustedBE, "certificate signed by unknown authority")
	})
	t.Run("certificate for another name with verify on", func(t *testing.T) {
		checks.expectBadGateway(t, "wrong-name", wrongNameBE, "not wrong-name.default.svc")
	})
	t.Run("proxy-ssl-verify off", func(t *testing.T) {
		checks.expectOK(t, "verify-off", untrustedBE)
	})
	t.Run("backend-tls-verify off wins over proxy-ssl-verify on", func(t *testing.T) {
		checks.expectOK(t, "own-verify-off", untrustedBE)
	})
	t.Run("no proxy-ssl-secret does not verify", func(t *testing.T) {
		checks.expectOK(t, "no-secret", untrustedBE)
	})
	t.Run("proxy-ssl-name is the name verified", func(t *testing.T) {
		s := checks.expectOK(t, "custom-name", customNameBE)
		if s.sni != "" {
			t.Errorf("SNI without proxy-ssl-server-name: got %q, want none", s.sni)
		}
	})
	t.Run("proxy-ssl-server-name sends proxy-ssl-name", func(t *testing.T) {
		s := checks.expectOK(t, "custom-sni", customNameBE)
		if s.sni != customName {
			t.Errorf("SNI: got %q, want %q", s.sni, customName)
		}
	})
	t.Run("proxy-ssl-server-name sends the default name", func(t *testing.T) {
		s := checks.expectOK(t, "default-sni", sniBE)
		if want := "default-sni.default.svc"; s.sni != want {
			t.Errorf("SNI: got %q, want %q", s.sni, want)
		}
	})
	t.Run("proxy-ssl-server-name sends the default name without verification", func(t *testing.T) {
		s := checks.expectOK(t, "default-sni-unverified", sniBE)
		if want := "default-sni-unverified.default.svc"; s.sni != want {
			t.Errorf("SNI: got %q, want %q", s.sni, want)
		}
	})
	t.Run("mutual TLS", func(t *testing.T) {
		s := checks.expectOK(t, "mtls", mtlsBE)
		if !bytes.Equal(s.clientCert, proxyCert.der) {
			t.Errorf("client certificate the backend saw: got %d bytes of DER, want the Secret's tls.crt", len(s.clientCert))
		}
	})
	t.Run("mutual TLS without ca.crt", func(t *testing.T) {
		s := checks.expectOK(t, "mtls-unverified", mtlsBE)
		if !bytes.Equal(s.clientCert, proxyCert.der) {
			t.Errorf("client certificate the backend saw: got %d bytes of DER, want the Secret's tls.crt", len(s.clientCert))
		}
	})
	t.Run("mutual TLS without a client certificate", func(t *testing.T) {
		// The refusal races with writing the request (an alert, a reset
		// or a broken pipe); the log line says why either way.
		checks.expectBadGateway(t, "mtls-no-client-cert", mtlsBE, "refused the connection for lack of a client certificate")
	})
	t.Run("GRPCS speaks HTTP/2 over TLS", func(t *testing.T) {
		s := checks.expectOK(t, "grpcs", grpcsBE)
		if s.protoMajor != 2 || !s.tls {
			t.Errorf("backend got HTTP/%d, TLS %t; want HTTP/2 over TLS", s.protoMajor, s.tls)
		}
	})
	t.Run("H2C speaks cleartext HTTP/2", func(t *testing.T) {
		s := checks.expectOK(t, "h2c", h2cBE)
		if s.protoMajor != 2 || s.tls {
			t.Errorf("backend got HTTP/%d, TLS %t; want HTTP/2 without TLS", s.protoMajor, s.tls)
		}
	})
	t.Run("GRPC speaks cleartext HTTP/2", func(t *testing.T) {
		s := checks.expectOK(t, "grpc", h2cBE)
		if s.protoMajor != 2 || s.tls {
			t.Errorf("backend got HTTP/%d, TLS %t; want HTTP/2 without TLS", s.protoMajor, s.tls)
		}
	})
	t.Run("no problems", func(t *testing.T) {
		for _, e := range c.log.entries() {
			if e.str("logger") == "ingress" && e.str("msg") == "problem" {
				t.Errorf("problem: %s %s: %s", e.str("object"), e.str("field"), e.str("reason"))
			}
		}
	})
}

// certClient is a client that answers every request for a client
// certificate with cert (none when nil) and counts the requests.
type certClient struct {
	*client
	asked atomic.Int32
}

// newCertClient verifies server certificates against roots, or not at all
// when roots is nil.
func newCertClient(roots *x509.CertPool, cert *tls.Certificate) *certClient {
	cc := new(certClient)
	cc.client = newClientTLS(&tls.Config{
		RootCAs:            roots,
		InsecureSkipVerify: roots == nil,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cc.asked.Add(1)
			if cert == nil {
				return new(tls.Certificate), nil
			}
			return cert, nil
		},
	})
	return cc
}

// getWithHeader sends a GET with extra headers and reads the whole
// answer.
func (c *client) getWithHeader(url string, header http.Header) (*response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %w", url, err)
	}
	return &response{status: resp.StatusCode, body: body.String(), header: resp.Header}, nil
}

// clientCertHeaders are the headers that carry the client certificate
// check to backends.
var clientCertHeaders = []string{"Ssl-Client-Cert", "Ssl-Client-Verify", "Ssl-Client-Subject-Dn", "Ssl-Client-Issuer-Dn"}

// forgedHeaders claim a verified client certificate.
func forgedHeaders() http.Header {
	h := make(http.Header)
	for _, k := range clientCertHeaders {
		h.Set(k, "SUCCESS")
	}
	return h
}

// TestTLSClientCertificates checks client certificates at the ingress
// (auth-tls-*): hosts with and without them on the same HTTPS listener.
func TestTLSClientCertificates(t *testing.T) {
	t.Parallel()
	serverCA := newCA(t, "server CA", nil)
	clientCA := newCA(t, "client CA", nil)
	otherCA := newCA(t, "other client CA", nil)
	intermediate := newCA(t, "client intermediate CA", clientCA)
	second := newCA(t, "second client intermediate CA", intermediate)

	const (
		hostA    = "a.clientauth.example.com" // verify on, passes the certificate
		hostB    = "b.clientauth.example.com" // no client certificates
		hostOpt  = "optional.clientauth.example.com"
		hostNoCA = "noca.clientauth.example.com"
		hostDeep = "deep.clientauth.example.com" // verify depth 2: two intermediates
		hostErr  = "errpage.clientauth.example.com"
		errPage  = "https://errors.example.com:8443/client-certificate.html"
	)
	hosts := []string{hostA, hostB, hostOpt, hostNoCA, hostDeep, hostErr}
	authTLS := func(kv ...string) map[string]string {
		m := map[string]string{nginxAnnotation + "auth-tls-secret": "default/client-ca"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	ingresses := []struct {
		in annotatedIngress
		be *recordingBackend
	}{
		{annotatedIngress{name: "a", hosts: []string{hostA}, created: "2020-01-01T00:00:00Z", annotations: authTLS(
			nginxAnnotation+"auth-tls-pass-certificate-to-upstream", "true",
			// The redirect to HTTPS then comes from the client
			// certificate check alone.
			nginxAnnotation+"ssl-redirect", "false",
		)}, startRecordingBackend(t, "a", nil)},
		// A younger Ingress with another path on host A and no auth-tls
		// annotations: A's check applies to it too.
		{annotatedIngress{name: "a-more", hosts: []string{hostA}, path: "/more"}, startRecordingBackend(t, "a-more", nil)},
		// A younger Ingress on host A that asks for a laxer check; its
		// name sorts before A's, so only age makes A's check win.
		{annotatedIngress{name: "0-lax", service: "lax", hosts: []string{hostA}, path: "/lax", created: "2024-01-01T00:00:00Z",
			annotations: authTLS(nginxAnnotation+"auth-tls-verify-client", "optional")}, startRecordingBackend(t, "0-lax", nil)},
		{annotatedIngress{name: "b", hosts: []string{hostB}}, startRecordingBackend(t, "b", nil)},
		{annotatedIngress{name: "optional", hosts: []string{hostOpt}, annotations: authTLS(nginxAnnotation+"auth-tls-verify-client", "optional")}, startRecordingBackend(t, "optional", nil)},
		{annotatedIngress{name: "noca", hosts: []string{hostNoCA}, annotations: authTLS(ownAnnotation+"auth-tls-verify-client", "optional_no_ca")}, startRecordingBackend(t, "noca", nil)},
		{annotatedIngress{name: "deep", hosts: []string{hostDeep}, annotations: authTLS(nginxAnnotation+"auth-tls-verify-depth", "2")}, startRecordingBackend(t, "deep", nil)},
		{annotatedIngress{name: "errpage", hosts: []string{hostErr}, annotations: authTLS(nginxAnnotation+"auth-tls-error-page", errPage)}, startRecordingBackend(t, "errpage", nil)},
		// Rules without a host: every other host, and requests by
		// address, which come without a TLS server name.
		{annotatedIngress{name: "catchall", hosts: []string{""}, annotations: authTLS()}, startRecordingBackend(t, "catchall", nil)},
	}
	be := make(map[string]*recordingBackend)

	dir := t.TempDir()
	writeManifest(t, dir, "hosts-tls.yaml", secretYAML("hosts-tls", serverCA.issue(t, hosts...)))
	writeManifest(t, dir, "client-ca.yaml", opaqueSecretYAML("client-ca", map[string][]byte{"ca.crt": caPEM(clientCA)}))
	for _, in := range ingresses {
		if in.in.service == "" {
			in.in.service = in.in.name
		}
		if in.in.hosts[0] != "" {
			in.in.tlsSecret = "hosts-tls"
		}
		writeManifest(t, dir, in.in.name+"-ingress.yaml", in.in.yaml())
		writeManifest(t, dir, in.in.name+"-service.yaml", in.be.serviceFor(in.in.service))
		be[in.in.name] = in.be
	}

	c := startCaddy(t, dir)
	clientCert := clientCA.issueClient(t, "alice")
	otherCert := otherCA.issueClient(t, "mallory")
	chainCert := intermediate.issueClient(t, "bob")
	// carol's chain has two intermediates, as she sends it.
	deeperCert := second.issueClient(t, "carol")
	deeperCert.certPEM = append(deeperCert.certPEM, caPEM(intermediate)...)
	// A new client per subtest, so its count of requests for a
	// certificate is its own.
	withCert := func(kp keyPair) *certClient { return newCertClient(serverCA.pool, kp.tlsCertificate(t)) }
	withoutCert := func() *certClient { return newCertClient(serverCA.pool, nil) }

	expectStatus := func(t *testing.T, cl *certClient, url string, header http.Header, status int) {
		t.Helper()
		r, err := cl.getWithHeader(url, header)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != status {
			t.Fatalf("GET %s: got %d %q, want %d", url, r.status, strings.TrimSpace(r.body), status)
		}
	}
	// expectServed checks a 200 from the backend and returns what it saw.
	expectServed := func(t *testing.T, cl *certClient, url string, header http.Header, b *recordingBackend) seenRequest {
		t.Helper()
		expectStatus(t, cl, url, header, http.StatusOK)
		return b.takeOne(t)
	}
	expectVerify := func(t *testing.T, s seenRequest, want string) {
		t.Helper()
		if got := s.header.Get("Ssl-Client-Verify"); got != want {
			t.Errorf("ssl-client-verify: got %q, want %q", got, want)
		}
	}
	expectAsked := func(t *testing.T, cl *certClient, want bool) {
		t.Helper()
		if asked := cl.asked.Load() > 0; asked != want {
			t.Errorf("client asked for a certificate: got %t, want %t", asked, want)
		}
	}

	t.Run("A without a certificate", func(t *testing.T) {
		cl := withoutCert()
		expectStatus(t, cl, httpsURL(c, hostA, "/"), nil, http.StatusBadRequest)
		expectAsked(t, cl, true)
		be["a"].expectNone(t)
	})
	t.Run("A with a certificate from the CA", func(t *testing.T) {
		cl := withCert(clientCert)
		s := expectServed(t, cl, httpsURL(c, hostA, "/"), nil, be["a"])
		expectAsked(t, cl, true)
		expectVerify(t, s, "SUCCESS")
		leaf := mustParse(t, clientCert.der)
		if got, want := s.header.Get("Ssl-Client-Subject-Dn"), leaf.Subject.String(); got != want {
			t.Errorf("ssl-client-subject-dn: got %q, want %q", got, want)
		}
		if got, want := s.header.Get("Ssl-Client-Issuer-Dn"), clientCA.cert.Subject.String(); got != want {
			t.Errorf("ssl-client-issuer-dn: got %q, want %q", got, want)
		}
	})
	t.Run("A passes the certificate to the backend", func(t *testing.T) {
		s := expectServed(t, withCert(clientCert), httpsURL(c, hostA, "/"), nil, be["a"])
		raw := s.header.Get("Ssl-Client-Cert")
		if strings.ContainsAny(raw, " +\n") {
			t.Errorf("ssl-client-cert %q: want spaces as %%20 and no '+' or newline", raw)
		}
		decoded, err := url.PathUnescape(raw)
		if err != nil {
			t.Fatalf("ssl-client-cert %q: %v", raw, err)
		}
		if want := string(clientCert.leafPEM()); decoded != want {
			t.Errorf("ssl-client-cert decoded: got %q, want %q", decoded, want)
		}
	})
	t.Run("A with a certificate from another CA", func(t *testing.T) {
		expectStatus(t, withCert(otherCert), httpsURL(c, hostA, "/"), nil, http.StatusBadRequest)
		be["a"].expectNone(t)
	})
	// The verify depth counts intermediates, as OpenSSL's does: the
	// default, 1, takes one, as nginx's ssl_verify_depth 1.
	t.Run("A takes one intermediate at the default depth", func(t *testing.T) {
		s := expectServed(t, withCert(chainCert), httpsURL(c, hostA, "/"), nil, be["a"])
		expectVerify(t, s, "SUCCESS")
	})
	t.Run("A beyond the verify depth", func(t *testing.T) {
		expectStatus(t, withCert(deeperCert), httpsURL(c, hostA, "/"), nil, http.StatusBadRequest)
		be["a"].expectNone(t)
	})
	t.Run("A's other Ingress needs the certificate too", func(t *testing.T) {
		expectStatus(t, withoutCert(), httpsURL(c, hostA, "/more"), nil, http.StatusBadRequest)
		be["a-more"].expectNone(t)
		s := expectServed(t, withCert(clientCert), httpsURL(c, hostA, "/more"), nil, be["a-more"])
		expectVerify(t, s, "SUCCESS")
	})
	t.Run("A's check wins over a younger Ingress's", func(t *testing.T) {
		expectStatus(t, withoutCert(), httpsURL(c, hostA, "/lax"), nil, http.StatusBadRequest)
		be["0-lax"].expectNone(t)
		s := expectServed(t, withCert(clientCert), httpsURL(c, hostA, "/lax"), nil, be["0-lax"])
		expectVerify(t, s, "SUCCESS")
		field := "metadata.annotations[" + nginxAnnotation + "auth-tls-secret]"
		e := c.waitForLog(t, "problem of Ingress default/0-lax", isIngressProblem("0-lax", field))
		if want := "Ingress default/a"; !strings.Contains(e.str("reason"), want) {
			t.Errorf("reason: got %q, want it to name %s", e.str("reason"), want)
		}
	})
	t.Run("A over HTTP/2", func(t *testing.T) {
		cfg := withCert(clientCert).tls
		h2 := &http.Client{Transport: &http.Transport{DialContext: dialLoopback, TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
		defer h2.CloseIdleConnections()
		resp, err := h2.Get(httpsURL(c, hostA, "/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("got %d over HTTP/%d, want %d over HTTP/2", resp.StatusCode, resp.ProtoMajor, http.StatusOK)
		}
		expectVerify(t, be["a"].takeOne(t), "SUCCESS")
	})
	t.Run("A over plain HTTP redirects to HTTPS", func(t *testing.T) {
		r, err := newClient(nil).get(httpURL(c, hostA, "/x?y=1"))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("https://%s:%d/x?y=1", hostA, c.httpsPort)
		if r.status != http.StatusPermanentRedirect || r.header.Get("Location") != want {
			t.Errorf("got %d Location %q, want %d Location %q", r.status, r.header.Get("Location"), http.StatusPermanentRedirect, want)
		}
		be["a"].expectNone(t)
	})
	t.Run("server name B with Host A", func(t *testing.T) {
		cl := withCert(clientCert)
		cl.tls.ServerName = hostB
		expectStatus(t, cl, httpsURL(c, hostA, "/"), nil, http.StatusMisdirectedRequest)
		be["a"].expectNone(t)
	})
	t.Run("B does not ask for a certificate", func(t *testing.T) {
		cl := withCert(clientCert)
		for range 3 {
			s := expectServed(t, cl, httpsURL(c, hostB, "/"), nil, be["b"])
			for _, k := range clientCertHeaders {
				if v, ok := s.header[k]; ok {
					t.Errorf("backend of B got %s %q, want none", k, v)
				}
			}
		}
		if n := cl.asked.Load(); n != 0 {
			t.Errorf("client asked for a certificate in handshakes for B: got %d times, want 0", n)
		}
	})
	t.Run("forged headers to B are removed", func(t *testing.T) {
		s := expectServed(t, withoutCert(), httpsURL(c, hostB, "/"), forgedHeaders(), be["b"])
		for _, k := range clientCertHeaders {
			if v, ok := s.header[k]; ok {
				t.Errorf("backend of B got %s %q, want none", k, v)
			}
		}
	})
	t.Run("optional without a certificate", func(t *testing.T) {
		cl := withoutCert()
		s := expectServed(t, cl, httpsURL(c, hostOpt, "/"), forgedHeaders(), be["optional"])
		expectAsked(t, cl, true)
		expectVerify(t, s, "NONE")
		for _, k := range []string{"Ssl-Client-Cert", "Ssl-Client-Subject-Dn", "Ssl-Client-Issuer-Dn"} {
			if v, ok := s.header[k]; ok {
				t.Errorf("backend got forged %s %q, want none", k, v)
			}
		}
	})
	t.Run("optional with a certificate from the CA", func(t *testing.T) {
		s := expectServed(t, withCert(clientCert), httpsURL(c, hostOpt, "/"), forgedHeaders(), be["optional"])
		expectVerify(t, s, "SUCCESS")
		if v, ok := s.header["Ssl-Client-Cert"]; ok {
			t.Errorf("backend got ssl-client-cert %q without auth-tls-pass-certificate-to-upstream", v)
		}
	})
	t.Run("optional with a certificate from another CA", func(t *testing.T) {
		expectStatus(t, withCert(otherCert), httpsURL(c, hostOpt, "/"), nil, http.StatusBadRequest)
		be["optional"].expectNone(t)
	})
	t.Run("optional_no_ca with a certificate from another CA", func(t *testing.T) {
		s := expectServed(t, withCert(otherCert), httpsURL(c, hostNoCA, "/"), nil, be["noca"])
		if got := s.header.Get("Ssl-Client-Verify"); !strings.HasPrefix(got, "FAILED:") {
			t.Errorf("ssl-client-verify: got %q, want FAILED:<reason>", got)
		}
		if got, want := s.header.Get("Ssl-Client-Subject-Dn"), mustParse(t, otherCert.der).Subject.String(); got != want {
			t.Errorf("ssl-client-subject-dn: got %q, want %q", got, want)
		}
	})
	t.Run("optional_no_ca without a certificate", func(t *testing.T) {
		s := expectServed(t, withoutCert(), httpsURL(c, hostNoCA, "/"), nil, be["noca"])
		expectVerify(t, s, "NONE")
	})
	t.Run("Ingress without host, by name", func(t *testing.T) {
		// Its hosts have no Secret: the default certificate.
		cl := newCertClient(nil, clientCert.tlsCertificate(t))
		s := expectServed(t, cl, httpsURL(c, "other.clientauth.example.com", "/"), nil, be["catchall"])
		expectVerify(t, s, "SUCCESS")
		expectStatus(t, newCertClient(nil, nil), httpsURL(c, "other.clientauth.example.com", "/"), nil, http.StatusBadRequest)
		be["catchall"].expectNone(t)
	})
	// Without a server name the handshake asks for a certificate for the
	// Ingress without host, whose rules also serve the address in Host:
	// nothing is misdirected.
	t.Run("Ingress without host, by address", func(t *testing.T) {
		url := fmt.Sprintf("https://127.0.0.1:%d/", c.httpsPort)
		s := expectServed(t, newCertClient(nil, clientCert.tlsCertificate(t)), url, nil, be["catchall"])
		expectVerify(t, s, "SUCCESS")
		expectStatus(t, newCertClient(nil, nil), url, nil, http.StatusBadRequest)
		be["catchall"].expectNone(t)
	})
	// expectErrorPage checks the redirect of auth-tls-error-page.
	expectErrorPage := func(t *testing.T, cl *certClient) {
		t.Helper()
		r, err := cl.get(httpsURL(c, hostErr, "/"))
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusFound || r.header.Get("Location") != errPage {
			t.Errorf("got %d Location %q, want %d Location %q", r.status, r.header.Get("Location"), http.StatusFound, errPage)
		}
		be["errpage"].expectNone(t)
	}
	t.Run("error page without a certificate", func(t *testing.T) {
		cl := withoutCert()
		expectErrorPage(t, cl)
		expectAsked(t, cl, true)
	})
	t.Run("error page with a certificate from another CA", func(t *testing.T) {
		expectErrorPage(t, withCert(otherCert))
	})
	t.Run("error page beyond the verify depth", func(t *testing.T) {
		expectErrorPage(t, withCert(deeperCert))
	})
	t.Run("error page not shown to a verified client", func(t *testing.T) {
		s := expectServed(t, withCert(clientCert), httpsURL(c, hostErr, "/"), nil, be["errpage"])
		expectVerify(t, s, "SUCCESS")
	})
	t.Run("verify depth 2 accepts two intermediates", func(t *testing.T) {
		s := expectServed(t, withCert(deeperCert), httpsURL(c, hostDeep, "/"), nil, be["deep"])
		expectVerify(t, s, "SUCCESS")
		if got, want := s.header.Get("Ssl-Client-Issuer-Dn"), second.cert.Subject.String(); got != want {
			t.Errorf("ssl-client-issuer-dn: got %q, want %q", got, want)
		}
	})
}

// TestTLSHSTS checks the Strict-Transport-Security header: set by the
// caddy-ingress.io/hsts annotation, or by the app's hsts option for TLS
// hosts whose Ingress does not set it; on HTTPS responses only.
func TestTLSHSTS(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "caddy-ingress e2e test CA", nil)
	const (
		hostOwn      = "own.hsts.example.com"      // annotation, no redirect
		hostRedirect = "redirect.hsts.example.com" // annotation, redirect to HTTPS
		hostDefault  = "default.hsts.example.com"  // TLS, no annotation
		hostOff      = "off.hsts.example.com"      // annotation "off"
		hostPlain    = "plain.hsts.example.com"    // no TLS
		appHSTS      = "max-age=120"
	)
	be := startBackend(t, "app")
	hsts := ownAnnotation + "hsts"
	dir := t.TempDir()
	writeManifest(t, dir, "app.yaml", serviceWithEndpoints("app", be))
	writeManifest(t, dir, "hosts-tls.yaml", secretYAML("hosts-tls", ca.issue(t, hostOwn, hostRedirect, hostDefault, hostOff, hostPlain)))
	for _, in := range []annotatedIngress{
		{name: "own", hosts: []string{hostOwn}, tlsSecret: "hosts-tls", annotations: map[string]string{
			hsts: "max-age=60; includeSubDomains", nginxAnnotation + "ssl-redirect": "false",
		}},
		{name: "redirect", hosts: []string{hostRedirect}, tlsSecret: "hosts-tls", annotations: map[string]string{hsts: "max-age=60"}},
		{name: "default", hosts: []string{hostDefault}, tlsSecret: "hosts-tls"},
		{name: "hsts-off", hosts: []string{hostOff}, tlsSecret: "hosts-tls", annotations: map[string]string{hsts: "off"}},
		{name: "plain", hosts: []string{hostPlain}},
	} {
		in.service = "app"
		writeManifest(t, dir, in.name+".yaml", in.yaml())
	}

	// caddyfileTemplate with the app's hsts option.
	template := strings.Replace(caddyfileTemplate, "\t\tmanifests ", "\t\thsts \""+appHSTS+"\"\n\t\tmanifests ", 1)
	if template == caddyfileTemplate {
		t.Fatal("caddyfileTemplate has no manifests line in its ingress options")
	}
	c := startCaddyWithConfig(t, dir, template)
	secure := newClient(ca.pool)

	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantHSTS   string
	}{
		{name: "annotation over HTTPS", url: httpsURL(c, hostOwn, "/"), wantStatus: http.StatusOK, wantHSTS: "max-age=60; includeSubDomains"},
		{name: "annotation over HTTP", url: httpURL(c, hostOwn, "/"), wantStatus: http.StatusOK},
		{name: "redirect to HTTPS", url: httpURL(c, hostRedirect, "/"), wantStatus: http.StatusPermanentRedirect},
		{name: "annotation over HTTPS after a redirect", url: httpsURL(c, hostRedirect, "/"), wantStatus: http.StatusOK, wantHSTS: "max-age=60"},
		{name: "app default over HTTPS", url: httpsURL(c, hostDefault, "/"), wantStatus: http.StatusOK, wantHSTS: appHSTS},
		{name: "annotation off", url: httpsURL(c, hostOff, "/"), wantStatus: http.StatusOK},
		{name: "host without TLS over HTTP", url: httpURL(c, hostPlain, "/"), wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := secure.get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", r.status, tt.wantStatus)
			}
			if got := r.header.Values("Strict-Transport-Security"); strings.Join(got, ", ") != tt.wantHSTS {
				t.Errorf("Strict-Transport-Security: got %q, want %q", got, tt.wantHSTS)
			}
		})
	}
	// Over HTTPS a host without TLS gets the default certificate.
	t.Run("host without TLS over HTTPS", func(t *testing.T) {
		r, err := newInsecureClient().get(httpsURL(c, hostPlain, "/"))
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK {
			t.Errorf("status: got %d, want %d", r.status, http.StatusOK)
		}
		if got := r.header.Values("Strict-Transport-Security"); len(got) != 0 {
			t.Errorf("Strict-Transport-Security: got %q, want none", got)
		}
	})
}

// TestTLSCertificateRotation rewrites a TLS Secret with a key pair from a
// new CA while clients keep opening new connections, and checks that no
// handshake or request fails and that the new certificate takes over for
// good, without a config reload.
func TestTLSCertificateRotation(t *testing.T) {
	t.Parallel()
	const (
		host    = "rotate.example.com"
		workers = 4
		// settleRequests is how many requests the load goes on for
		// after every worker has seen the new certificate.
		settleRequests = 20 * workers
	)
	caOld, caNew := newCA(t, "old server CA", nil), newCA(t, "new server CA", nil)
	oldCert, newCert := caOld.issue(t, host), caNew.issue(t, host)
	be := startBackend(t, "app")
	dir := t.TempDir()
	writeManifest(t, dir, "app.yaml", serviceWithEndpoints("app", be))
	writeManifest(t, dir, "secret.yaml", secretYAML("rotate-tls", oldCert))
	writeManifest(t, dir, "ingress.yaml", ingressYAML("rotate", "rotate-tls", rule{host: host, paths: []ingressPath{{path: "/", pathType: "Prefix", service: "app"}}}))

	c := startCaddy(t, dir)
	roots := x509.NewCertPool()
	roots.AddCert(caOld.cert)
	roots.AddCert(caNew.cert)
	cl := newClient(roots) // no keep-alive: a handshake per request
	url := httpsURL(c, host, "/")

	type tally struct {
		requests, oldCerts, newCerts int
		failures                     []string
		// regressions counts old certificates after a new one on the
		// same worker.
		regressions int
	}
	var (
		mu      sync.Mutex
		tallies [workers]tally
		sawNew  [workers]atomic.Bool
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				r, err := cl.get(url)
				mu.Lock()
				tl := &tallies[w]
				tl.requests++
				switch {
				case err != nil:
					tl.failures = append(tl.failures, err.Error())
				case r.status != http.StatusOK || r.body != be.name:
					tl.failures = append(tl.failures, fmt.Sprintf("got %d %q, want %d %q", r.status, r.body, http.StatusOK, be.name))
				case bytes.Equal(r.leaf.Raw, oldCert.der):
					tl.oldCerts++
					if sawNew[w].Load() {
						tl.regressions++
					}
				case bytes.Equal(r.leaf.Raw, newCert.der):
					tl.newCerts++
					sawNew[w].Store(true)
				default:
					tl.failures = append(tl.failures, "served "+describeCert(r.leaf))
				}
				mu.Unlock()
			}
		}()
	}
	total := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, tl := range tallies {
			n += tl.requests
		}
		return n
	}

	// Rotate once the load runs, and keep it running until every worker
	// has seen the new certificate, and a while longer.
	eventually(t, "load before the rotation", func() error {
		if n := total(); n < 10*workers {
			return fmt.Errorf("%d requests so far", n)
		}
		return nil
	})
	rotated := time.Now()
	writeManifest(t, dir, "secret.yaml", secretYAML("rotate-tls", newCert))
	eventually(t, "every worker sees the new certificate", func() error {
		for w := range workers {
			if !sawNew[w].Load() {
				return fmt.Errorf("worker %d has not", w)
			}
		}
		return nil
	})
	took := time.Since(rotated)
	after := total()
	eventually(t, "load after the rotation", func() error {
		if n := total() - after; n < settleRequests {
			return fmt.Errorf("%d requests since every worker saw the new certificate", n)
		}
		return nil
	})
	cancel()
	wg.Wait()

	var sum tally
	for w, tl := range tallies {
		sum.requests += tl.requests
		sum.oldCerts += tl.oldCerts
		sum.newCerts += tl.newCerts
		sum.regressions += tl.regressions
		for _, f := range tl.failures {
			t.Errorf("worker %d: %s", w, f)
		}
	}
	t.Logf("%d requests, %d with the old certificate, %d with the new one; all workers saw the new one %v after the rotation",
		sum.requests, sum.oldCerts, sum.newCerts, took.Round(time.Millisecond))
	if sum.regressions != 0 {
		t.Errorf("old certificate served after the new one on the same worker: %d times", sum.regressions)
	}
	if sum.oldCerts == 0 || sum.newCerts == 0 {
		t.Errorf("requests with the old and the new certificate: got %d and %d, want some of each", sum.oldCerts, sum.newCerts)
	}

	r, err := cl.get(url)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.leaf.Raw, newCert.der) {
		t.Errorf("certificate after the rotation: got %s, want %s", describeCert(r.leaf), describeCert(mustParse(t, newCert.der)))
	}
	// Clients that trust only the old CA are refused now.
	if _, err := newClient(caOld.pool).get(url); err == nil {
		t.Error("a client trusting only the old CA: got a response, want a failed handshake")
	}
	if got := c.countLog(isIngressStarted); got != 1 {
		t.Errorf(`log lines {"logger":"ingress","msg":"started"}: got %d, want 1 (no reload)`, got)
	}
}

// TestTLSInvalidAnnotations checks that an invalid value of a TLS
// annotation refuses its Ingress (503, with a problem naming the Ingress
// and the annotation) and leaves the other Ingresses serving.
func TestTLSInvalidAnnotations(t *testing.T) {
	t.Parallel()
	serverCA := newCA(t, "server CA", nil)
	clientCA := newCA(t, "client CA", nil)
	refused := startRecordingBackend(t, "refused", nil)
	served := startRecordingBackend(t, "served", nil)
	const clientCASecret = "default/client-ca"

	tests := []struct {
		name        string
		annotations map[string]string
		// field is the annotation the problem names; reason is part of
		// its reason.
		field, reason string
	}{
		{
			name: "verify-client",
			annotations: map[string]string{
				nginxAnnotation + "auth-tls-secret":        clientCASecret,
				nginxAnnotation + "auth-tls-verify-client": "require",
			},
			field: nginxAnnotation + "auth-tls-verify-client", reason: `invalid value "require"`,
		},
		{
			name: "verify-depth",
			annotations: map[string]string{
				nginxAnnotation + "auth-tls-secret":       clientCASecret,
				nginxAnnotation + "auth-tls-verify-depth": "-1",
			},
			field: nginxAnnotation + "auth-tls-verify-depth", reason: `invalid value "-1"`,
		},
		{
			name: "pass-certificate",
			annotations: map[string]string{
				nginxAnnotation + "auth-tls-secret":                       clientCASecret,
				nginxAnnotation + "auth-tls-pass-certificate-to-upstream": "yes",
			},
			field: nginxAnnotation + "auth-tls-pass-certificate-to-upstream", reason: `invalid value "yes"`,
		},
		{
			name:        "missing-client-ca",
			annotations: map[string]string{ownAnnotation + "auth-tls-secret": "default/missing"},
			field:       ownAnnotation + "auth-tls-secret", reason: "secret default/missing not found",
		},
		{
			name:        "verify-client-without-secret",
			annotations: map[string]string{nginxAnnotation + "auth-tls-verify-client": "on"},
			field:       nginxAnnotation + "auth-tls-verify-client", reason: "needs auth-tls-secret",
		},
		{
			name:        "backend-protocol",
			annotations: map[string]string{ownAnnotation + "backend-protocol": "SPDY"},
			field:       ownAnnotation + "backend-protocol", reason: `invalid value "SPDY"`,
		},
		{
			name: "proxy-ssl-verify",
			annotations: map[string]string{
				nginxAnnotation + "backend-protocol": "HTTPS",
				nginxAnnotation + "proxy-ssl-secret": "default/backend-ca",
				nginxAnnotation + "proxy-ssl-verify": "maybe",
			},
			field: nginxAnnotation + "proxy-ssl-verify", reason: `invalid value "maybe"`,
		},
		{
			name: "verify-without-ca",
			annotations: map[string]string{
				nginxAnnotation + "backend-protocol": "HTTPS",
				nginxAnnotation + "proxy-ssl-verify": "on",
			},
			field: nginxAnnotation + "proxy-ssl-verify", reason: "ca.crt",
		},
		{
			name: "proxy-ssl-secret-elsewhere",
			annotations: map[string]string{
				nginxAnnotation + "backend-protocol": "GRPCS",
				nginxAnnotation + "proxy-ssl-secret": "kube-system/backend-ca",
			},
			field: nginxAnnotation + "proxy-ssl-secret", reason: "another namespace",
		},
	}
	// Served: no annotations, and an invalid nginx value overridden by a
	// valid one of ours.
	good := map[string]map[string]string{
		"plain": nil,
		"ours-wins": {
			nginxAnnotation + "auth-tls-secret":        clientCASecret,
			nginxAnnotation + "auth-tls-verify-client": "require",
			ownAnnotation + "auth-tls-verify-client":   "optional",
		},
	}
	hostOf := func(name string) string { return name + ".invalid.example.com" }
	var hosts []string
	dir := t.TempDir()
	for _, tt := range tests {
		hosts = append(hosts, hostOf(tt.name))
		writeManifest(t, dir, tt.name+".yaml", annotatedIngress{
			name: tt.name, annotations: tt.annotations, hosts: []string{hostOf(tt.name)}, tlsSecret: "hosts-tls", service: "refused",
		}.yaml())
	}
	hosts = append(hosts, hostOf("hsts"))
	writeManifest(t, dir, "hsts.yaml", annotatedIngress{
		name: "hsts", annotations: map[string]string{ownAnnotation + "hsts": "max-age=soon"}, hosts: []string{hostOf("hsts")}, tlsSecret: "hosts-tls", service: "served",
	}.yaml())
	for name, annotations := range good {
		hosts = append(hosts, hostOf(name))
		writeManifest(t, dir, name+".yaml", annotatedIngress{
			name: name, annotations: annotations, hosts: []string{hostOf(name)}, tlsSecret: "hosts-tls", service: "served",
		}.yaml())
	}
	writeManifest(t, dir, "hosts-tls.yaml", secretYAML("hosts-tls", serverCA.issue(t, hosts...)))
	writeManifest(t, dir, "client-ca.yaml", opaqueSecretYAML("client-ca", map[string][]byte{"ca.crt": caPEM(clientCA)}))
	writeManifest(t, dir, "backend-ca.yaml", opaqueSecretYAML("backend-ca", map[string][]byte{"ca.crt": caPEM(serverCA)}))
	writeManifest(t, dir, "refused.yaml", refused.serviceFor("refused"))
	writeManifest(t, dir, "served.yaml", served.serviceFor("served"))

	c := startCaddy(t, dir)
	// A valid client certificate gets past the client certificate check
	// that refused Ingresses may still ask for.
	cl := newCertClient(serverCA.pool, clientCA.issueClient(t, "alice").tlsCertificate(t))

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field := "metadata.annotations[" + tt.field + "]"
			e := c.waitForLog(t, "problem of Ingress default/"+tt.name+" at "+field, isIngressProblem(tt.name, field))
			if !strings.Contains(e.str("reason"), tt.reason) {
				t.Errorf("reason: got %q, want it to contain %q", e.str("reason"), tt.reason)
			}
			if err := cl.expect(httpsURL(c, hostOf(tt.name), "/"), http.StatusServiceUnavailable, ""); err != nil {
				t.Error(err)
			}
			refused.expectNone(t)
		})
	}
	// An invalid HSTS value is reported and sends no header of its own
	// (the app's hsts default would apply; there is none here); the
	// Ingress keeps serving, as a missing header only loses a hint to
	// browsers that the host is HTTPS-only.
	t.Run("hsts", func(t *testing.T) {
		field := "metadata.annotations[" + ownAnnotation + "hsts]"
		e := c.waitForLog(t, "problem of Ingress default/hsts at "+field, isIngressProblem("hsts", field))
		if !strings.Contains(e.str("reason"), `invalid value "max-age=soon"`) {
			t.Errorf("reason: got %q", e.str("reason"))
		}
		r, err := cl.get(httpsURL(c, hostOf("hsts"), "/"))
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK || r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("got %d with Strict-Transport-Security %q, want 200 without", r.status, r.header.Get("Strict-Transport-Security"))
		}
		served.takeOne(t)
	})
	for name := range good {
		t.Run(name+" serves", func(t *testing.T) {
			if err := cl.expect(httpsURL(c, hostOf(name), "/"), http.StatusOK, served.name); err != nil {
				t.Error(err)
			}
			served.takeOne(t)
			for _, e := range c.log.entries() {
				if e.str("msg") == "problem" && e.str("object") == "Ingress default/"+name {
					t.Errorf("problem: got %q at %q, want none", e.str("reason"), e.str("field"))
				}
			}
		})
	}
}
