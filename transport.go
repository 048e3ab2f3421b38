package caddyingress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(new(Transport))
}

// Transport is the reverse_proxy transport of the routes the translator
// renders: a handle on a connection pool to backends shared by every
// transport of the app with the same settings (see poolSettings), so that
// paths that differ in anything but how they connect (headers, auth,
// rewrites...) reuse one pool of keep-alive connections to their Service.
// Underneath is Caddy's own http transport, so dial and keep-alive
// settings, connection pooling and HTTP/2 are Caddy's defaults. The pool
// is released when the transport is cleaned up with its routes, and its
// idle connections are closed once no transport uses it.
//
// With tls on it speaks HTTPS to backends (ingress-nginx's
// backend-protocol HTTPS and GRPCS), trusting and presenting what a
// Secret holds (proxy-ssl-secret); only certificate verification, the
// client certificate and SNI are done here. The Secret is looked up in
// the ingress app at every TLS handshake, not when the route is built: a
// rotated Secret applies to the next new connection without new routes,
// and idle connections made with its old contents are closed.
// Connections already busy keep the certificates they were made with.
//
// The Host header sent to the backend is the client's, as ingress-nginx
// sends it (Caddy's http transport would send the backend's address
// instead when TLS is on).
type Transport struct {
	// Ingress is the namespace/name of the Ingress the route comes from.
	// It is only used to name the Ingress in the errors of TLS, which
	// reverse_proxy logs; it is not a setting of the pool.
	Ingress string `json:"ingress,omitempty"`

	// Versions are the HTTP versions to offer the backend, as Caddy's
	// http transport takes them: "1.1", "2" and, without tls, "h2c"
	// (cleartext HTTP/2 with prior knowledge, for backend-protocol GRPC
	// and H2C). With tls, "2" alone (for gRPC) offers HTTP/1.1 as well,
	// as Caddy's http transport does; a backend that speaks HTTP/2 gets
	// HTTP/2 (ALPN). HTTP/3 is not supported. Default: ["1.1", "2"].
	Versions []string `json:"versions,omitempty"`

	// DialTimeout, ReadTimeout and WriteTimeout are as Caddy's http
	// transport has them: how long connecting to the backend, and each
	// read from and write to it, may take. Zero: Caddy's defaults (3s
	// to connect, no limit to read or write).
	DialTimeout  caddy.Duration `json:"dial_timeout,omitempty"`
	ReadTimeout  caddy.Duration `json:"read_timeout,omitempty"`
	WriteTimeout caddy.Duration `json:"write_timeout,omitempty"`

	// TLS speaks TLS to the backend. The settings below apply only with
	// it. Default: false, cleartext.
	TLS bool `json:"tls,omitempty"`

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

	// VerifyDepth, with verify, is the greatest number of intermediate CA
	// certificates allowed between the backend's certificate and the CA
	// of the Secret's ca.crt that it chains to, as OpenSSL's verify depth
	// counts them (proxy-ssl-verify-depth): 0 wants the backend's
	// certificate issued by a CA of ca.crt, 1 allows one intermediate.
	// Chains are counted up to the first certificate of ca.crt, which is
	// trusted whether or not it is a root. Default: no limit.
	VerifyDepth *int `json:"verify_depth,omitempty"`

	// ProtocolMin and ProtocolMax are the least and greatest TLS version
	// offered to the backend, "tls1.2" or "tls1.3", as Caddy's TLS
	// connection policies name them (proxy-ssl-protocols). TLS 1.0 and
	// 1.1 are not supported: they are deprecated (RFC 8996). Default:
	// tls1.2 to tls1.3, Go's defaults.
	ProtocolMin string `json:"protocol_min,omitempty"`
	ProtocolMax string `json:"protocol_max,omitempty"`

	// CipherSuites are the TLS 1.2 cipher suites offered to the backend,
	// by Go's names, as Caddy's TLS connection policies take them
	// (proxy-ssl-ciphers); only suites that Go counts secure. Go orders
	// them itself, and TLS 1.3 suites are not configurable. Default: Go's
	// secure suites.
	CipherSuites []string `json:"cipher_suites,omitempty"`

	// Forwarding sets the request headers that ingress-nginx sends to
	// backends and Caddy's reverse_proxy does not, on each request sent:
	// X-Real-IP (the client's address, as Caddy's client_ip variable has
	// it after trusted_proxies), X-Scheme and X-Forwarded-Scheme (the
	// scheme the request came in on), one X-Request-ID (the values the
	// request has, joined), and no Proxy header (httpoxy). With "client",
	// X-Forwarded-For is the client's address alone, as ingress-nginx
	// sends it by default; with "full" it is left to reverse_proxy, which
	// appends the peer to the list a trusted proxy sent
	// (compute-full-forwarded-for). The Via that reverse_proxy adds is
	// taken out again, as nginx sends none. They are set after
	// reverse_proxy's header operations, from the request itself,
	// without placeholders. It is not a setting of the connection pool.
	// Default: "", none of them is set.
	Forwarding string `json:"forwarding,omitempty"`

	// Connection is the Connection header sent to the backend
	// (connection-proxy-header): "keep-alive", which is what the pool does
	// anyway, or "close", which also closes the connection after the
	// response instead of keeping it for the next request. Upgrade
	// requests keep their Connection: Upgrade. Over HTTP/2 no Connection
	// header is sent, and "close" gives the request a connection of its
	// own. It is not a setting of the connection pool. Default: "", the
	// connection is kept alive and no Connection header is sent.
	Connection string `json:"connection,omitempty"`

	// UpstreamHost sends as the Host header the host that an
	// ingress_upstream_host handler named for the request
	// (upstream-vhost), when one did, instead of the client's. It is not
	// a setting of the connection pool. Default: false.
	UpstreamHost bool `json:"upstream_host,omitempty"`

	app  *App
	pool *backendPool
	// cleaned is set by the first Cleanup, which releases the pool.
	cleaned atomic.Bool
}

