package integration

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
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
	// remote is the address of the proxy's end of the connection that
	// carried the request: one per connection.
	remote string
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
	// tls12 makes the backend speak TLS 1.2 at most.
	tls12 bool
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
		if tc.tls12 {
			cfg.MaxVersion = tls.VersionTLS12
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
	s := seenRequest{protoMajor: r.ProtoMajor, host: r.Host, header: r.Header.Clone(), remote: r.RemoteAddr}
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
	// tlsSecret, when set, terminates TLS for all hosts with it;
	// autoTLS lists them under spec.tls without a secretName.
	tlsSecret string
	autoTLS   bool
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
	if in.tlsSecret != "" || in.autoTLS {
		b.WriteString("  tls:\n  - hosts:\n")
		for _, h := range in.hosts {
			fmt.Fprintf(&b, "    - %q\n", h)
		}
		if in.tlsSecret != "" {
			fmt.Fprintf(&b, "    secretName: %s\n", in.tlsSecret)
		}
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
