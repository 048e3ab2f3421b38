package caddyingress

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// realIP holds the client-address settings of the app, made in Provision.
type realIP struct {
	// trust says X-Forwarded-Proto, -Host and -Port of proxies in
	// networks count (use_forwarded_headers); header, when set, is where
	// the client's address is read from (use_forwarded_headers or
	// enable_real_ip).
	trust    bool
	header   string
	networks []netip.Prefix
}

// provisionRealIP checks the client-address options.
func (a *App) provisionRealIP() error {
	if !a.UseForwardedHeaders && !a.EnableRealIP {
		if len(a.ProxyRealIPCIDR) > 0 || a.ForwardedForHeader != "" {
			return fmt.Errorf("proxy_real_ip_cidr and forwarded_for_header need use_forwarded_headers or enable_real_ip")
		}
		return nil
	}
	r := realIP{trust: a.UseForwardedHeaders, header: "X-Forwarded-For"}
	if a.ForwardedForHeader != "" {
		if strings.ContainsAny(a.ForwardedForHeader, " \t:{}") {
			return fmt.Errorf("forwarded_for_header %q: not a header name", a.ForwardedForHeader)
		}
		r.header = http.CanonicalHeaderKey(a.ForwardedForHeader)
	}
	cidrs := a.ProxyRealIPCIDR
	if len(cidrs) == 0 {
		cidrs = []string{"0.0.0.0/0", "::/0"}
	}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			if addr, aerr := netip.ParseAddr(c); aerr == nil {
				p = netip.PrefixFrom(addr, addr.BitLen())
			} else {
				return fmt.Errorf("proxy_real_ip_cidr %q: %v", c, err)
			}
		}
		r.networks = append(r.networks, p.Masked())
	}
	a.realIP = r
	return nil
}

// forwardedForHeader is the header that says the client's address, as a
// proxy in front sends it: forwarded_for_header, or X-Forwarded-For.
func (r *realIP) forwardedForHeader() string {
	if r.header != "" {
		return r.header
	}
	return "X-Forwarded-For"
}

func (r *realIP) trusted(a netip.Addr) bool {
	return containsAddr(r.networks, a.Unmap())
}

// apply sets the request's client address (Caddy's client_ip variable)
// from the forwarded-for header of a trusted peer, the rightmost address
// there that is not itself trusted (nginx's real_ip_recursive), and marks
// the request as from a trusted proxy when use_forwarded_headers is on.
func (r *realIP) apply(req *http.Request) {
	if r.header == "" {
		return
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !r.trusted(peer) {
		return
	}
	if r.trust {
		caddyhttp.SetVar(req.Context(), caddyhttp.TrustedProxyVarKey, true)
	}
	values := strings.Split(strings.Join(req.Header.Values(r.header), ","), ",")
	for i := len(values) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(values[i]))
		if err != nil {
			return
		}
		if !r.trusted(addr) || i == 0 {
			caddyhttp.SetVar(req.Context(), caddyhttp.ClientIPVarKey, addr.Unmap().String())
			return
		}
	}
}
