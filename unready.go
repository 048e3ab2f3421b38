package caddyingress

import (
	"fmt"
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
	// Namespace of the Service.
	Namespace string `json:"namespace"`
	// Service is the name of the Service.
	Service string `json:"service"`
	// PortName is the name of the Service port, as its EndpointSlices name
	// it; empty for a Service with a single unnamed port.
	PortName string `json:"port_name,omitempty"`

	app *App
	key ingress.UpstreamKey
}

// CaddyModule returns the Caddy module information.
func (Unready) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.matchers." + ingress.UnreadyMatcherModule,
		New: func() caddy.Module { return new(Unready) },
	}
}

// Provision finds the ingress app.
func (m *Unready) Provision(ctx caddy.Context) error {
	if m.Namespace == "" || m.Service == "" {
		return fmt.Errorf("namespace and service are required")
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	m.app = app.(*App)
	m.key = ingress.UpstreamKey{Namespace: m.Namespace, Service: m.Service, PortName: m.PortName}
	return nil
}

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
