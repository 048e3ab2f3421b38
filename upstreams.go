package caddyingress

import (
	"fmt"
	"net/http"
	"sync/atomic"

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

	// Pick, when "round_robin", makes the source take the endpoints in
	// turn itself and return one per try, the next on a retry, instead
	// of all of them for reverse_proxy's selection policy to choose
	// from: reverse_proxy records the state of every upstream it is
	// given, under one lock, on every request, a cost that grows with
	// the Service's endpoints. Use it with the round_robin policy and no
	// health checks, with which it picks the same; other policies need
	// every endpoint. Default: "", all of them.
	Pick string `json:"pick,omitempty"`

	// next counts the picks (a pointer: modules are copied by value
	// before Provision).
	next *atomic.Uint64
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

// Provision finds the ingress app and checks pick.
func (u *Upstreams) Provision(ctx caddy.Context) error {
	if u.Pick != "" && u.Pick != "round_robin" {
		return fmt.Errorf("pick: unknown value %q, want round_robin", u.Pick)
	}
	u.next = new(atomic.Uint64)
	return u.provision(ctx)
}

// GetUpstreams returns the ready endpoints of the Service port, as the
// ingress handler's request saw them, or with pick the next of them.
// Each call gets its own Upstream values, since reverse_proxy writes to
// them.
func (u *Upstreams) GetUpstreams(r *http.Request) ([]*reverseproxy.Upstream, error) {
	s := u.app.servedFor(r.Context())
	if s == nil || s.endpoints == nil {
		return nil, nil
	}
	addrs := s.endpoints.byKey[u.key]
	if u.Pick != "" && len(addrs) > 1 {
		addrs = addrs[(u.next.Add(1)-1)%uint64(len(addrs)):][:1]
	}
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
