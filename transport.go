package caddyingress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Transport{})
}

// Transport is a reverse_proxy transport that speaks HTTPS to backends
// (ingress-nginx's backend-protocol HTTPS and GRPCS), trusting and
// presenting what a Secret holds (proxy-ssl-secret). It is Caddy's own
// http transport underneath, so dial and keep-alive settings, connection
// pooling and HTTP/2 are Caddy's defaults; only certificate verification,
// the client certificate and SNI are done here.
//
// The Secret is looked up in the ingress app at every TLS handshake, not
// when the route is built: a rotated Secret applies to the next new
// connection without new routes. Connections already open keep the
// certificates they were made with.
//
// The Host header sent to the backend is the client's, as ingress-nginx
// sends it (Caddy's http transport would send the backend's address
// instead when TLS is on).
type Transport struct {
	// Ingress is the namespace/name of the Ingress the route comes from.
	// It is only used to name the Ingress in error messages, which
	// reverse_proxy logs.
	Ingress string `json:"ingress,omitempty"`

	// Versions are the HTTP versions to offer the backend in TLS (ALPN),
	// as Caddy's http transport takes them: "1.1" and "2". "2" alone (for
	// gRPC) offers HTTP/1.1 as well, as Caddy's http transport does; a
	// backend that speaks HTTP/2 gets HTTP/2. Cleartext HTTP/2 ("h2c") is
	// Caddy's http transport's job, and HTTP/3 is not supported.
	// Default: ["1.1", "2"].
	Versions []string `json:"versions,omitempty"`

	// Secret is the namespace/name of the Secret (proxy-ssl-secret) whose
	// ca.crt holds the CAs that backend certificates are verified
	// against, and whose tls.crt and tls.key are the client certificate
	// presented to backends that ask for one. Either may be missing. When
	// a Secret is named but the ingress app does not hold it (any more),
	// every handshake fails. Default: none; no client certificate.
	Secret string `json:"secret,omitempty"`

	// Verify makes the backend certificate be verified against the CAs in
	// the Secret's ca.crt, and only those: the system's trusted CAs never
	// apply, since backends inside a cluster are not vouched for by public
	// CAs. Without a Secret, or with a Secret without ca.crt, every
	// handshake fails. Requires server_name. Default: false, the backend
	// certificate is not verified at all (as ingress-nginx's
	// proxy-ssl-verify "off").
	Verify bool `json:"verify,omitempty"`

	// ServerName is the name the backend certificate must be valid for
	// when verify is on, and the server name sent in TLS (SNI) when
	// send_sni is on. It is used as is: placeholders are not expanded.
	ServerName string `json:"server_name,omitempty"`

	// SendSNI sends server_name as the TLS server name (SNI) to the
	// backend. When off, or when there is no server_name, no server name
	// is sent: the ingress upstream source dials IP addresses, which TLS
	// never sends as a server name (an upstream given by host name would
	// be sent as one). Default: false.
	SendSNI bool `json:"send_sni,omitempty"`

	app *App
	// DialTimeout, ReadTimeout and WriteTimeout are as Caddy's http
	// transport has them: how long connecting to the backend, and each
	// read from and write to it, may take. Zero: Caddy's defaults.
	DialTimeout  caddy.Duration `json:"dial_timeout,omitempty"`
	ReadTimeout  caddy.Duration `json:"read_timeout,omitempty"`
	WriteTimeout caddy.Duration `json:"write_timeout,omitempty"`

	http *reverseproxy.HTTPTransport
	// seen is the SHA-256 of the Secret's contents at the last round
	// trip: when it changes, idle connections, made with the old CAs or
	// client certificate, are closed.
	seen *atomic.Pointer[string]
}

// CaddyModule returns the Caddy module information.
func (Transport) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.transport.ingress",
		New: func() caddy.Module { return new(Transport) },
	}
}

