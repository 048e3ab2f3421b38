package caddyingress

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(ResponseHeaders{})
}

// ResponseHeaders rewrites headers of the backend's response as nginx's
// proxy_redirect, proxy_cookie_domain and proxy_cookie_path do. Values
// are compared and substituted as text; nothing is expanded as a
// placeholder.
type ResponseHeaders struct {
	// RedirectFrom is compared, case-insensitively, with the start of
	// the Location header and of the URL in the Refresh header; it is
	// replaced by RedirectTo.
	RedirectFrom string `json:"redirect_from,omitempty"`
	RedirectTo   string `json:"redirect_to,omitempty"`
	// CookieDomainFrom is compared, case-insensitively and without a
	// leading dot, with the Domain attribute of Set-Cookie headers; an
	// equal Domain becomes CookieDomainTo.
	CookieDomainFrom string `json:"cookie_domain_from,omitempty"`
	CookieDomainTo   string `json:"cookie_domain_to,omitempty"`
	// CookiePathFrom is compared, case-insensitively, with the start of
	// the Path attribute of Set-Cookie headers; it is replaced by
	// CookiePathTo.
	CookiePathFrom string `json:"cookie_path_from,omitempty"`
	CookiePathTo   string `json:"cookie_path_to,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (ResponseHeaders) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.ResponseHeadersModule,
		New: func() caddy.Module { return new(ResponseHeaders) },
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *ResponseHeaders) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(onFinalHeader(w, func(hdr http.Header, _ int) { h.rewrite(hdr) }), r)
}

func (h *ResponseHeaders) rewrite(hdr http.Header) {
	if h.RedirectFrom != "" {
		if loc := hdr.Get("Location"); loc != "" {
			hdr.Set("Location", replacePrefixFold(loc, h.RedirectFrom, h.RedirectTo))
		}
		if refresh := hdr.Get("Refresh"); refresh != "" {
			if i := strings.Index(strings.ToLower(refresh), "url="); i >= 0 {
				hdr.Set("Refresh", refresh[:i+4]+replacePrefixFold(refresh[i+4:], h.RedirectFrom, h.RedirectTo))
			}
		}
	}
	if h.CookieDomainFrom == "" && h.CookiePathFrom == "" {
		return
	}
	cookies := hdr.Values("Set-Cookie")
	for i, c := range cookies {
		cookies[i] = h.rewriteCookie(c)
	}
}

// rewriteCookie rewrites the Domain and Path attributes of one
// Set-Cookie value, keeping everything else as it is.
func (h *ResponseHeaders) rewriteCookie(c string) string {
	parts := strings.Split(c, ";")
	for i, part := range parts[1:] {
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "domain":
			if h.CookieDomainFrom != "" && strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(value), "."), strings.TrimPrefix(h.CookieDomainFrom, ".")) {
				parts[i+1] = name + "=" + h.CookieDomainTo
			}
		case "path":
			if h.CookiePathFrom != "" {
				parts[i+1] = name + "=" + replacePrefixFold(strings.TrimSpace(value), h.CookiePathFrom, h.CookiePathTo)
			}
		}
	}
	return strings.Join(parts, ";")
}

// replacePrefixFold replaces from at the start of s, compared
// case-insensitively, by to.
func replacePrefixFold(s, from, to string) string {
	if len(s) >= len(from) && strings.EqualFold(s[:len(from)], from) {
		return to + s[len(from):]
	}
	return s
}

// Interface guards
var _ caddyhttp.MiddlewareHandler = (*ResponseHeaders)(nil)
