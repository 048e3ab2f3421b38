package caddyingress

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	corev1 "k8s.io/api/core/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// startBackend starts an HTTPS server that answers 200 with what it saw
// in Seen-* headers: the protocol, the SNI, the Host and the common name
// of the client certificate.
func startBackend(t *testing.T, cfg *tls.Config, h2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-Proto", r.Proto)
		w.Header().Set("Seen-Host", r.Host)
		if r.TLS != nil {
			w.Header().Set("Seen-Sni", r.TLS.ServerName)
			w.Header().Set("Seen-Tls", tls.VersionName(r.TLS.Version))
			w.Header().Set("Seen-Cipher", tls.CipherSuiteName(r.TLS.CipherSuite))
			if len(r.TLS.PeerCertificates) > 0 {
				w.Header().Set("Seen-Client", r.TLS.PeerCertificates[0].Subject.CommonName)
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	srv.TLS = cfg
	srv.EnableHTTP2 = h2
	if h2 {
		srv.TLS.NextProtos = []string{"h2", "http/1.1"}
	} else {
		srv.TLS.NextProtos = []string{"http/1.1"}
	}
	// A new connection for every request, so that every request
	// shows what a handshake does.
	srv.Config.SetKeepAlivesEnabled(false)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// proxyContext runs the ingress app and returns a context to provision
// routes in, as the app does. reverse_proxy and this transport look up
// apps, which a context without a loaded config cannot do.
func proxyContext(t *testing.T) (*App, caddy.Context) {
	t.Helper()
	app := runApp(t)
	ctx, cancel := caddy.NewContext(caddy.ActiveContext())
	t.Cleanup(cancel)
	return app, ctx
}

// compileProxy compiles a reverse_proxy route to one static upstream with
// the given transport JSON, as the app compiles an Ingress's routes.
func compileProxy(t *testing.T, ctx caddy.Context, dial, transport string) caddyhttp.Handler {
	t.Helper()
	cfg := fmt.Sprintf(`[{"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":%q}],"transport":%s}]}]`, dial, transport)
	var routes caddyhttp.RouteList
	if err := json.Unmarshal([]byte(cfg), &routes); err != nil {
		t.Fatalf("decoding %s: %v", cfg, err)
	}
	if err := routes.Provision(ctx); err != nil {
		t.Fatalf("provisioning %s: %v", cfg, err)
	}
	return routes.Compile(notFound)
}

// proxy sends a request for app.example.com through h and returns the
// status and response headers, or the status and error of a failure.
func proxy(h caddyhttp.Handler) (int, http.Header, error) {
	req := httptest.NewRequest(http.MethodGet, "http://app.example.com/hello", nil)
	w := httptest.NewRecorder()
	req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), w, new(caddyhttp.Server))
	if err := h.ServeHTTP(w, req); err != nil {
		var he caddyhttp.HandlerError
		if errors.As(err, &he) {
			return he.StatusCode, nil, err
		}
		return 0, nil, err
	}
	return w.Code, w.Header(), nil
}

func setBackendSecret(app *App, sec *ingress.BackendSecret) {
	m := map[string]*ingress.BackendSecret{}
	if sec != nil {
		m[sec.Secret] = sec
	}
	app.setServed(func(s *served) { s.backendSecrets = m })
}

func TestTransport(t *testing.T) {
	app, ctx := proxyContext(t)
	trusted := newTestCA(t, "trusted CA")
	other := newTestCA(t, "other CA")
	clients := newTestCA(t, "client CA")
	good := trusted.issue(t, "backend", x509.ExtKeyUsageServerAuth, "svc.ns.svc")
	unknown := other.issue(t, "backend", x509.ExtKeyUsageServerAuth, "svc.ns.svc")
	client := clients.issue(t, "caddy-ingress", x509.ExtKeyUsageClientAuth)

	// Backend certificates one and two intermediates below the trusted
	// CA, sent with their intermediates.
	mid := trusted.intermediate(t, "intermediate CA")
	lower := mid.intermediate(t, "lower intermediate CA")
	oneDeep := mid.issue(t, "backend", x509.ExtKeyUsageServerAuth, "svc.ns.svc")
	oneDeep.Certificate = append(oneDeep.Certificate, mid.cert.Raw)
	twoDeep := lower.issue(t, "backend", x509.ExtKeyUsageServerAuth, "svc.ns.svc")
	twoDeep.Certificate = append(twoDeep.Certificate, lower.cert.Raw, mid.cert.Raw)

	const secret = "ns/backend-ca"
	full := &ingress.BackendSecret{Secret: secret, CAs: trusted.pool, ClientCert: client}
	verifying := `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca","verify":true,"server_name":"svc.ns.svc"}`
	// with is verifying with more settings.
	with := func(fields string) string { return strings.TrimSuffix(verifying, "}") + "," + fields + "}" }
	tests := []struct {
		name      string
		cert      *tls.Certificate
		clientCAs *x509.CertPool // the backend requires a client certificate from these
		tls12     bool           // the backend speaks TLS 1.2 at most
		h2        bool
		transport string
		secret    *ingress.BackendSecret // nil: the app holds no Secret
		status    int
		errText   string // in the error; $addr is the backend's address
		seen      map[string]string
	}{
		{
			name: "trusted", cert: good, transport: verifying, secret: full, status: 200,
			seen: map[string]string{"Seen-Proto": "HTTP/1.1", "Seen-Host": "app.example.com", "Seen-Sni": "", "Seen-Client": ""},
		},
		{
			name: "unknown CA", cert: unknown, transport: verifying, secret: full, status: 502,
			errText: "backend certificate of $addr (Ingress ns/my-ingress) not trusted: x509: certificate signed by unknown authority",
		},
		{
			name: "unknown CA without verify", cert: unknown, status: 200, secret: full,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca","server_name":"svc.ns.svc"}`,
		},
		{
			name: "unknown CA without secret", cert: unknown, status: 200,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress"}`,
		},
		{
			name: "other server name", cert: good, secret: full, status: 502,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca","verify":true,"server_name":"other.ns.svc"}`,
			errText:   "backend certificate of $addr (Ingress ns/my-ingress) not trusted: x509: certificate is valid for svc.ns.svc, not other.ns.svc",
		},
		{
			name: "mutual TLS", cert: good, clientCAs: clients.pool, transport: verifying, secret: full, status: 200,
			seen: map[string]string{"Seen-Client": "caddy-ingress"},
		},
		{
			name: "mutual TLS without client certificate", cert: good, clientCAs: clients.pool, transport: verifying, status: 502,
			secret: &ingress.BackendSecret{Secret: secret, CAs: trusted.pool},
			// After a TLS 1.3 handshake the refusal shows as a TLS alert or,
			// when the request is written first, a closed connection; the
			// error says why either way.
			errText: "backend $addr (Ingress ns/my-ingress) refused the connection for lack of a client certificate: it asked for one and secret ns/backend-ca has no tls.crt: ",
		},
		{
			name: "mutual TLS without client certificate in TLS 1.2", cert: good, clientCAs: clients.pool, tls12: true, transport: verifying, status: 502,
			secret: &ingress.BackendSecret{Secret: secret, CAs: trusted.pool},
			// Refused in the handshake itself.
			errText: "backend $addr (Ingress ns/my-ingress) refused the connection for lack of a client certificate: it asked for one and secret ns/backend-ca has no tls.crt: ",
		},
		{
			name: "mutual TLS without proxy-ssl-secret", cert: good, clientCAs: clients.pool, status: 502,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress"}`,
			errText:   "backend $addr (Ingress ns/my-ingress) refused the connection for lack of a client certificate: it asked for one and no proxy-ssl-secret is set: ",
		},
		{
			name: "verify without ca.crt", cert: good, transport: verifying, status: 502,
			secret:  &ingress.BackendSecret{Secret: secret, ClientCert: client},
			errText: "backend certificate of $addr (Ingress ns/my-ingress) not trusted: secret ns/backend-ca has no ca.crt",
		},
		{
			name: "verify without secret", cert: good, status: 502,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","verify":true,"server_name":"svc.ns.svc"}`,
			errText:   "backend certificate of $addr (Ingress ns/my-ingress) not trusted: verify is on but no secret holds the trusted CAs",
		},
		{
			name: "secret gone", cert: unknown, status: 502,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca"}`,
			errText:   "TLS to backend $addr (Ingress ns/my-ingress): secret ns/backend-ca not found",
		},
		{
			name: "send SNI", cert: good, secret: full, status: 200,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca","verify":true,"server_name":"svc.ns.svc","send_sni":true}`,
			seen:      map[string]string{"Seen-Sni": "svc.ns.svc"},
		},
		{
			name: "HTTP/2 only", cert: good, h2: true, secret: full, status: 200,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","versions":["2"],"secret":"ns/backend-ca","verify":true,"server_name":"svc.ns.svc"}`,
			seen:      map[string]string{"Seen-Proto": "HTTP/2.0"},
		},
		{
			name: "HTTP/1.1 only", cert: good, h2: true, secret: full, status: 200,
			transport: `{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","versions":["1.1"],"secret":"ns/backend-ca","verify":true,"server_name":"svc.ns.svc"}`,
			seen:      map[string]string{"Seen-Proto": "HTTP/1.1"},
		},
		{
			name: "HTTP/2 by default", cert: good, h2: true, transport: verifying, secret: full, status: 200,
			seen: map[string]string{"Seen-Proto": "HTTP/2.0"},
		},
		{
			name: "TLS 1.3 only to a TLS 1.2 backend", cert: good, tls12: true, secret: full, status: 502,
			transport: with(`"protocol_min":"tls1.3","protocol_max":"tls1.3"`),
			errText:   "TLS to backend $addr (Ingress ns/my-ingress): remote error: tls: protocol version not supported",
		},
		{
			name: "TLS 1.2 only to a TLS 1.2 backend", cert: good, tls12: true, secret: full, status: 200,
			transport: with(`"protocol_min":"tls1.2","protocol_max":"tls1.2"`),
		},
		{
			name: "TLS 1.2 only to a TLS 1.3 backend", cert: good, secret: full, status: 200,
			transport: with(`"protocol_max":"tls1.2"`), seen: map[string]string{"Seen-Tls": "TLS 1.2"},
		},
		{
			name: "cipher suites the backend's key cannot use", cert: good, tls12: true, secret: full, status: 502,
			transport: with(`"cipher_suites":["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]`),
			errText:   "TLS to backend $addr (Ingress ns/my-ingress): remote error: tls: handshake failure",
		},
		{
			name: "cipher suites the backend's key can use", cert: good, tls12: true, secret: full, status: 200,
			transport: with(`"cipher_suites":["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256","TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]`),
			seen:      map[string]string{"Seen-Cipher": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
		},
		{
			name: "one intermediate within verify depth 1", cert: oneDeep, secret: full, status: 200,
			transport: with(`"verify_depth":1`),
		},
		{
			name: "one intermediate beyond verify depth 0", cert: oneDeep, secret: full, status: 502,
			transport: with(`"verify_depth":0`),
			errText:   "backend certificate of $addr (Ingress ns/my-ingress) not trusted: certificate chain has 1 intermediate CA certificates, more than the verify depth 0",
		},
		{
			name: "two intermediates beyond verify depth 1", cert: twoDeep, secret: full, status: 502,
			transport: with(`"verify_depth":1`),
			errText:   "backend certificate of $addr (Ingress ns/my-ingress) not trusted: certificate chain has 2 intermediate CA certificates, more than the verify depth 1",
		},
		{
			name: "two intermediates within verify depth 2", cert: twoDeep, secret: full, status: 200,
			transport: with(`"verify_depth":2`),
		},
		{
			name: "two intermediates without verify depth", cert: twoDeep, secret: full, status: 200, transport: verifying,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{Certificates: []tls.Certificate{*tt.cert}}
			if tt.clientCAs != nil {
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
				cfg.ClientCAs = tt.clientCAs
			}
			if tt.tls12 {
				cfg.MaxVersion = tls.VersionTLS12
			}
			backend := startBackend(t, cfg, tt.h2)
			addr := backend.Listener.Addr().String()
			setBackendSecret(app, tt.secret)

			status, header, err := proxy(compileProxy(t, ctx, addr, tt.transport))
			if status != tt.status {
				t.Fatalf("got status %d (error %v), want %d", status, err, tt.status)
			}
			if want := strings.ReplaceAll(tt.errText, "$addr", addr); want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Errorf("got error %v, want one containing %q", err, want)
			}
			if tt.errText == "" && err != nil {
				t.Errorf("got error %v, want none", err)
			}
			for k, want := range tt.seen {
				if got := header.Get(k); got != want {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestTransportRotation checks that new connections use what the Secret
// holds at their handshake, with the same compiled routes.
func TestTransportRotation(t *testing.T) {
	app, ctx := proxyContext(t)
	var (
		serverCA1, serverCA2 = newTestCA(t, "server CA 1"), newTestCA(t, "server CA 2")
		clientCA1, clientCA2 = newTestCA(t, "client CA 1"), newTestCA(t, "client CA 2")
		cfg1                 = &tls.Config{
			Certificates: []tls.Certificate{*serverCA1.issue(t, "backend", x509.ExtKeyUsageServerAuth, "svc.ns.svc")},
			ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: clientCA1.pool, NextProtos: []string{"http/1.1"},
		}
		cfg2 = &tls.Config{
			Certificates: []tls.Certificate{*serverCA2.issue(t, "backend", x509.ExtKeyUsageServerAuth, "svc.ns.svc")},
			ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: clientCA2.pool, NextProtos: []string{"http/1.1"},
		}
		secret1 = &ingress.BackendSecret{Secret: "ns/backend-ca", CAs: serverCA1.pool, ClientCert: clientCA1.issue(t, "client-1", x509.ExtKeyUsageClientAuth)}
		secret2 = &ingress.BackendSecret{Secret: "ns/backend-ca", CAs: serverCA2.pool, ClientCert: clientCA2.issue(t, "client-2", x509.ExtKeyUsageClientAuth)}
	)
	// The backend rotates its own certificate and client CA too.
	var current atomic.Pointer[tls.Config]
	current.Store(cfg1)
	backend := startBackend(t, &tls.Config{
		Certificates:       cfg1.Certificates,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return current.Load(), nil },
	}, false)
	h := compileProxy(t, ctx, backend.Listener.Addr().String(),
		`{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca","verify":true,"server_name":"svc.ns.svc"}`)

	steps := []struct {
		name    string
		server  *tls.Config
		secret  *ingress.BackendSecret
		status  int
		client  string
		errText string
	}{
		{name: "first", server: cfg1, secret: secret1, status: 200, client: "client-1"},
		{name: "backend rotated", server: cfg2, secret: secret1, status: 502, errText: "(Ingress ns/my-ingress) not trusted: x509: certificate signed by unknown authority"},
		{name: "secret rotated", server: cfg2, secret: secret2, status: 200, client: "client-2"},
		{name: "secret gone", server: cfg2, secret: nil, status: 502, errText: "(Ingress ns/my-ingress): secret ns/backend-ca not found"},
	}
	for _, s := range steps {
		current.Store(s.server)
		setBackendSecret(app, s.secret)
		status, header, err := proxy(h)
		if status != s.status {
			t.Fatalf("%s: got status %d (error %v), want %d", s.name, status, err, s.status)
		}
		if s.errText != "" && (err == nil || !strings.Contains(err.Error(), s.errText)) {
			t.Errorf("%s: got error %v, want one containing %q", s.name, err, s.errText)
		}
		if s.client != "" {
			if got := header.Get("Seen-Client"); got != s.client {
				t.Errorf("%s: got client certificate %q, want %q", s.name, got, s.client)
			}
		}
	}
}

func TestTransportProvision(t *testing.T) {
	_, ctx := proxyContext(t)
	tests := []struct {
		name    string
		config  string
		wantErr string
	}{
		{name: "defaults", config: `{}`},
		{name: "TLS defaults", config: `{"tls":true}`},
		{name: "h2c", config: `{"versions":["h2c","2"]}`},
		{name: "h2c with TLS", config: `{"tls":true,"versions":["h2c","2"]}`, wantErr: `versions: unsupported HTTP version "h2c", want 1.1 or 2 with tls`},
		{name: "HTTP/3", config: `{"versions":["3"]}`, wantErr: `versions: unsupported HTTP version "3"`},
		{name: "verify without server name", config: `{"tls":true,"verify":true}`, wantErr: "verify requires server_name"},
		{name: "secret without TLS", config: `{"secret":"ns/backend-ca"}`, wantErr: "secret, verify, server_name, send_sni, verify_depth, protocol_min, protocol_max and cipher_suites require tls"},
		{name: "protocols without TLS", config: `{"protocol_min":"tls1.3"}`, wantErr: "require tls"},
		{name: "TLS settings", config: `{"tls":true,"verify":true,"server_name":"x","verify_depth":0,"protocol_min":"tls1.3","cipher_suites":["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}`},
		{name: "verify depth without verify", config: `{"tls":true,"verify_depth":1}`, wantErr: "verify_depth requires verify"},
		{name: "negative verify depth", config: `{"tls":true,"verify":true,"server_name":"x","verify_depth":-1}`, wantErr: "verify_depth: negative depth -1"},
		{name: "TLS 1.1", config: `{"tls":true,"protocol_min":"tls1.1"}`, wantErr: `protocol_min: unsupported TLS version "tls1.1", want tls1.2 or tls1.3`},
		{name: "min above max", config: `{"tls":true,"protocol_min":"tls1.3","protocol_max":"tls1.2"}`, wantErr: "protocol_min tls1.3 is above protocol_max tls1.2"},
		{name: "insecure cipher suite", config: `{"tls":true,"cipher_suites":["TLS_RSA_WITH_AES_128_GCM_SHA256"]}`, wantErr: `cipher_suites: "TLS_RSA_WITH_AES_128_GCM_SHA256" is not a cipher suite that Go counts secure`},
		{name: "TLS 1.3 cipher suite", config: `{"tls":true,"cipher_suites":["TLS_AES_128_GCM_SHA256"]}`, wantErr: "TLS 1.3 suite"},
		{name: "negative timeout", config: `{"dial_timeout":-1}`, wantErr: "dial_timeout: negative duration"},
		{name: "connection close", config: `{"connection":"close"}`},
		{name: "connection upgrade", config: `{"connection":"upgrade"}`, wantErr: `connection: unknown value "upgrade", want close or keep-alive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Transport
			if err := json.Unmarshal([]byte(tt.config), &tr); err != nil {
				t.Fatal(err)
			}
			err := tr.Provision(ctx)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if got := tr.Versions; len(got) != 2 {
					t.Errorf("got versions %v, want 2 of them", got)
				}
				_ = tr.Cleanup()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// cleartextBackend starts a backend that speaks HTTP/1.1 and HTTP/2 with
// prior knowledge (h2c) over cleartext, closed when the test ends.
func cleartextBackend(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	backend := httptest.NewUnstartedServer(h)
	backend.Config.Protocols = new(http.Protocols)
	backend.Config.Protocols.SetHTTP1(true)
	backend.Config.Protocols.SetUnencryptedHTTP2(true)
	backend.Start()
	t.Cleanup(backend.Close)
	return backend
}

// TestH2C checks the transport JSON that the translator emits for
// backend-protocol GRPC and H2C: HTTP/2 with prior knowledge over
// cleartext; and for HTTP: HTTP/1.1.
func TestH2C(t *testing.T) {
	backend := cleartextBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-Proto", r.Proto)
		w.Header().Set("Seen-Tls", fmt.Sprint(r.TLS != nil))
	})
	_, ctx := proxyContext(t)

	tests := []struct {
		name      string
		transport string
		proto     string
	}{
		{name: "h2c", transport: `{"protocol":"ingress","versions":["h2c","2"]}`, proto: "HTTP/2.0"},
		{name: "h2c alone", transport: `{"protocol":"ingress","versions":["h2c"]}`, proto: "HTTP/2.0"},
		{name: "default", transport: `{"protocol":"ingress"}`, proto: "HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, err := proxy(compileProxy(t, ctx, backend.Listener.Addr().String(), tt.transport))
			if err != nil || status != http.StatusOK {
				t.Fatalf("got status %d, error %v, want 200", status, err)
			}
			if got := header.Get("Seen-Proto"); got != tt.proto {
				t.Errorf("got protocol %q, want %q", got, tt.proto)
			}
			if got := header.Get("Seen-Tls"); got != "false" {
				t.Errorf("got TLS %s, want false", got)
			}
		})
	}
}

// TestTransportConnection checks connection-proxy-header: the backend
// sees the Connection header, and close opens a connection per request,
// also over HTTP/2 (which sends no Connection header).
func TestTransportConnection(t *testing.T) {
	backend := cleartextBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-Connection", strings.Join(r.Header.Values("Connection"), ", "))
		w.Header().Set("Seen-Peer", r.RemoteAddr)
	})
	_, ctx := proxyContext(t)

	tests := []struct {
		name       string
		transport  string
		connection string
		// peers is how many connections three requests use.
		peers int
	}{
		{name: "default", transport: `{"protocol":"ingress"}`, peers: 1},
		{name: "keep-alive", transport: `{"protocol":"ingress","connection":"keep-alive"}`, connection: "keep-alive", peers: 1},
		{name: "close", transport: `{"protocol":"ingress","connection":"close"}`, connection: "close", peers: 3},
		{name: "close over h2c", transport: `{"protocol":"ingress","versions":["h2c"],"connection":"close"}`, peers: 3},
		{name: "keep-alive over h2c", transport: `{"protocol":"ingress","versions":["h2c"],"connection":"keep-alive"}`, peers: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := compileProxy(t, ctx, backend.Listener.Addr().String(), tt.transport)
			peers := make(map[string]bool)
			for range 3 {
				status, header, err := proxy(h)
				if err != nil || status != http.StatusOK {
					t.Fatalf("got status %d, error %v, want 200", status, err)
				}
				if got := header.Get("Seen-Connection"); got != tt.connection {
					t.Errorf("backend got Connection %q, want %q", got, tt.connection)
				}
				peers[header.Get("Seen-Peer")] = true
			}
			if len(peers) != tt.peers {
				t.Errorf("3 requests came over %d connections, want %d", len(peers), tt.peers)
			}
		})
	}
}

func TestSetConnectionKeepsUpgrade(t *testing.T) {
	for _, c := range []string{"close", "keep-alive"} {
		req := httptest.NewRequest(http.MethodGet, "http://app.example.com/ws", nil)
		req.Header.Set("Connection", "keep-alive, Upgrade")
		req.Header.Set("Upgrade", "websocket")
		setConnection(req, c)
		if got := req.Header.Get("Connection"); got != "keep-alive, Upgrade" || req.Close {
			t.Errorf("%s: got Connection %q and close %v, want the upgrade's, not closed", c, got, req.Close)
		}
	}
}

// TestBackendErrorKeepsKind checks that wrapped round-trip errors still
// tell reverse_proxy what they are: a timeout (504) and a dial error
// (retried).
func TestBackendErrorKeepsKind(t *testing.T) {
	timeout := &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
	var err error = &backendError{msg: "x", err: timeout}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("timeout: net.Error %v, Timeout %v", ok, ok && ne.Timeout())
	}
	err = &backendError{msg: "x", err: reverseproxy.NewDialError(errors.New("refused"))}
	var de reverseproxy.DialError
	if !errors.As(err, &de) {
		t.Error("dial error not found by errors.As")
	}
	if ne, ok := err.(net.Error); !ok || ne.Timeout() {
		t.Error("a dial error is not a timeout")
	}
}

// TestTransportClosesStaleConnections checks that a changed Secret applies
// to the next request even when an idle connection to the backend, made
// with the old CAs, could be reused.
func TestTransportClosesStaleConnections(t *testing.T) {
	app, ctx := proxyContext(t)
	serverCA, otherCA := newTestCA(t, "server CA"), newTestCA(t, "other CA")
	var handshakes atomic.Int32
	backend := startBackend(t, &tls.Config{
		Certificates: []tls.Certificate{*serverCA.issue(t, "backend", x509.ExtKeyUsageServerAuth, "svc.ns.svc")},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			handshakes.Add(1)
			return nil, nil
		},
	}, false)
	backend.Config.SetKeepAlivesEnabled(true)
	h := compileProxy(t, ctx, backend.Listener.Addr().String(),
		`{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca","verify":true,"server_name":"svc.ns.svc"}`)

	setBackendSecret(app, &ingress.BackendSecret{Secret: "ns/backend-ca", SHA256: "1", CAs: serverCA.pool})
	for range 3 {
		if status, _, err := proxy(h); status != 200 {
			t.Fatalf("trusted: got %d (%v)", status, err)
		}
	}
	if n := handshakes.Load(); n != 1 {
		t.Fatalf("%d handshakes for 3 requests, want 1 (a kept-alive connection)", n)
	}
	// The same contents in a new translation keep the connection.
	setBackendSecret(app, &ingress.BackendSecret{Secret: "ns/backend-ca", SHA256: "1", CAs: serverCA.pool})
	if status, _, err := proxy(h); status != 200 || handshakes.Load() != 1 {
		t.Fatalf("unchanged secret: got %d (%v) after %d handshakes, want 200 on the kept connection", status, err, handshakes.Load())
	}
	// The CA is replaced: the kept connection must not be used any more.
	setBackendSecret(app, &ingress.BackendSecret{Secret: "ns/backend-ca", SHA256: "2", CAs: otherCA.pool})
	if status, _, err := proxy(h); status != 502 {
		t.Fatalf("replaced CA: got %d (%v), want 502", status, err)
	}
}

// TestTransportRevoked checks that a backend certificate revoked by the
// ca.crl of the Secret is not trusted.
func TestTransportRevoked(t *testing.T) {
	app, ctx := proxyContext(t)
	ca := newTestCA(t, "server CA")
	revoked := ca.issue(t, "revoked", x509.ExtKeyUsageServerAuth, "svc.ns.svc")
	good := ca.issue(t, "good", x509.ExtKeyUsageServerAuth, "svc.ns.svc")
	leaf, err := x509.ParseCertificate(revoked.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: leaf.SerialNumber, RevocationTime: time.Now()}},
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := secrets.ParseBackendTLS(&corev1.Secret{Data: map[string][]byte{
		"ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}),
		"ca.crl": pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}),
	}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	setBackendSecret(app, &ingress.BackendSecret{Secret: "ns/backend-ca", SHA256: bt.SHA256, CAs: bt.CA.Pool, Revoked: bt.CA.Revoked})
	for cert, want := range map[*tls.Certificate]int{revoked: 502, good: 200} {
		backend := startBackend(t, &tls.Config{Certificates: []tls.Certificate{*cert}}, false)
		h := compileProxy(t, ctx, backend.Listener.Addr().String(),
			`{"protocol":"ingress","tls":true,"ingress":"ns/my-ingress","secret":"ns/backend-ca","verify":true,"server_name":"svc.ns.svc"}`)
		status, _, err := proxy(h)
		if status != want {
			t.Errorf("got %d (%v), want %d", status, err, want)
		}
		if want == 502 && (err == nil || !strings.Contains(err.Error(), "is revoked by the secret's ca.crl")) {
			t.Errorf("error %v does not say the certificate is revoked", err)
		}
	}
}