// Provision checks the settings, finds the ingress app when a Secret is
// named and builds the underlying http transport.
func (t *Transport) Provision(ctx caddy.Context) error {
	if len(t.Versions) == 0 {
		t.Versions = []string{"1.1", "2"}
	}
	for _, v := range t.Versions {
		if v != "1.1" && v != "2" {
			return fmt.Errorf("versions: unsupported HTTP version %q, want 1.1 or 2", v)
		}
	}
	if t.Verify && t.ServerName == "" {
		// x509 verification with an empty name skips the name check:
		// any certificate from the CAs would do.
		return fmt.Errorf("verify requires server_name")
	}
	if t.Secret != "" {
		app, err := ctx.App("ingress")
		if err != nil {
			return fmt.Errorf("getting ingress app: %v", err)
		}
		t.app = app.(*App)
	}

	t.seen = new(atomic.Pointer[string])
	t.http = &reverseproxy.HTTPTransport{
		TLS: new(reverseproxy.TLSConfig), Versions: slices.Clone(t.Versions),
		DialTimeout: t.DialTimeout, ReadTimeout: t.ReadTimeout, WriteTimeout: t.WriteTimeout,
	}
	if err := t.http.Provision(ctx); err != nil {
		return fmt.Errorf("provisioning http transport: %v", err)
	}
	rt := t.http.Transport
	if rt.TLSClientConfig == nil {
		// Caddy leaves it nil when only HTTP/1.1 is enabled.
		rt.TLSClientConfig = new(tls.Config)
	}
	cfg := rt.TLSClientConfig
	// net/http sets an empty ServerName to the host dialed (an IP
	// address, which crypto/tls does not send as SNI) and crypto/tls
	// would verify the certificate for it; verification is done in
	// verifyConnection instead, for server_name.
	cfg.InsecureSkipVerify = true
	if t.SendSNI {
		cfg.ServerName = t.ServerName
	}
	if t.Verify || t.Secret != "" {
		cfg.VerifyConnection = t.verifyConnection
	}
	// Also without a Secret, to notice a backend that asks for a client
	// certificate in vain.
	cfg.GetClientCertificate = t.clientCertificate
	return nil
}

