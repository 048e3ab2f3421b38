package caddyingress

import (
	"context"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// served is what requests and handshakes read: the routes, certificates
// and backend Secrets of one translation, with the endpoints current when
// it was stored. It is immutable and swapped as a whole, so that a
// request never meets the routes of one translation and the Secrets of
// another. An endpoint change stores a copy with new endpoints only.
type served struct {
	// routes is nil before the first snapshot is applied.
	routes    *table
	endpoints *endpointIndex
	certs     *secrets.Store
	// backendSecrets are the proxy-ssl-secret contents, by namespace/name.
	backendSecrets map[string]*ingress.BackendSecret
	// canaryWeights are the weights of canary Ingresses, by
	// namespace/name.
	canaryWeights map[string]ingress.CanaryWeight
	// authSecrets are the users of auth-secrets, by Secret.
	authSecrets map[string]*ingress.AuthSecret
}

// servedVar is the request variable (caddyhttp.SetVar) under which the
// ingress handler leaves the served state a request was dispatched with,
// for the upstream source and the transport to read.
const servedVar = "ingress.served"

// current returns the state served now; never nil once the app started.
func (a *App) current() *served {
	return a.state.Load()
}

// acquire returns the current state with its route table held until
// s.routes.release; nil before the first snapshot is applied.
func (a *App) acquire() *served {
	for {
		s := a.state.Load()
		if s == nil || s.routes == nil {
			return nil
		}
		s.routes.acquire()
		if now := a.state.Load(); now != nil && now.routes == s.routes {
			return s
		}
		s.routes.release()
	}
}

// servedFor returns the state that the request behind ctx was dispatched
// with, else the current one.
func (a *App) servedFor(ctx context.Context) *served {
	if ctx != nil {
		if s, ok := caddyhttp.GetVar(ctx, servedVar).(*served); ok && s != nil {
			return s
		}
	}
	return a.current()
}

// backendSecret returns the contents of a Secret named by
// proxy-ssl-secret in s, or nil when no route uses it (any more).
func (s *served) backendSecret(key string) *ingress.BackendSecret {
	if s == nil {
		return nil
	}
	return s.backendSecrets[key]
}
