package caddyingress

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Upstreams{})
}

// Upstreams is a dynamic upstream source for reverse_proxy that resolves a
// Service port to the ready endpoints (pods) behind it, read from the
// ingress app's EndpointSlice index on every request. Endpoint changes take
// effect at once and never rebuild routes. A Service port without ready
// endpoints yields no upstreams, so reverse_proxy answers 503.
type Upstreams struct {
	servicePort
}

// servicePort names a Service port, as modules that read the ingress
// app's endpoints take it.
type servicePort struct {
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

// provision checks the name and finds the ingress app.
func (p *servicePort) provision(ctx caddy.Context) error {
	if p.Namespace == "" || p.Service == "" {
		return fmt.Errorf("namespace and service are required")
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	p.app = app.(*App)
	p.key = ingress.UpstreamKey{Namespace: p.Namespace, Service: p.Service, PortName: p.PortName}
	return nil
}

// CaddyModule returns the Caddy module information.
func (Upstreams) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.upstreams." + ingress.UpstreamSourceModule,
		New: func() caddy.Module { return new(Upstreams) },
	}
}

// Provision finds the ingress app.
func (u *Upstreams) Provision(ctx caddy.Context) error { return u.provision(ctx) }

// GetUpstreams returns the ready endpoints of the Service port, as the
// ingress handler's request saw them. Each call gets its own Upstream
// values, since reverse_proxy writes to them.
func (u *Upstreams) GetUpstreams(r *http.Request) ([]*reverseproxy.Upstream, error) {
	s := u.app.servedFor(r.Context())
	if s == nil || s.endpoints == nil {
		return nil, nil
	}
	addrs := s.endpoints.byKey[u.key]
	ups := make([]*reverseproxy.Upstream, len(addrs))
	values := make([]reverseproxy.Upstream, len(addrs))
	for i, addr := range addrs {
		values[i].Dial = addr
		ups[i] = &values[i]
	}
	return ups, nil
}

// endpointIndex is an immutable map from Service port to dial addresses.
type endpointIndex struct {
	byKey map[ingress.UpstreamKey][]string
}

func newEndpointIndex(m map[ingress.UpstreamKey][]string) *endpointIndex {
	return &endpointIndex{byKey: m}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Upstreams)(nil)
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
)
