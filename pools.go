package caddyingress

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// poolSettings are what a connection pool to backends is made with. Two
// transports with equal settings share one pool: net/http keeps idle
// connections per backend address within it, so paths to the same
// Service reuse each other's connections, and connections made with one
// Secret's certificates or for one server name are never used for
// another's. It is comparable and canonical (versions sorted), so it is
// the pool's key.
type poolSettings struct {
	// versions are the HTTP versions offered, sorted and comma-separated.
	versions                               string
	dialTimeout, readTimeout, writeTimeout caddy.Duration

	// tls, and the rest only with it, as Transport has them.
	tls        bool
	secret     string
	verify     bool
	serverName string
	sendSNI    bool
	// verifyDepth is the greatest number of intermediates in a verified
	// chain; -1 for no limit.
	verifyDepth int
	// minVersion and maxVersion bound the TLS versions offered;
	// cipherSuites are the IDs of the TLS 1.2 suites offered, sorted and
	// comma-separated, "" for Go's defaults.
	minVersion, maxVersion uint16
	cipherSuites           string
}

// backendPools are the app's connection pools to backends, by settings,
// each shared by the transports that use it and closed when the last one
// is cleaned up.
type backendPools struct {
	mu    sync.Mutex
	pools map[poolSettings]*backendPool
}

// backendPool is one Caddy http transport (an http.Transport and its idle
// connections) and the TLS checks done for it.
type backendPool struct {
	settings poolSettings
	app      *App
	http     *reverseproxy.HTTPTransport
	// seen is the SHA-256 of the Secret's contents at the last round
	// trip: when it changes, idle connections, made with the old CAs or
	// client certificate, are closed.
	seen atomic.Pointer[string]
	// users counts the transports using the pool, under backendPools.mu;
	// released is set when it dropped to zero and the pool left the
	// registry for good.
	users    int
	released atomic.Bool
}

// acquire returns the pool with settings s, making it if there is none,
// for one more user; each acquire is paired with a release.
func (ps *backendPools) acquire(app *App, s poolSettings) (*backendPool, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.pools[s]; p != nil {
		p.users++
		return p, nil
	}
	p, err := newBackendPool(app, s)
	if err != nil {
		return nil, err
	}
	if ps.pools == nil {
		ps.pools = make(map[poolSettings]*backendPool)
	}
	ps.pools[s] = p
	p.users = 1
	return p, nil
}

// release ends one use of p. When no transport uses it any more, it
// leaves the registry, and its idle connections are closed; a request
// that still comes (see lateRequestsGrace) may open new ones, which
// closeIdleIfReleased closes.
func (ps *backendPools) release(p *backendPool) {
	ps.mu.Lock()
	p.users--
	last := p.users == 0
	if last {
		delete(ps.pools, p.settings)
		p.released.Store(true)
	}
	ps.mu.Unlock()
	if last {
		_ = p.http.Cleanup()
	}
}

// len returns the number of pools in use.
func (ps *backendPools) len() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.pools)
}

// closeIdleIfReleased closes p's idle connections if no transport uses
// it any more; a pool still in use keeps them for its other users.
func (p *backendPool) closeIdleIfReleased() {
	if p.released.Load() {
		p.http.Transport.CloseIdleConnections()
	}
}

// newBackendPool provisions a Caddy http transport with settings s. It is
// provisioned in the app's context, which outlives the routes using it;
// none of these settings loads a module into that context.
func newBackendPool(app *App, s poolSettings) (*backendPool, error) {
	p := &backendPool{settings: s, app: app}
	p.http = &reverseproxy.HTTPTransport{
		Versions:    strings.Split(s.versions, ","),
		DialTimeout: s.dialTimeout, ReadTimeout: s.readTimeout, WriteTimeout: s.writeTimeout,
		// As nginx, backends get the client's Accept-Encoding as it
		// was sent, and their responses pass as they come: net/http's
		// default would ask for gzip when the client did not and
		// decompress the response on the way.
		Compression: new(false),
	}
	if s.tls {
		p.http.TLS = new(reverseproxy.TLSConfig)
	}
	if err := p.http.Provision(app.ctx); err != nil {
		return nil, fmt.Errorf("provisioning http transport: %v", err)
	}
	if !s.tls {
		return p, nil
	}
	rt := p.http.Transport
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
	if s.sendSNI {
		cfg.ServerName = s.serverName
	}
	cfg.MinVersion, cfg.MaxVersion = s.minVersion, s.maxVersion
	if s.cipherSuites != "" {
		cfg.CipherSuites = nil
		for id := range strings.SplitSeq(s.cipherSuites, ",") {
			n, _ := strconv.Atoi(id)
			cfg.CipherSuites = append(cfg.CipherSuites, uint16(n))
		}
	}
	if s.verify || s.secret != "" {
		cfg.VerifyConnection = p.verifyConnection
	}
	// Also without a Secret, to notice a backend that asks for a client
	// certificate in vain.
	cfg.GetClientCertificate = p.clientCertificate
	return p, nil
}

