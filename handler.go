package caddyingress

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler serves requests by the Ingress rules of the ingress app. It
// looks the request's host and path up in the app's current route table
// (map lookups: the cost does not grow with the number of hosts) and runs
// the matching routes. A request that matches nothing gets 404; before
// the app has applied its first snapshot, requests get 503.
type Handler struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ingress",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision finds the ingress app.
func (h *Handler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	t := h.app.acquire()
	if t == nil {
		return caddyhttp.Error(http.StatusServiceUnavailable, fmt.Errorf("ingress routes are not loaded yet"))
	}
	defer t.release()
	stripClientCertHeaders(r.Header)
	host := requestHost(r.Host)
	ht := t.host(host)
	if ht != nil && ht.clientAuth != nil {
		if ok, err := h.app.checkClientAuth(w, r, t, ht, host); !ok {
			return err
		}
	}
	hd, catchAll := t.lookupIn(ht, requestPath(r.URL.Path), r.TLS == nil)
	if catchAll && hd != nil && t.any != nil && t.any != ht && t.any.clientAuth != nil {
		// The catch-all, reached from a host with rules of its own,
		// keeps the client certificate check of the rules without host
		// (fail closed; such a request rarely has a certificate for it).
		if ok, err := h.app.checkClientAuth(w, r, t, t.any, host); !ok {
			return err
		}
	}
	if hd == nil {
		return caddyhttp.Error(http.StatusNotFound, nil)
	}
	return hd.ServeHTTP(w, r)
}

// acquire returns the current table, held until release; nil before the
// first snapshot is applied.
func (a *App) acquire() *table {
	for {
		t := a.routes.Load()
		if t == nil {
			return nil
		}
		t.acquire()
		if a.routes.Load() == t {
			return t
		}
		t.release()
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
