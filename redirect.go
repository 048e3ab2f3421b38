package caddyingress

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Redirect{})
}

// Redirect answers requests with the redirects of an Ingress
// (ssl-redirect, permanent-redirect, temporal-redirect,
// from-to-www-redirect) and passes the others on. The Location is built
// in Go from the configured values and the request; nothing in it is
// expanded as a placeholder.
type Redirect struct {
	ingress.Redirect
}

// CaddyModule returns the Caddy module information.
func (Redirect) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.RedirectModule,
		New: func() caddy.Module { return new(Redirect) },
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Redirect) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if location, code, ok := redirectFor(&h.Redirect, r); ok {
		return sendRedirect(w, location, code)
	}
	return next.ServeHTTP(w, r)
}

func sendRedirect(w http.ResponseWriter, location string, code int) error {
	w.Header().Set("Location", location)
	w.WriteHeader(code)
	return nil
}

// redirectFor returns where rd redirects r, if it does.
func redirectFor(rd *ingress.Redirect, r *http.Request) (location string, code int, ok bool) {
	switch {
	case rd.Host != "":
		port := ""
		if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			if _, p, err := net.SplitHostPort(addr.String()); err == nil {
				port = ":" + p
			}
		}
		return requestScheme(r) + "://" + rd.Host + port + trimOneSlash(r.URL.RequestURI()), http.StatusPermanentRedirect, true
	case rd.To != "":
		if strings.HasPrefix(rd.To, "/") && !rd.Relative {
			return requestScheme(r) + "://" + r.Host + rd.To, rd.Code, true
		}
		return rd.To, rd.Code, true
	case rd.HTTPS:
		if requestScheme(r) == "https" || strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			return "", 0, false
		}
		host := forwardedHost(r)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		} else {
			host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if rd.HTTPSPort != 0 && rd.HTTPSPort != 443 {
			host += ":" + strconv.Itoa(rd.HTTPSPort)
		}
		uri := r.URL.RequestURI()
		if !rd.PreserveTrailingSlash {
			uri = trimOneSlash(uri)
		}
		return "https://" + host + uri, http.StatusPermanentRedirect, true
	}
	return "", 0, false
}

// trimOneSlash drops one trailing slash of a request URI (its query
// included), as ingress-nginx does in its redirects.
func trimOneSlash(uri string) string {
	return strings.TrimSuffix(uri, "/")
}

// fromTrustedProxy reports whether Caddy counts r's peer among its
// trusted_proxies.
func fromTrustedProxy(r *http.Request) bool {
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	return trusted
}

// requestScheme is "https" for requests over TLS, or that a trusted proxy
// says came over HTTPS (X-Forwarded-Proto), else "http".
func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if fromTrustedProxy(r) && strings.EqualFold(strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Proto"))), "https") {
		return "https"
	}
	return "http"
}

// forwardedHost is the host that a trusted proxy says the client asked
// for (the first X-Forwarded-Host), else the request's Host.
func forwardedHost(r *http.Request) string {
	if fromTrustedProxy(r) {
		if h := strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Host"))); h != "" && validHost(h) {
			return h
		}
	}
	return r.Host
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return first
}

// validHost reports whether h is made of the characters a Host header
// may hold: it is written into a Location header.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// Interface guards
var _ caddyhttp.MiddlewareHandler = (*Redirect)(nil)
