package caddyingress

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Ready{})
}

// Ready answers 200 once the ingress app has applied its first snapshot
// (for the Kubernetes source: after its caches synced) and 503 before,
// for readiness probes: Caddy may listen before the ingress app is ready.
// In the Caddyfile: `ingress_ready`.
type Ready struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (Ready) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ingress_ready",
		New: func() caddy.Module { return new(Ready) },
	}
}

// Provision finds the ingress app.
func (h *Ready) Provision(ctx caddy.Context) error {
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Ready) ServeHTTP(w http.ResponseWriter, _ *http.Request, _ caddyhttp.Handler) error {
	if s := h.app.current(); s == nil || s.routes == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err := w.Write([]byte("not ready\n"))
		return err
	}
	_, err := w.Write([]byte("ready\n"))
	return err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Ready)(nil)
	_ caddyhttp.MiddlewareHandler = (*Ready)(nil)
)
