package caddyingress

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Unready{})
}

// Unready matches requests whose Service port has no ready endpoints, in
// the endpoints the ingress handler's request saw. Routes use it to send
// such requests to an Ingress's default-backend.
type Unready struct {
	servicePort
}

// CaddyModule returns the Caddy module information.
func (Unready) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.matchers." + ingress.UnreadyMatcherModule,
		New: func() caddy.Module { return new(Unready) },
	}
}

// Provision finds the ingress app.
func (m *Unready) Provision(ctx caddy.Context) error { return m.provision(ctx) }

// MatchWithError implements caddyhttp.RequestMatcherWithError.
func (m *Unready) MatchWithError(r *http.Request) (bool, error) {
	s := m.app.servedFor(r.Context())
	return s == nil || s.endpoints == nil || len(s.endpoints.byKey[m.key]) == 0, nil
}

// Interface guards
var (
	_ caddy.Provisioner                 = (*Unready)(nil)
	_ caddyhttp.RequestMatcherWithError = (*Unready)(nil)
)
