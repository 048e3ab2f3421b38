package caddyingress

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/caddy-ingress/caddy-ingress/ingress"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// GlobalAuth is external authentication for every path whose Ingress has
// no auth-url of its own, as ingress-nginx's global-auth-* ConfigMap keys
// set it. The fields take the values of the annotations of the same names
// (auth-url, auth-method, ...).
type GlobalAuth struct {
	// URL is asked about every request, as auth-url. Required.
	URL string `json:"url,omitempty"`
	// Method of the auth request, as auth-method. Default GET.
	Method string `json:"method,omitempty"`
	// Signin is where a 401 redirects, as auth-signin.
	Signin string `json:"signin,omitempty"`
	// SigninRedirectParam is the query parameter of Signin with the
	// request's URL, as auth-signin-redirect-param. Default rd.
	SigninRedirectParam string `json:"signin_redirect_param,omitempty"`
	// ResponseHeaders are copied from the auth answer to the request
	// sent to the backend, as auth-response-headers (comma-separated).
	ResponseHeaders string `json:"response_headers,omitempty"`
	// RequestRedirect is the X-Auth-Request-Redirect of the auth
	// request, as auth-request-redirect.
	RequestRedirect string `json:"request_redirect,omitempty"`
	// CacheKey and CacheDuration cache answers, as auth-cache-key and
	// auth-cache-duration.
	CacheKey      string `json:"cache_key,omitempty"`
	CacheDuration string `json:"cache_duration,omitempty"`
	// AlwaysSetCookie returns the auth answer's Set-Cookie on every
	// response, as auth-always-set-cookie.
	AlwaysSetCookie bool `json:"always_set_cookie,omitempty"`
	// NoAuthLocations are Ingress path prefixes left out of global auth.
	// Default /.well-known/acme-challenge, as ingress-nginx's
	// no-auth-locations.
	NoAuthLocations []string `json:"no_auth_locations,omitempty"`
}

// dialGuard refuses connections to loopback, link-local, unspecified and
// multicast addresses and to this host's own, unless the app's
// auth_allow_networks lists them. It guards the clients that reach URLs
// which whoever may write an Ingress chooses (auth-url, mirror-target):
// they must not reach Caddy's admin endpoint or other services of the
// node or pod.
type dialGuard struct {
	// setting names what dials, in errors: "auth-url", "mirror-target".
	setting string
	allow   []netip.Prefix

	localOnce sync.Once
	local     map[netip.Addr]bool
}

// dialer returns a dialer that the guard controls.
func (g *dialGuard) dialer() *net.Dialer {
	g.localOnce.Do(func() {
		g.local = make(map[netip.Addr]bool)
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					g.local[p.Addr().Unmap()] = true
				}
			}
		}
	})
	return &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
}

// control refuses connections to addresses the guard keeps its setting
// from. It runs on the resolved address, so a name that resolves to one
// is refused too.
func (g *dialGuard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%s: address %q: %v", g.setting, address, err)
	}
	if reason := g.refused(ap.Addr().Unmap()); reason != "" {
		return fmt.Errorf("%s may not reach %s (%s); the app's auth_allow_networks can allow it", g.setting, address, reason)
	}
	return nil
}

// refused says why the guard refuses a, or "".
func (g *dialGuard) refused(a netip.Addr) string {
	for _, p := range g.allow {
		if p.Contains(a) {
			return ""
		}
	}
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case g.local[a]:
		return "an address of this host"
	}
	return ""
}

// authClient sends auth requests through the dial guard.
type authClient struct {
	dialGuard
	insecure bool

	once   sync.Once
	client *http.Client
}

func (c *authClient) get() *http.Client {
	c.once.Do(func() {
		c.setting = "auth-url"
		c.client = c.httpClient(&tls.Config{InsecureSkipVerify: c.insecure}, 60*time.Second) //nolint:gosec // the operator's choice, off by default
	})
	return c.client
}

// httpClient returns a client for URLs that Ingress authors choose: it
// dials through the guard, reuses connections, and does not follow
// redirects (the service's redirect is its answer).
func (g *dialGuard) httpClient(tlsConfig *tls.Config, responseHeaderTimeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           g.dialer().DialContext,
			TLSClientConfig:       tlsConfig,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: responseHeaderTimeout,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends req.
func (c *authClient) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	return c.get().Do(req.WithContext(ctx))
}

// provisionAuth checks the external auth options.
func (a *App) provisionAuth() error {
	for _, o := range []struct{ name, ref string }{{"add_headers", a.AddHeaders}, {"proxy_set_headers", a.ProxySetHeaders}} {
		if _, err := ingress.ParseConfigMapRef(o.ref, ""); o.ref != "" && err != nil {
			return fmt.Errorf("%s: %v", o.name, err)
		}
	}
	switch a.UnsupportedSnippets {
	case "", "deny", "drop":
	default:
		return fmt.Errorf("unsupported_snippets %q: want deny or drop", a.UnsupportedSnippets)
	}
	for _, s := range a.AuthAllowNetworks {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("auth_allow_networks: %q: %v", s, err)
		}
		a.authClient.allow = append(a.authClient.allow, p.Masked())
	}
	a.mirrors.allow = a.authClient.allow
	a.authClient.insecure = a.AuthTLSInsecureSkipVerify
	g := a.GlobalAuth
	if g == nil {
		return nil
	}
	if g.URL == "" {
		return fmt.Errorf("global_auth: url is required")
	}
	a.globalAuth = &ingress.ExternalAuth{URL: g.URL, Method: g.Method, Signin: g.Signin, SigninRedirectParam: g.SigninRedirectParam,
		ResponseHeaders: g.ResponseHeaders, RequestRedirect: g.RequestRedirect, CacheKey: g.CacheKey, CacheDuration: g.CacheDuration, AlwaysSetCookie: g.AlwaysSetCookie}
	if err := ingress.CheckGlobalAuth(a.globalAuth); err != nil {
		return fmt.Errorf("global_auth: %v", err)
	}
	if g.NoAuthLocations == nil {
		g.NoAuthLocations = []string{"/.well-known/acme-challenge"}
	}
	return nil
}
