package caddyingress

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
	"go.uber.org/zap"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(ClientAuthMatcher{})
}

// Request headers that carry the outcome of the client certificate check
// to backends, named as ingress-nginx names them. They are removed from
// every incoming request, so that a client cannot forge them.
const (
	headerClientCert      = "Ssl-Client-Cert"
	headerClientVerify    = "Ssl-Client-Verify"
	headerClientSubjectDN = "Ssl-Client-Subject-Dn"
	headerClientIssuerDN  = "Ssl-Client-Issuer-Dn"
)

// ClientAuthMatcher matches TLS handshakes whose server name belongs to a
// host that asks for client certificates (auth-tls-secret) right now. A
// TLS connection policy with this matcher and client authentication mode
// "request" makes those handshakes, and only those, ask the client for a
// certificate; the ingress handler then checks it per request against the
// host's CAs. The Caddyfile's ingress directive adds that policy:
//
//	{"match": {"ingress_client_auth": {}}, "client_authentication": {"mode": "request"}}
//
// Caddy turns on strict SNI-Host matching for servers with such a policy
// unless strict_sni_host is set; the ingress handler enforces it for
// hosts with client certificates either way.
type ClientAuthMatcher struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (ClientAuthMatcher) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.handshake_match.ingress_client_auth",
		New: func() caddy.Module { return new(ClientAuthMatcher) },
	}
}

// Provision finds the ingress app.
func (m *ClientAuthMatcher) Provision(ctx caddy.Context) error {
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	m.app = app.(*App)
	m.app.clientAuthPolicy.Store(true)
	return nil
}

// warnClientAuthPolicy logs once per result when hosts ask for client
// certificates but no TLS connection policy uses ClientAuthMatcher, so no
// handshake asks for them: those hosts then answer 400 to every HTTPS
// request (with verify-client "on").
func (a *App) warnClientAuthPolicy(res *ingress.Result, t *table) {
	if a.clientAuthPolicy.Load() || t.clientAuthHosts == 0 {
		return
	}
	for h := range res.Hosts.All() {
		if h.ClientAuth != nil {
			a.logger.Error("hosts ask for client certificates, but no TLS connection policy asks clients for them; "+
				"serve HTTPS from a site block of its own, such as \":443 { ingress }\", or add the ingress_client_auth policy",
				zap.String("host", h.Host), zap.String("ingress", h.ClientAuth.Ingress))
			return
		}
	}
}

// Match reports whether the host hello names asks for client certificates.
func (m *ClientAuthMatcher) Match(hello *tls.ClientHelloInfo) bool {
	s := m.app.current()
	if s == nil || s.routes == nil {
		return false
	}
	h := s.routes.host(requestHost(hello.ServerName))
	return h != nil && h.clientAuth != nil
}

// checkClientAuth applies a host's client certificate check to a request.
// It returns false when it has answered the request itself. On success it
// sets the ssl-client-* headers for the backend.
func (a *App) checkClientAuth(w http.ResponseWriter, r *http.Request, t *table, ht *hostTable, host string) (bool, error) {
	// The certificate was asked for (or not) for the server name of the
	// connection: a request for a host with other rules must not pass.
	// (A request without server name, by IP address, for rules without
	// host passes: the handshake asked for the same rules.)
	if r.TLS != nil && t.host(requestHost(r.TLS.ServerName)) != ht {
		r.Close = true
		return false, caddyhttp.Error(http.StatusMisdirectedRequest,
			fmt.Errorf("host %q requires client certificates, but the TLS server name is %q", host, r.TLS.ServerName))
	}
	ok, err := a.checkClientCert(w, r, ht.clientAuth, host)
	if !ok || ht.matchCN == nil {
		return ok, err
	}
	// auth-tls-match-cn, as ingress-nginx applies it: the subject DN
	// (empty without a certificate) must match.
	var dn string
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		dn = r.TLS.PeerCertificates[0].Subject.String()
	}
	if !ht.matchCN.MatchString(dn) {
		return false, caddyhttp.Error(http.StatusForbidden, fmt.Errorf("client certificate unauthorized: subject %q does not match auth-tls-match-cn of Ingress %s", dn, ht.clientAuth.Ingress))
	}
	return true, nil
}

