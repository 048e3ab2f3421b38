package caddyingress

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Rewrite{})
}

// Rewrite replaces the path of a request as ingress-nginx's
// rewrite-target does: when Pattern matches the path (case-insensitively,
// from its start), the whole path becomes Target with $1…$9 replaced by
// the pattern's groups; the query string is kept. Nothing is expanded as
// a placeholder.
type Rewrite struct {
	// Pattern is the Ingress path, a regular expression (RE2).
	Pattern string `json:"pattern"`
	// Target is the new path, with $1…$9 for the groups of Pattern.
	Target string `json:"target"`
	// ForwardedPrefix, when set, is sent as X-Forwarded-Prefix with a
	// rewritten request, replacing the client's.
	ForwardedPrefix string `json:"forwarded_prefix,omitempty"`

	re       *regexp.Regexp
	template string
}

// CaddyModule returns the Caddy module information.
func (Rewrite) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.RewriteModule,
		New: func() caddy.Module { return new(Rewrite) },
	}
}

// captureRef is a $ reference in a target.
var captureRef = regexp.MustCompile(`\$([1-9])`)

// Provision compiles the pattern.
func (h *Rewrite) Provision(caddy.Context) error {
	re, err := ingress.CompilePathRegex(h.Pattern)
	if err != nil {
		return fmt.Errorf("pattern %q: %v", h.Pattern, err)
	}
	h.re = re
	// Go's Expand reads "$1a" as the group named "1a"; nginx reads $1.
	h.template = captureRef.ReplaceAllString(h.Target, "$${$1}")
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Rewrite) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	p := requestPath(r.URL.Path)
	if m := h.re.FindStringSubmatchIndex(p); m != nil {
		path := string(h.re.ExpandString(nil, h.template, p, m))
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r.URL.Path, r.URL.RawPath = path, ""
		if h.ForwardedPrefix != "" {
			r.Header.Set("X-Forwarded-Prefix", h.ForwardedPrefix)
		}
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Rewrite)(nil)
	_ caddyhttp.MiddlewareHandler = (*Rewrite)(nil)
)
