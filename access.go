package caddyingress

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Access{})
}

// Access answers 403 to clients in Deny, or outside Allow when it is not
// empty, as ingress-nginx's denylist-source-range and
// whitelist-source-range do. The client is Caddy's client address (after
// trusted_proxies and the app's use_forwarded_headers); one that cannot be
// read is refused.
type Access struct {
	// Allow are the networks that may pass; empty lets every client
	// that Deny does not refuse.
	Allow []string `json:"allow,omitempty"`
	// Deny are the networks refused, checked first.
	Deny []string `json:"deny,omitempty"`

	allow, deny []netip.Prefix
}

// CaddyModule returns the Caddy module information.
func (Access) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.AccessModule,
		New: func() caddy.Module { return new(Access) },
	}
}

// Provision parses the networks.
func (h *Access) Provision(caddy.Context) error {
	for _, l := range []struct {
		in  []string
		out *[]netip.Prefix
	}{{h.Allow, &h.allow}, {h.Deny, &h.deny}} {
		for _, s := range l.in {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("network %q: %v", s, err)
			}
			*l.out = append(*l.out, p)
		}
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Access) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return serveChecked(h, w, r, next)
}

func (h *Access) check(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *refusal) {
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, nil, &refusal{status: http.StatusForbidden, err: fmt.Errorf("client address %q cannot be checked", ip)}
	}
	addr = addr.Unmap()
	if containsAddr(h.deny, addr) || len(h.allow) > 0 && !containsAddr(h.allow, addr) {
		return nil, nil, &refusal{status: http.StatusForbidden, err: fmt.Errorf("client %s is not allowed", addr)}
	}
	return w, r, nil
}

func containsAddr(nets []netip.Prefix, a netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Access)(nil)
	_ caddyhttp.MiddlewareHandler = (*Access)(nil)
	_ accessCheck                 = (*Access)(nil)
)
