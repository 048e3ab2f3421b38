package caddyingress

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
)

func init() {
	caddy.RegisterModule(CertManager{})
}

// CertManager serves the certificates of the ingress app's TLS Secrets by
// SNI, from memory, on every handshake: the exact name first, then a
// one-label wildcard, then the default certificate (a self-signed one
// generated at start). Certificate changes take effect with the next
// handshake, with no reload. With the app's automatic_certificates on, it
// also serves the certificates obtained for managed hosts (see
// App.certificate).
//
// The Caddyfile's ingress directive wires it up on sites that listen on
// the HTTPS port. In JSON, list it in a TLS automation policy:
// `"get_certificate": [{"via": "ingress"}]`.
type CertManager struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (CertManager) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.get_certificate.ingress",
		New: func() caddy.Module { return new(CertManager) },
	}
}

// Provision finds the ingress app.
func (m *CertManager) Provision(ctx caddy.Context) error {
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	m.app = app.(*App)
	return nil
}

// GetCertificate returns the certificate for hello's server name. Before
// the app has started it returns nothing, leaving the handshake to others.
func (m *CertManager) GetCertificate(_ context.Context, hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return m.app.certificate(hello), nil
}

// Interface guards
var (
	_ caddy.Provisioner = (*CertManager)(nil)
	_ certmagic.Manager = (*CertManager)(nil)
)