// checkClientCert is checkClientAuth without auth-tls-match-cn.
func (a *App) checkClientCert(w http.ResponseWriter, r *http.Request, ca *ingress.ClientAuth, host string) (bool, error) {
	if r.TLS == nil {
		if ca.Verify != ingress.ClientVerifyOn {
			r.Header.Set(headerClientVerify, "NONE")
			return true, nil
		}
		// A host that requires client certificates is served over
		// HTTPS only.
		if host == "" {
			return false, caddyhttp.Error(http.StatusForbidden, fmt.Errorf("client certificate required: use HTTPS"))
		}
		port := ""
		if a.httpsPort != 0 && a.httpsPort != 443 {
			port = ":" + strconv.Itoa(a.httpsPort)
		}
		w.Header().Set("Location", "https://"+host+port+r.URL.RequestURI())
		w.WriteHeader(http.StatusPermanentRedirect)
		return false, nil
	}
	certs := r.TLS.PeerCertificates
	if len(certs) == 0 {
		if ca.Verify == ingress.ClientVerifyOn {
			return certificateError(w, ca, fmt.Errorf("no required SSL certificate was sent (host %q, Ingress %s)", host, ca.Ingress))
		}
		r.Header.Set(headerClientVerify, "NONE")
		return true, nil
	}
	verifyErr := a.verified.verify(ca, certs, time.Now())
	if verifyErr != nil && ca.Verify != ingress.ClientVerifyOptionalNoCA {
		return certificateError(w, ca, fmt.Errorf("the SSL certificate error (host %q, Ingress %s): %v", host, ca.Ingress, verifyErr))
	}
	if verifyErr != nil {
		r.Header.Set(headerClientVerify, "FAILED:"+verifyErr.Error())
	} else {
		r.Header.Set(headerClientVerify, "SUCCESS")
	}
	r.Header.Set(headerClientSubjectDN, certs[0].Subject.String())
	r.Header.Set(headerClientIssuerDN, certs[0].Issuer.String())
	if ca.PassCertificate {
		r.Header.Set(headerClientCert, escapedPEM(certs[0]))
	}
	return true, nil
}

// certificateError answers a request whose client certificate is missing
// or does not verify: 400 with err, or, with an error page
// (auth-tls-error-page), a redirect to it (302), as nginx's error_page
// for its codes 495 and 496 does. The URL was checked when translated.
func certificateError(w http.ResponseWriter, ca *ingress.ClientAuth, err error) (bool, error) {
	if ca.ErrorPage == "" {
		return false, caddyhttp.Error(http.StatusBadRequest, err)
	}
	w.Header().Set("Location", ca.ErrorPage)
	w.WriteHeader(http.StatusFound)
	return false, nil
}

// verifyCache remembers recent outcomes of verifyClient, so that the
// requests of a connection (and of connections that present the same
// chain) do not verify it again: verifying costs tens of microseconds,
// looking up a hash of the chain a few. An outcome is kept for a minute at
// most, and never past the leaf's expiry; a new translation makes new
// ClientAuth values, so a changed CA or CRL never meets an old outcome.
type verifyCache struct {
	mu sync.Mutex
	m  map[verifyKey]verifyOutcome
}

type verifyKey struct {
	auth  *ingress.ClientAuth
	chain [sha256.Size]byte
}

type verifyOutcome struct {
	err   error
	until time.Time
}

const (
	verifyCacheTTL  = time.Minute
	verifyCacheSize = 10000
)

func (vc *verifyCache) verify(ca *ingress.ClientAuth, certs []*x509.Certificate, now time.Time) error {
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
		h.Write([]byte{0})
	}
	key := verifyKey{auth: ca}
	h.Sum(key.chain[:0])
	vc.mu.Lock()
	out, ok := vc.m[key]
	vc.mu.Unlock()
	if ok && now.Before(out.until) {
		return out.err
	}
	out = verifyOutcome{err: verifyClient(ca, certs, now), until: now.Add(verifyCacheTTL)}
	if certs[0].NotAfter.Before(out.until) {
		out.until = certs[0].NotAfter
	}
	vc.mu.Lock()
	if vc.m == nil || len(vc.m) >= verifyCacheSize {
		vc.m = make(map[verifyKey]verifyOutcome)
	}
	vc.m[key] = out
	vc.mu.Unlock()
	return out.err
}

// verifyClient verifies a client's chain against the host's CAs, with at
// most Depth intermediate CA certificates between the client's own and
// the CA it chains to, as OpenSSL (and so nginx's ssl_verify_depth)
// counts them: Depth 1 takes a certificate that an intermediate issued.
func verifyClient(ca *ingress.ClientAuth, certs []*x509.Certificate, now time.Time) error {
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		intermediates.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         ca.CAs,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return err
	}
	for _, chain := range chains {
		// chain holds the client's certificate, the intermediates and
		// the CA of ca.crt it ends at.
		if len(chain)-2 > ca.Depth {
			continue
		}
		for _, c := range chain[:len(chain)-1] {
			if ca.Revoked.Revoked(c) {
				return fmt.Errorf("certificate %q (serial %s) is revoked", c.Subject.String(), c.SerialNumber)
			}
		}
		return nil
	}
	return fmt.Errorf("certificate chain is longer than the verify depth %d", ca.Depth)
}

// escapedPEM is the client certificate as nginx's $ssl_client_escaped_cert
// gives it: PEM, percent-encoded.
func escapedPEM(c *x509.Certificate) string {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	return strings.ReplaceAll(url.QueryEscape(string(p)), "+", "%20")
}

// stripClientCertHeaders removes the ssl-client-* headers a client sent.
func stripClientCertHeaders(h http.Header) {
	for _, k := range []string{headerClientCert, headerClientVerify, headerClientSubjectDN, headerClientIssuerDN} {
		if _, ok := h[k]; ok {
			delete(h, k)
		}
	}
}

// Interface guards
var (
	_ caddy.Provisioner          = (*ClientAuthMatcher)(nil)
	_ caddytls.ConnectionMatcher = (*ClientAuthMatcher)(nil)
)
