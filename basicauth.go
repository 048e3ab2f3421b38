package caddyingress

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(BasicAuth{})
}

// BasicAuth asks for a user and password (HTTP basic authentication)
// checked against the htpasswd users of a Secret, read from the ingress
// app's current state on every request, so that a change of users needs
// no new routes. A request that passes goes on without its Authorization
// header, as ingress-nginx sends it.
type BasicAuth struct {
	// Secret names the users, as Result.AuthSecrets does.
	Secret string `json:"secret"`
	// Realm is the realm of WWW-Authenticate.
	Realm string `json:"realm,omitempty"`

	app *App
}

// CaddyModule returns the Caddy module information.
func (BasicAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.BasicAuthModule,
		New: func() caddy.Module { return new(BasicAuth) },
	}
}

// Provision finds the ingress app.
func (h *BasicAuth) Provision(ctx caddy.Context) error {
	if h.Secret == "" {
		return fmt.Errorf("secret is required")
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *BasicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return serveChecked(h, w, r, next)
}

func (h *BasicAuth) check(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *refusal) {
	users, f := authUsers(h.app, r, h.Secret)
	if f != nil {
		return nil, nil, f
	}
	if user, pass, ok := r.BasicAuth(); ok && users.Users.Match(user, pass) {
		r.Header.Del("Authorization")
		return w, r, nil
	}
	return nil, nil, &refusal{status: http.StatusUnauthorized, header: http.Header{"Www-Authenticate": {`Basic realm="` + h.Realm + `"`}},
		err: fmt.Errorf("%s: no valid user and password", h.Secret)}
}

// authUsers returns the users of secret in the state serving r.
func authUsers(app *App, r *http.Request, secret string) (*ingress.AuthSecret, *refusal) {
	if s := app.servedFor(r.Context()); s != nil {
		if users := s.authSecrets[secret]; users != nil {
			return users, nil
		}
	}
	// Translation serves these routes only with their Secret.
	return nil, &refusal{status: http.StatusServiceUnavailable, err: fmt.Errorf("users of %s are not loaded", secret)}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*BasicAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*BasicAuth)(nil)
	_ accessCheck                 = (*BasicAuth)(nil)
)
