package ingress

import (
	"encoding/json"
)

// UpstreamKey names a Service port as EndpointSlices name it: by the
// Service's port name ("" for a single unnamed port).
type UpstreamKey struct {
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	PortName  string `json:"port_name,omitempty"`
}

func (k UpstreamKey) String() string {
	return k.Namespace + "/" + k.Service + ":" + k.PortName
}

// target is where a backend sends requests: a Service port, or nowhere
// (nil upstream) when the backend cannot be resolved, which serves 503.
type target struct {
	upstream *UpstreamKey
	// port is the Service port's number, as X-Service-Port names it.
	port int32
	// clusterIP is the Service's cluster IP; "" for a headless Service.
	clusterIP string
}

func (t target) key() (UpstreamKey, bool) {
	if t.upstream == nil {
		return UpstreamKey{}, false
	}
	return *t.upstream, true
}

// routesFor returns the routes of a plan, rendered once per distinct plan
// and shared by every path (and translation) that has the same.
func (t *translation) routesFor(p plan) json.RawMessage {
	if r, ok := t.routes[p]; ok {
		return r
	}
	r, ok := t.prev.routes[p]
	if !ok {
		r = render(&p)
	}
	t.routes[p] = r
	return r
}
