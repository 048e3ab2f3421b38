package caddyingress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	// Translation renders Caddy's tracing handler for traced Ingresses.
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/tracing"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// sharedProxy is a reverse_proxy (or tracing) handler provisioned once
// for all the compiled routes whose handler has the same JSON: the paths
// of 10,000 Ingresses to one Service, whatever else their routes do,
// share one handler, its upstream state and the goroutine that Caddy
// starts for each reverse_proxy to update its upstream-health gauge; the
// traced paths with one span name share one tracing handler (and Caddy's
// one tracer provider, which each tracing handler holds once). It lives in
// the routes context of the build that first needed it, which it keeps
// alive, and is cleaned up with it once no compiled route uses it.
type sharedProxy struct {
	key     string
	handler caddyhttp.MiddlewareHandler
	ctx     *routesContext
	// refs counts the compiled routes that use it, under App.mu.
	refs int
}

// proxySlot is where a shared reverse_proxy goes in a route list: the
// handler at index of route.
type proxySlot struct {
	route, index int
	proxy        *sharedProxy
}

// sharedModules are the handlers that compiled routes share, by name
// (as in their JSON, quoted, and their module ID).
var sharedModules = []struct {
	quoted []byte
	name   string
}{
	{[]byte(`"reverse_proxy"`), "reverse_proxy"},
	{[]byte(`"` + ingress.TracingModule + `"`), ingress.TracingModule},
}

// sharedModule returns the name of the shared handler raw is, or "".
func sharedModule(raw json.RawMessage) string {
	for _, m := range sharedModules {
		// Decoding a handler's JSON whole just for its name is needed
		// only when it may be one.
		if !bytes.Contains(raw, m.quoted) {
			continue
		}
		var head struct {
			Handler string `json:"handler"`
		}
		if json.Unmarshal(raw, &head) == nil && head.Handler == m.name {
			return m.name
		}
	}
	return ""
}

// takeProxies takes the reverse_proxy and tracing handlers out of the top-level
// handlers of routes, before they are provisioned, and returns where
// they go, each a shared one (provisioned in rc if it is new, and held
// once more). putProxies puts them in once the rest is provisioned; on
// an error, releaseProxies lets go of them.
func (a *App) takeProxies(rc *routesContext, routes caddyhttp.RouteList) ([]proxySlot, error) {
	var slots []proxySlot
	for ri := range routes {
		raws := routes[ri].HandlersRaw
		kept := raws[:0:0]
		for hi, raw := range raws {
			name := sharedModule(raw)
			if name == "" {
				kept = append(kept, raw)
				continue
			}
			sp, err := a.sharedProxy(rc, name, raw)
			if err != nil {
				a.releaseProxies(slots)
				return nil, err
			}
			slots = append(slots, proxySlot{route: ri, index: hi, proxy: sp})
		}
		routes[ri].HandlersRaw = kept
	}
	return slots, nil
}

// sharedProxy returns the shared handler (module name) of raw, held once
// more, provisioning it in rc if there is none.
func (a *App) sharedProxy(rc *routesContext, name string, raw json.RawMessage) (*sharedProxy, error) {
	key := string(raw)
	if sp := a.shared[key]; sp != nil {
		sp.refs++
		return sp, nil
	}
	// The module's own JSON is raw without its name, as Caddy loads
	// inline modules.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	delete(fields, "handler")
	cfg, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	mod, err := rc.ctx.LoadModuleByID("http.handlers."+name, cfg)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %v", name, err)
	}
	if rp, ok := mod.(*reverseproxy.Handler); ok {
		makeLoggerLazy(rp)
	}
	rc.routes++ // the context lives while the handler does
	sp := &sharedProxy{key: key, handler: mod.(caddyhttp.MiddlewareHandler), ctx: rc, refs: 1}
	a.shared[key] = sp
	return sp, nil
}

// putProxies puts the shared handlers of slots where takeProxies took
// them from, in routes now provisioned, and makes those routes' handler
// chains again.
func putProxies(rc *routesContext, routes caddyhttp.RouteList, slots []proxySlot) error {
	for i, s := range slots {
		r := &routes[s.route]
		r.Handlers = slices.Insert(r.Handlers, s.index, s.proxy.handler)
		if i+1 < len(slots) && slots[i+1].route == s.route {
			continue
		}
		// HandlersRaw is empty once loaded: this only makes the chain.
		if err := r.ProvisionHandlers(rc.ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// releaseProxies lets go of the shared handlers of slots; the last user
// of one cleans it up.
func (a *App) releaseProxies(slots []proxySlot) {
	for _, s := range slots {
		sp := s.proxy
		if sp.refs--; sp.refs == 0 {
			delete(a.shared, sp.key)
			sp.ctx.release()
		}
	}
}
