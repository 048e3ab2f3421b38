package caddyingress

import (
	"context"
	"fmt"
	"net/http"
	"time"

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
	s := h.app.acquire()
	if s == nil {
		if s = h.app.awaitFirst(r.Context()); s == nil {
			return caddyhttp.Error(http.StatusServiceUnavailable, fmt.Errorf("ingress routes are not loaded yet"))
		}
	}
	defer s.routes.release()
	caddyhttp.SetVar(r.Context(), servedVar, s)
	t := s.routes
	h.app.realIP.apply(r)
	stripClientCertHeaders(r.Header)
	setForwardingHeaders(r, h.app.realIP.forwardedForHeader())
	host := requestHost(r.Host)
	ht := t.host(host)
	if ht != nil && ht.clientAuth != nil {
		if ok, err := h.app.checkClientAuth(w, r, t, ht, host); !ok {
			return err
		}
	}
	reqPath := requestPath(r.URL.Path)
	if ht != nil && ht.appRoot != "" && reqPath == "/" {
		// app-root comes before any path, as in ingress-nginx (with the
		// scheme of the connection, and the Host as sent).
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return sendRedirect(w, scheme+"://"+r.Host+ht.appRoot, http.StatusFound)
	}
	hd, catchAll := t.lookupIn(ht, reqPath)
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

// firstWait bounds how long a request waits for the first snapshot when
// one is at hand but not applied yet (see App.awaitFirst).
const firstWait = 10 * time.Second

// awaitFirst waits for the first snapshot to be applied and returns the
// state then served, held as acquire does, or nil. It waits only while a
// snapshot is known to be at hand without the network (a directory read
// in Provision, caches an earlier config filled): Caddy may start the
// http app, and so accept requests, before the ingress app's Start has
// applied it. Otherwise it returns nil at once, and the request gets 503.
func (a *App) awaitFirst(ctx context.Context) *served {
	if !a.expectFirst.Load() {
		return nil
	}
	timer := time.NewTimer(firstWait)
	defer timer.Stop()
	select {
	case <-a.firstApplied:
		return a.acquire()
	case <-ctx.Done():
	case <-timer.C:
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