// CaddyModule returns the Caddy module information.
func (*Transport) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.transport." + ingress.TransportModule,
		New: func() caddy.Module { return new(Transport) },
	}
}

// Provision checks the settings and takes the ingress app's pool for
// them, making it if no other transport uses one.
func (t *Transport) Provision(ctx caddy.Context) error {
	s, err := t.settings()
	if err != nil {
		return err
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	t.app = app.(*App)
	t.pool, err = t.app.pools.acquire(t.app, s)
	return err
}

// settings checks the transport's settings and returns them in canonical
// form; it sets the default versions.
func (t *Transport) settings() (poolSettings, error) {
	if len(t.Versions) == 0 {
		t.Versions = []string{"1.1", "2"}
	}
	for _, v := range t.Versions {
		if v != "1.1" && v != "2" && (t.TLS || v != "h2c") {
			want := "1.1, 2 or h2c"
			if t.TLS {
				want = "1.1 or 2 with tls"
			}
			return poolSettings{}, fmt.Errorf("versions: unsupported HTTP version %q, want %s", v, want)
		}
	}
	for _, d := range []struct {
		name  string
		value caddy.Duration
	}{{"dial_timeout", t.DialTimeout}, {"read_timeout", t.ReadTimeout}, {"write_timeout", t.WriteTimeout}} {
		if d.value < 0 {
			return poolSettings{}, fmt.Errorf("%s: negative duration %v", d.name, d.value)
		}
	}
	if t.Connection != "" && t.Connection != "close" && t.Connection != "keep-alive" {
		return poolSettings{}, fmt.Errorf("connection: unknown value %q, want close or keep-alive", t.Connection)
	}
	if t.Forwarding != "" && t.Forwarding != "client" && t.Forwarding != "full" {
		return poolSettings{}, fmt.Errorf("forwarding: unknown value %q, want client or full", t.Forwarding)
	}
	if !t.TLS && (t.Secret != "" || t.Verify || t.ServerName != "" || t.SendSNI || t.VerifyDepth != nil ||
		t.ProtocolMin != "" || t.ProtocolMax != "" || len(t.CipherSuites) > 0) {
		return poolSettings{}, fmt.Errorf("secret, verify, server_name, send_sni, verify_depth, protocol_min, protocol_max and cipher_suites require tls")
	}
	if t.Verify && t.ServerName == "" {
		// x509 verification with an empty name skips the name check:
		// any certificate from the CAs would do.
		return poolSettings{}, fmt.Errorf("verify requires server_name")
	}
	s := poolSettings{
		versions:    canonicalVersions(t.Versions),
		dialTimeout: t.DialTimeout, readTimeout: t.ReadTimeout, writeTimeout: t.WriteTimeout,
		tls: t.TLS, secret: t.Secret, verify: t.Verify, serverName: t.ServerName,
		verifyDepth: -1,
	}
	if t.VerifyDepth != nil {
		if !t.Verify {
			return poolSettings{}, fmt.Errorf("verify_depth requires verify")
		}
		if *t.VerifyDepth < 0 {
			return poolSettings{}, fmt.Errorf("verify_depth: negative depth %d", *t.VerifyDepth)
		}
		s.verifyDepth = *t.VerifyDepth
	}
	var err error
	if s.minVersion, err = tlsVersion("protocol_min", t.ProtocolMin, tls.VersionTLS12); err != nil {
		return poolSettings{}, err
	}
	if s.maxVersion, err = tlsVersion("protocol_max", t.ProtocolMax, tls.VersionTLS13); err != nil {
		return poolSettings{}, err
	}
	if s.minVersion > s.maxVersion {
		return poolSettings{}, fmt.Errorf("protocol_min %s is above protocol_max %s", t.ProtocolMin, t.ProtocolMax)
	}
	if s.cipherSuites, err = cipherSuites(t.CipherSuites); err != nil {
		return poolSettings{}, err
	}
	// Without a server name, send_sni sends none.
	s.sendSNI = t.SendSNI && t.ServerName != ""
	return s, nil
}

// tlsVersion returns the TLS version named as Caddy's connection policies
// name them, or def when name is "".
func tlsVersion(field, name string, def uint16) (uint16, error) {
	switch name {
	case "":
		return def, nil
	case "tls1.2":
		return tls.VersionTLS12, nil
	case "tls1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("%s: unsupported TLS version %q, want tls1.2 or tls1.3", field, name)
}

// cipherSuites returns the IDs of the TLS 1.2 suites Go names names,
// sorted and comma-separated; "" for none. Only suites Go counts secure
// are taken.
func cipherSuites(names []string) (string, error) {
	ids := make([]uint16, 0, len(names))
	for _, name := range names {
		i := slices.IndexFunc(tls.CipherSuites(), func(s *tls.CipherSuite) bool { return s.Name == name })
		if i < 0 {
			return "", fmt.Errorf("cipher_suites: %q is not a cipher suite that Go counts secure", name)
		}
		s := tls.CipherSuites()[i]
		if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			return "", fmt.Errorf("cipher_suites: %q is a TLS 1.3 suite, which is not configurable", name)
		}
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ","), nil
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

// RoundTrip implements http.RoundTripper with the shared pool. In
// cleartext its errors are those of Caddy's http transport. With tls,
// errors name the backend's address and the Ingress, since reverse_proxy
// logs them; they wrap the original error and answer Timeout as it does,
// so reverse_proxy still tells dial errors (retries) and timeouts (504)
// apart.
//
// A backend that requires a client certificate we do not have refuses the
// connection: in TLS 1.2 during the handshake, in TLS 1.3 after it, with
// a "certificate required" alert that races with writing the request, so
// that the error seen may be that alert, a reset or a broken pipe. When
// the handshake of the connection made for this request asked for a
// certificate and none was sent, the error says so, whatever its form.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Forwarding != "" {
		setUpstreamHeaders(req, t.Forwarding == "full")
	}
	if t.Connection != "" {
		setConnection(req, t.Connection)
	}
	if t.UpstreamHost {
		if host, _ := caddyhttp.GetVar(req.Context(), upstreamHostVar).(string); host != "" {
			req.Host = host
		}
	}
	if !t.TLS {
		return t.pool.http.RoundTrip(req)
	}
	t.pool.closeStaleConnections(t.app.servedFor(req.Context()))
	asked := new(atomic.Bool)
	req = req.WithContext(context.WithValue(req.Context(), askedForCertKey{}, asked))
	resp, err := t.pool.http.RoundTrip(req)
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

// setConnection sends the Connection header c ("close" or "keep-alive")
// with req, unless it is an upgrade, whose Connection: Upgrade stays;
// with "close" net/http closes the connection after the response.
func setConnection(req *http.Request, c string) {
	for _, v := range req.Header["Connection"] {
		for token := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(token), "upgrade") {
				return
			}
		}
	}
	req.Header["Connection"] = []string{c}
	req.Close = c == "close"
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

// OverrideHealthCheckScheme makes active health checks use HTTPS with
// tls.
func (t *Transport) OverrideHealthCheckScheme(base *url.URL, _ string) {
	if t.TLS {
		base.Scheme = "https"
	}
}

// Cleanup releases the pool; it closes the pool's idle connections when
// no other transport uses it.
func (t *Transport) Cleanup() error {
	if t.pool != nil && !t.cleaned.Swap(true) {
		t.app.pools.release(t.pool)
	}
	return nil
}

// closeIdleConnections closes the idle connections of the pool once no
// transport uses it (see closeIdleBackendConns).
func (t *Transport) closeIdleConnections() {
	if t.pool != nil {
		t.pool.closeIdleIfReleased()
	}
}

// Interface guards
var (
	_ caddy.Provisioner                                = (*Transport)(nil)
	_ caddy.CleanerUpper                               = (*Transport)(nil)
	_ http.RoundTripper                                = (*Transport)(nil)
	_ reverseproxy.HealthCheckSchemeOverriderTransport = (*Transport)(nil)
	_ net.Error                                        = (*backendError)(nil)
)
