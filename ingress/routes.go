package ingress

import (
	"encoding/json"
	"unique"
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

// planKey identifies a plan cheaply: the parts that most paths set are
// held by value, the rest (zero for most paths) by one pointer to an
// interned value, equal pointers meaning equal parts. Hashing a whole plan
// for each of 10,000s of paths costs more than the rest of its
// translation.
type planKey struct {
	redirect Redirect
	denied   string
	allow    string
	deny     string
	auth     basicAuth
	any      bool
	hsts     string
	upstream UpstreamKey
	resolved bool
	limits   limitsPhase
	timeouts timeouts
	balance  string
	retry    retryPolicy
	fullXFF  bool
	logSkip  bool
	// extras are interned: one copy of each distinct value, shared by
	// every plan key that has it (and dropped with the last); the zero
	// Handle for none.
	extras unique.Handle[planExtras]
}

// planExtras are the parts of a plan that annotations set.
type planExtras struct {
	rewrite  rewritePhase
	affinity Affinity
	hash     hashConfig
	canary   canaryPlan
	headers  headersPhase // without hsts
	dial     string
	backend  backendOptions
	// connection is the Connection header sent to the backend.
	connection string
	fastcgi    fastcgiPlan
	fallback   errorBackend
	errors     errorPages
	extAuth    externalAuth
	ret        snippetReturn
	mirror     mirrorConfig
	trace      tracePhase
}

// key returns the key of p, with its extras interned.
func (t *translation) key(p *plan) planKey {
	k := planKey{redirect: p.redirect, denied: p.access.denied, allow: p.access.allow, deny: p.access.deny, auth: p.access.basicAuth, any: p.access.satisfyAny, hsts: p.headers.hsts, upstream: p.proxy.upstream, resolved: p.proxy.resolved,
		limits: p.limits, timeouts: p.proxy.timeouts, balance: p.proxy.balance, retry: p.proxy.retry, fullXFF: p.proxy.fullForwardedFor, logSkip: p.logSkip}
	x := planExtras{rewrite: p.rewrite, affinity: p.proxy.affinity, hash: p.proxy.hash, canary: p.proxy.canary, headers: p.headers, dial: p.proxy.dial, backend: p.proxy.backend, connection: p.proxy.connection, fastcgi: p.proxy.fastcgi, fallback: p.proxy.fallback, errors: p.proxy.errors, extAuth: p.access.extAuth, ret: p.access.ret, mirror: p.proxy.mirror, trace: p.trace}
	x.headers.hsts = ""
	if x == (planExtras{}) {
		return k
	}
	k.extras = unique.Make(x)
	return k
}

// routesFor returns the routes of a plan, rendered once per distinct plan
// and shared by every path (and translation) that has the same.
func (t *translation) routesFor(p *plan) json.RawMessage {
	k := t.key(p)
	if r, ok := t.routes[k]; ok {
		return r
	}
	r, ok := t.prev.routes[k]
	if !ok {
		r = render(p)
	}
	t.routes[k] = r
	return r
}