// verifyConnection runs after every handshake: it checks that the Secret
// is still there and, with verify on, verifies the backend certificate
// against the Secret's current CAs.
func (t *Transport) verifyConnection(cs tls.ConnectionState) error {
	var sec *ingress.BackendSecret
	if t.Secret != "" {
		// The handshake has no request at hand: the current Secret.
		if sec = t.app.current().backendSecret(t.Secret); sec == nil {
			return &handshakeError{err: fmt.Errorf("secret %s not found", t.Secret)}
		}
	}
	if !t.Verify {
		return nil
	}
	switch {
	case sec == nil:
		return &handshakeError{untrusted: true, err: errors.New("verify is on but no secret holds the trusted CAs")}
	case sec.CAs == nil:
		return &handshakeError{untrusted: true, err: fmt.Errorf("secret %s has no ca.crt", t.Secret)}
	case len(cs.PeerCertificates) == 0:
		return &handshakeError{untrusted: true, err: errors.New("no certificate")}
	}
	opts := x509.VerifyOptions{
		Roots:         sec.CAs,
		Intermediates: x509.NewCertPool(),
		DNSName:       t.ServerName,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := cs.PeerCertificates[0].Verify(opts)
	if err != nil {
		return &handshakeError{untrusted: true, err: err}
	}
	var revoked *x509.Certificate
chains:
	for _, chain := range chains {
		for _, c := range chain[:len(chain)-1] {
			if sec.Revoked.Revoked(c) {
				revoked = c
				continue chains
			}
		}
		return nil
	}
	return &handshakeError{untrusted: true, err: fmt.Errorf("certificate %q (serial %s) is revoked by the secret's ca.crl", revoked.Subject.String(), revoked.SerialNumber)}
}

// clientCertificate returns the client certificate of the Secret as the
// request being dialed for saw it, or none when there is no Secret or it
// has no tls.crt. Sending none, it notes in the request's context that
// the backend asked for one (see RoundTrip).
func (t *Transport) clientCertificate(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	var cert *tls.Certificate
	if t.Secret != "" {
		sec := t.app.servedFor(cri.Context()).backendSecret(t.Secret)
		if sec == nil {
			return nil, &handshakeError{err: fmt.Errorf("secret %s not found", t.Secret)}
		}
		cert = sec.ClientCert
	}
	if cert == nil {
		if asked, ok := cri.Context().Value(askedForCertKey{}).(*atomic.Bool); ok {
			asked.Store(true)
		}
		return new(tls.Certificate), nil
	}
	return cert, nil
}

// askedForCertKey is the context key of the *atomic.Bool that
// clientCertificate sets when a backend asked for a client certificate
// and got none. net/http dials with the values of the request's context.
type askedForCertKey struct{}

// handshakeError is an error of this transport's own in a TLS handshake.
// RoundTrip adds the backend's address and the Ingress to it.
type handshakeError struct {
	untrusted bool // the backend certificate is not trusted
	err       error
}

func (e *handshakeError) Error() string { return e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// RoundTrip implements http.RoundTripper. Errors name the backend's
// address and the Ingress, since reverse_proxy logs them; they wrap the
// original error and answer Timeout as it does, so reverse_proxy still
// tells dial errors (retries) and timeouts (504) apart.
//
// A backend that requires a client certificate we do not have refuses the
// connection: in TLS 1.2 during the handshake, in TLS 1.3 after it, with
// a "certificate required" alert that races with writing the request, so
// that the error seen may be that alert, a reset or a broken pipe. When
// the handshake of the connection made for this request asked for a
// certificate and none was sent, the error says so, whatever its form.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.closeStaleConnections(req)
	asked := new(atomic.Bool)
	req = req.WithContext(context.WithValue(req.Context(), askedForCertKey{}, asked))
	resp, err := t.http.RoundTrip(req)
	if err == nil {
		return resp, nil
	}
	from := ""
	if t.Ingress != "" {
		from = " (Ingress " + t.Ingress + ")"
	}
	var he *handshakeError
	var msg string
	switch {
	case errors.As(err, &he) && he.untrusted:
		msg = fmt.Sprintf("backend certificate of %s%s not trusted: %v", req.URL.Host, from, he)
	case asked.Load():
		msg = fmt.Sprintf("backend %s%s refused the connection for lack of a client certificate: it asked for one and %s: %v",
			req.URL.Host, from, t.noCertReason(req), err)
	default:
		msg = fmt.Sprintf("TLS to backend %s%s: %v", req.URL.Host, from, err)
	}
	return nil, &backendError{msg: msg, err: err}
}

// noCertReason says why no client certificate was sent.
func (t *Transport) noCertReason(req *http.Request) string {
	if t.Secret == "" {
		return "no proxy-ssl-secret is set"
	}
	if t.app.servedFor(req.Context()).backendSecret(t.Secret) == nil {
		return "secret " + t.Secret + " is not found"
	}
	return "secret " + t.Secret + " has no tls.crt"
}

// closeStaleConnections closes the idle connections to backends when the
// Secret's contents changed since the last round trip, so that a replaced
// CA or client certificate applies to the next request, not only to new
// connections. Connections busy at that moment finish their requests.
func (t *Transport) closeStaleConnections(req *http.Request) {
	if t.Secret == "" {
		return
	}
	sum := ""
	if sec := t.app.servedFor(req.Context()).backendSecret(t.Secret); sec != nil {
		sum = sec.SHA256
	}
	if old := t.seen.Load(); old == nil || *old != sum {
		if prev := t.seen.Swap(&sum); prev != nil && *prev != sum {
			t.http.Transport.CloseIdleConnections()
		}
	}
}

// backendError is an error of a round trip to a backend, with a message
// that names the backend and the Ingress.
type backendError struct {
	msg string
	err error
}

func (e *backendError) Error() string { return e.msg }
func (e *backendError) Unwrap() error { return e.err }

// Timeout reports whether the wrapped error is a timeout.
func (e *backendError) Timeout() bool {
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}

// Temporary is deprecated in net.Error; always false.
func (e *backendError) Temporary() bool { return false }

// OverrideHealthCheckScheme makes active health checks use HTTPS.
func (t *Transport) OverrideHealthCheckScheme(base *url.URL, _ string) {
	base.Scheme = "https"
}

// Cleanup closes idle connections.
func (t *Transport) Cleanup() error {
	if t.http == nil {
		return nil
	}
	return t.http.Cleanup()
}

// Interface guards
var (
	_ caddy.Provisioner                                = (*Transport)(nil)
	_ caddy.CleanerUpper                               = (*Transport)(nil)
	_ http.RoundTripper                                = (*Transport)(nil)
	_ reverseproxy.HealthCheckSchemeOverriderTransport = (*Transport)(nil)
	_ net.Error                                        = (*backendError)(nil)
)
