package caddyingress

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(SatisfyAny{})
}

// accessCheck is one check of who may reach a backend: source ranges,
// basic or digest auth, external auth. On its own each is a handler
// (ingress-nginx's satisfy all: every check in turn); SatisfyAny runs
// several and lets a request through when one of them does.
type accessCheck interface {
	// check decides r. When r may pass it returns the response writer
	// and request to go on with (changed as passing asks, such as
	// without credentials) and a nil refusal. Otherwise it returns the
	// refusal and leaves w alone.
	check(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *refusal)
}

// refusal is how a check answers a request it does not let through.
type refusal struct {
	// status is the response status: 401, 403, 500, or a redirect.
	status int
	// header is set on the response.
	header http.Header
	// err is logged.
	err error
}

// respond answers w with f: a redirect is written at once, an error is
// returned to Caddy's error handling.
func (f *refusal) respond(w http.ResponseWriter) error {
	for k, v := range f.header {
		w.Header()[k] = v
	}
	if f.status < 400 {
		w.WriteHeader(f.status)
		return nil
	}
	return caddyhttp.Error(f.status, f.err)
}

// serveChecked is the ServeHTTP of a single check.
func serveChecked(c accessCheck, w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	pw, pr, f := c.check(w, r)
	if f != nil {
		return f.respond(w)
	}
	return next.ServeHTTP(pw, pr)
}

// SatisfyAny lets a request through when one of its checks does
// (ingress-nginx's satisfy: any), trying them in order. When none does,
// the client gets the refusal of the first check that asks for
// credentials (401, or its redirect to a sign-in page), else 403; a check
// that fails (500) ends the request at once, as nginx does.
type SatisfyAny struct {
	// Checks are access-check handlers: ingress_access,
	// ingress_basic_auth, ingress_digest_auth, ingress_auth_request.
	ChecksRaw []json.RawMessage `json:"checks,omitempty" caddy:"namespace=http.handlers inline_key=handler"`

	checks []accessCheck
}

// CaddyModule returns the Caddy module information.
func (SatisfyAny) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.SatisfyAnyModule,
		New: func() caddy.Module { return new(SatisfyAny) },
	}
}

// Provision loads the checks.
func (h *SatisfyAny) Provision(ctx caddy.Context) error {
	mods, err := ctx.LoadModule(h, "ChecksRaw")
	if err != nil {
		return fmt.Errorf("loading checks: %v", err)
	}
	for i, m := range mods.([]any) {
		c, ok := m.(accessCheck)
		if !ok {
			return fmt.Errorf("checks[%d]: %T is not an access check", i, m)
		}
		h.checks = append(h.checks, c)
	}
	if len(h.checks) == 0 {
		return fmt.Errorf("no checks")
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *SatisfyAny) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	var first *refusal
	for _, c := range h.checks {
		pw, pr, f := c.check(w, r)
		if f == nil {
			return next.ServeHTTP(pw, pr)
		}
		if f.status >= 500 {
			return f.respond(w)
		}
		if first == nil || first.status == http.StatusForbidden && f.status != http.StatusForbidden {
			first = f
		}
	}
	return first.respond(w)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*SatisfyAny)(nil)
	_ caddyhttp.MiddlewareHandler = (*SatisfyAny)(nil)
)