// canonicalVersions returns versions sorted and without repeats, joined
// by commas.
func canonicalVersions(versions []string) string {
	v := slices.Clone(versions)
	slices.Sort(v)
	return strings.Join(slices.Compact(v), ",")
}

// verifyConnection runs after every handshake: it checks that the Secret
// is still there and, with verify on, verifies the backend certificate
// against the Secret's current CAs.
func (p *backendPool) verifyConnection(cs tls.ConnectionState) error {
	s := &p.settings
	var sec *ingress.BackendSecret
	if s.secret != "" {
		// The handshake has no request at hand: the current Secret.
		if sec = p.app.current().backendSecret(s.secret); sec == nil {
			return &handshakeError{err: fmt.Errorf("secret %s not found", s.secret)}
		}
	}
	if !s.verify {
		return nil
	}
	switch {
	case sec == nil:
		return &handshakeError{untrusted: true, err: errors.New("verify is on but no secret holds the trusted CAs")}
	case sec.CAs == nil:
		return &handshakeError{untrusted: true, err: fmt.Errorf("secret %s has no ca.crt", s.secret)}
	case len(cs.PeerCertificates) == 0:
		return &handshakeError{untrusted: true, err: errors.New("no certificate")}
	}
	opts := x509.VerifyOptions{
		Roots:         sec.CAs,
		Intermediates: x509.NewCertPool(),
		DNSName:       s.serverName,
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
	tooDeep := 0 // intermediates of the shortest chain over the depth
chains:
	for _, chain := range chains {
		// The chain is the leaf, its intermediates and the certificate
		// of ca.crt it ends with.
		if n := len(chain) - 2; s.verifyDepth >= 0 && n > s.verifyDepth {
			if tooDeep == 0 || n < tooDeep {
				tooDeep = n
			}
			continue
		}
		for _, c := range chain[:len(chain)-1] {
			if sec.Revoked.Revoked(c) {
				revoked = c
				continue chains
			}
		}
		return nil
	}
	if revoked == nil {
		return &handshakeError{untrusted: true, err: fmt.Errorf("certificate chain has %d intermediate CA certificates, more than the verify depth %d", tooDeep, s.verifyDepth)}
	}
	return &handshakeError{untrusted: true, err: fmt.Errorf("certificate %q (serial %s) is revoked by the secret's ca.crl", revoked.Subject.String(), revoked.SerialNumber)}
}

// clientCertificate returns the client certificate of the Secret as the
// request being dialed for saw it, or none when there is no Secret or it
// has no tls.crt. Sending none, it notes in the request's context that
// the backend asked for one (see Transport.RoundTrip).
func (p *backendPool) clientCertificate(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	var cert *tls.Certificate
	if name := p.settings.secret; name != "" {
		sec := p.app.servedFor(cri.Context()).backendSecret(name)
		if sec == nil {
			return nil, &handshakeError{err: fmt.Errorf("secret %s not found", name)}
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

// closeStaleConnections closes the pool's idle connections when the
// Secret's contents, as the request sees them, changed since the last
// round trip, so that a replaced CA or client certificate applies to the
// next request, not only to new connections. Connections busy at that
// moment finish their requests.
func (p *backendPool) closeStaleConnections(s *served) {
	name := p.settings.secret
	if name == "" {
		return
	}
	sum := ""
	if sec := s.backendSecret(name); sec != nil {
		sum = sec.SHA256
	}
	if old := p.seen.Load(); old == nil || *old != sum {
		if prev := p.seen.Swap(&sum); prev != nil && *prev != sum {
			p.http.Transport.CloseIdleConnections()
		}
	}
}
