package caddyingress

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(UpstreamHost{})
}

// UpstreamHost names the Host header that the ingress transport sends to
// the backend for the request, in place of the client's (ingress-nginx's
// upstream-vhost); only a reverse_proxy whose ingress transport has
// upstream_host on sends it. Keeping the host out of the reverse_proxy
// handler lets the paths to one backend share one handler whatever Host
// each sends. The host is data: it is never expanded as a placeholder.
type UpstreamHost struct {
	// Host is a host name, optionally with a port.
	Host string `json:"host"`
}

// upstreamHostVar is the request variable that UpstreamHost sets.
const upstreamHostVar = "ingress_upstream_host"

// CaddyModule returns the Caddy module information.
func (UpstreamHost) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.UpstreamHostModule,
		New: func() caddy.Module { return new(UpstreamHost) },
	}
}

// Provision checks the host.
func (h *UpstreamHost) Provision(caddy.Context) error {
	if !ingress.ValidUpstreamHost(h.Host) {
		return fmt.Errorf("host: %q is not a host name with an optional port", h.Host)
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *UpstreamHost) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	caddyhttp.SetVar(r.Context(), upstreamHostVar, h.Host)
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*UpstreamHost)(nil)
	_ caddyhttp.MiddlewareHandler = (*UpstreamHost)(nil)
)
