package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// seenRequest is what a recording backend saw of one request.
type seenRequest struct {
	protoMajor int
	tls        bool
	// sni is the TLS server name the proxy sent; "" when none.
	sni string
	// clientCert is the DER of the proxy's client certificate; nil when
	// it presented none.
	clientCert []byte
	host       string
	header     http.Header
}

// recordingBackend is a backend that answers every request with its name
// and records what it saw: HTTP version, TLS server name, client
// certificate and headers.
type recordingBackend struct {
	name string
	port int

	mu   sync.Mutex
	seen []seenRequest
}

// backendTLSConfig makes a recording backend serve TLS.
type backendTLSConfig struct {
	cert keyPair
	// clientCAs, when set, makes the backend require a client
	// certificate signed by one of them.
	clientCAs *x509.CertPool
	// h2Only makes the backend speak HTTP/2 and nothing else.
	h2Only bool
}

// startRecordingBackend starts a recording backend that stops when the
// test ends. Without tc it serves cleartext HTTP/1.1 and HTTP/2 with prior
// knowledge (h2c); with tc it serves TLS with HTTP/1.1 and HTTP/2 by ALPN.
func startRecordingBackend(t *testing.T, name string, tc *backendTLSConfig) *recordingBackend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &recordingBackend{name: name, port: l.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{
		Handler:           http.HandlerFunc(b.serve),
		ReadHeaderTimeout: 10 * time.Second,
		// Refused handshakes are part of the tests, not noise to print.
		ErrorLog:  log.New(io.Discard, "", 0),
		Protocols: new(http.Protocols),
	}
	if tc == nil {
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
		go srv.Serve(l)
	} else {
		cert, err := tls.X509KeyPair(tc.cert.certPEM, tc.cert.keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if tc.clientCAs != nil {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			cfg.ClientCAs = tc.clientCAs
		}
		srv.TLSConfig = cfg
		srv.Protocols.SetHTTP2(true)
		srv.Protocols.SetHTTP1(!tc.h2Only)
		go srv.ServeTLS(l, "", "")
	}
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *recordingBackend) serve(w http.ResponseWriter, r *http.Request) {
	s := seenRequest{protoMajor: r.ProtoMajor, host: r.Host, header: r.Header.Clone()}
	if r.TLS != nil {
		s.tls = true
		s.sni = r.TLS.ServerName
		if len(r.TLS.PeerCertificates) > 0 {
			s.clientCert = r.TLS.PeerCertificates[0].Raw
		}
	}
	b.mu.Lock()
	b.seen = append(b.seen, s)
	b.mu.Unlock()
	w.Header().Set("X-Backend", b.name)
	io.WriteString(w, b.name)
}

// take returns the requests seen since the last call and forgets them.
func (b *recordingBackend) take() []seenRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := b.seen
	b.seen = nil
	return seen
}

// takeOne returns the one request seen since the last take, failing the
// test unless there was exactly one.
func (b *recordingBackend) takeOne(t *testing.T) seenRequest {
	t.Helper()
	seen := b.take()
	if len(seen) != 1 {
		t.Fatalf("backend %s: got %d requests, want 1", b.name, len(seen))
	}
	return seen[0]
}

// expectNone fails the test if the backend saw any request since the last
// take.
func (b *recordingBackend) expectNone(t *testing.T) {
	t.Helper()
	if seen := b.take(); len(seen) != 0 {
		t.Errorf("backend %s: got %d requests, want none", b.name, len(seen))
	}
}

// serviceFor is a Service named name with one endpoint: the backend.
func (b *recordingBackend) serviceFor(name string) string {
	return serviceYAML(name) + "---\n" + endpointSliceYAML(name, b.port, true)
}

