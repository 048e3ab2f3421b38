package caddyingress

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(CORS{})
}

// CORS answers CORS preflights and sets the CORS headers of responses,
// as ingress-nginx's enable-cors does: a preflight (OPTIONS) from an
// allowed origin gets 204 without reaching the backend; other requests
// from one go on and their responses carry the headers, replacing the
// backend's; requests from other origins are passed on untouched. The
// headers are set before later handlers run, so that a 401 or 403 carries
// them too.
type CORS struct {
	// Origins are the allowed origins, lowercase, or ["*"] for all. An
	// origin may have a "*." first label standing for one label.
	Origins []string `json:"origins"`
	// Methods, Headers, Expose, Credentials and MaxAge are the values of
	// the Access-Control-Allow-Methods, -Allow-Headers, -Expose-Headers,
	// -Allow-Credentials and -Max-Age headers.
	Methods     string `json:"methods,omitempty"`
	Headers     string `json:"headers,omitempty"`
	Expose      string `json:"expose,omitempty"`
	Credentials bool   `json:"credentials,omitempty"`
	MaxAge      int    `json:"max_age,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (CORS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.CORSModule,
		New: func() caddy.Module { return new(CORS) },
	}
}

// allowed returns the Access-Control-Allow-Origin for a request's
// Origin, or "".
func (h *CORS) allowed(origin string) string {
	if len(h.Origins) == 1 && h.Origins[0] == "*" {
		return "*"
	}
	if origin == "" {
		return ""
	}
	o := strings.ToLower(origin)
	for _, want := range h.Origins {
		if o == want {
			return origin
		}
		scheme, rest, ok := strings.Cut(want, "://*.")
		if !ok {
			continue
		}
		// One label in place of "*".
		if p, ok := strings.CutPrefix(o, scheme+"://"); ok {
			if label, tail, ok := strings.Cut(p, "."); ok && label != "" && tail == rest {
				return origin
			}
		}
	}
	return ""
}

func (h *CORS) set(hdr http.Header, origin string) {
	hdr.Set("Access-Control-Allow-Origin", origin)
	if h.Credentials {
		hdr.Set("Access-Control-Allow-Credentials", "true")
	} else {
		hdr.Del("Access-Control-Allow-Credentials")
	}
	hdr.Set("Access-Control-Allow-Methods", h.Methods)
	hdr.Set("Access-Control-Allow-Headers", h.Headers)
	hdr.Set("Access-Control-Max-Age", strconv.Itoa(h.MaxAge))
	if h.Expose != "" {
		hdr.Set("Access-Control-Expose-Headers", h.Expose)
	} else {
		hdr.Del("Access-Control-Expose-Headers")
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *CORS) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	origin := h.allowed(r.Header.Get("Origin"))
	if origin == "" {
		return next.ServeHTTP(w, r)
	}
	h.set(w.Header(), origin)
	if r.Method == http.MethodOptions {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// Set again once the backend's headers are in, replacing its own.
	return next.ServeHTTP(onFinalHeader(w, func(hdr http.Header, _ int) { h.set(hdr, origin) }), r)
}

// Interface guards
var _ caddyhttp.MiddlewareHandler = (*CORS)(nil)