// newNamedCA is a CA with its own CommonName, signed by parent, or
// self-signed when parent is nil. Certificates of two CAs then name
// different issuers.
func newNamedCA(t *testing.T, cn string, parent *testCA) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	issuer, signer := tmpl, any(key)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issueClient makes a client certificate (extended key usage clientAuth)
// for cn. Its certPEM holds the leaf and, for an intermediate CA, the
// intermediate, as a client sends them.
func (ca *testCA) issueClient(t *testing.T, cn string) keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"caddy-ingress e2e"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if !isSelfSigned(ca.cert) {
		certPEM = append(certPEM, caPEM(ca)...)
	}
	return keyPair{
		certPEM: certPEM,
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		der:     der,
	}
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// caPEM is the CA's certificate as PEM, for a Secret's ca.crt.
func caPEM(ca *testCA) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// leafPEM is the PEM of a key pair's leaf certificate alone.
func (kp keyPair) leafPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.der})
}

func (kp keyPair) tlsCertificate(t *testing.T) *tls.Certificate {
	t.Helper()
	cert, err := tls.X509KeyPair(kp.certPEM, kp.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}

// opaqueSecretYAML is a Secret of type Opaque in namespace default whose
// data are the given keys, base64-encoded.
func opaqueSecretYAML(name string, data map[string][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: default\ntype: Opaque\ndata:\n", name)
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(&b, "  %s: %s\n", k, base64.StdEncoding.EncodeToString(data[k]))
	}
	return b.String()
}

// stringDataSecretYAML is a Secret of type Opaque in namespace default
// written with stringData, as people write Secrets by hand.
func stringDataSecretYAML(name string, data map[string][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: default\nstringData:\n", name)
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(&b, "  %s: |\n", k)
		for _, line := range strings.SplitAfter(strings.TrimSuffix(string(data[k]), "\n"), "\n") {
			fmt.Fprintf(&b, "    %s", line)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// annotatedIngress is an Ingress of class caddy in namespace default with
// one path per host to port 80 of one Service.
type annotatedIngress struct {
	name        string
	annotations map[string]string
	// tlsSecret, when set, terminates TLS for all hosts with it.
	tlsSecret string
	hosts     []string
	path      string // default "/"
	service   string
	// created, when set, is the creationTimestamp (RFC 3339) that
	// decides which of two Ingresses is older.
	created string
}

func (in annotatedIngress) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %q\n  namespace: default\n", in.name)
	if in.created != "" {
		fmt.Fprintf(&b, "  creationTimestamp: %q\n", in.created)
	}
	if len(in.annotations) > 0 {
		b.WriteString("  annotations:\n")
		for _, k := range slices.Sorted(maps.Keys(in.annotations)) {
			fmt.Fprintf(&b, "    %s: %q\n", k, in.annotations[k])
		}
	}
	b.WriteString("spec:\n  ingressClassName: caddy\n")
	if in.tlsSecret != "" {
		b.WriteString("  tls:\n  - hosts:\n")
		for _, h := range in.hosts {
			fmt.Fprintf(&b, "    - %q\n", h)
		}
		fmt.Fprintf(&b, "    secretName: %s\n", in.tlsSecret)
	}
	path := in.path
	if path == "" {
		path = "/"
	}
	b.WriteString("  rules:\n")
	for _, h := range in.hosts {
		fmt.Fprintf(&b, `  - host: %q
    http:
      paths:
      - path: %s
        pathType: Prefix
        backend:
          service:
            name: %s
            port:
              number: 80
`, h, path, in.service)
	}
	return b.String()
}

// logMentions reports whether any string value of a log entry contains s.
func logMentions(s string) func(logEntry) bool {
	return func(e logEntry) bool {
		for _, v := range e {
			if str, ok := v.(string); ok && strings.Contains(str, s) {
				return true
			}
		}
		return false
	}
}

// isIngressProblem matches the warning the ingress app logs for a problem
// of an Ingress in namespace default at a field.
func isIngressProblem(name, field string) func(logEntry) bool {
	return func(e logEntry) bool {
		return e.str("level") == "warn" && e.str("logger") == "ingress" && e.str("msg") == "problem" &&
			e.str("object") == "Ingress default/"+name && e.str("field") == field
	}
}
