package caddyingress

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(CanaryMatcher{})
}

// CanaryMatcher matches the requests that go to a canary Ingress's
// backend, as ingress-nginx decides: by header, then cookie, then weight.
// The weight is read from the ingress app's current state on every
// request, so changing it rebuilds no route.
type CanaryMatcher struct {
	ingress.Canary

	app     *App
	pattern *regexp.Regexp
}

// CaddyModule returns the Caddy module information.
func (CanaryMatcher) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.matchers." + ingress.CanaryMatcherModule,
		New: func() caddy.Module { return new(CanaryMatcher) },
	}
}

// Provision finds the ingress app and compiles the header pattern.
func (m *CanaryMatcher) Provision(ctx caddy.Context) error {
	if m.Ingress == "" {
		return fmt.Errorf("ingress is required")
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	m.app = app.(*App)
	if m.HeaderPattern != "" {
		if m.pattern, err = regexp.Compile(m.HeaderPattern); err != nil {
			return fmt.Errorf("header_pattern: %v", err)
		}
	}
	return nil
}

// MatchWithError implements caddyhttp.RequestMatcherWithError.
func (m *CanaryMatcher) MatchWithError(r *http.Request) (bool, error) {
	s := m.app.servedFor(r.Context())
	if m.AffinityCookie != "" && m.Upstream != nil && s != nil && s.endpoints != nil {
		// A session that the canary's cookie ties to one of its
		// endpoints stays on the canary.
		if c, err := r.Cookie(m.AffinityCookie); err == nil {
			for _, dial := range s.endpoints.byKey[*m.Upstream] {
				if endpointHash(dial) == c.Value {
					return true, nil
				}
			}
		}
	}
	if m.Header != "" {
		if v := r.Header.Get(m.Header); v != "" {
			switch {
			case m.HeaderValue != "":
				if v == m.HeaderValue {
					return true, nil
				}
			case m.pattern != nil:
				if m.pattern.MatchString(v) {
					return true, nil
				}
			case v == "always":
				return true, nil
			case v == "never":
				return false, nil
			}
		}
	}
	if m.Cookie != "" {
		if c, err := r.Cookie(m.Cookie); err == nil {
			switch c.Value {
			case "always":
				return true, nil
			case "never":
				return false, nil
			}
		}
	}
	if s == nil {
		return false, nil
	}
	w, ok := s.canaryWeights[m.Ingress]
	if !ok || w.Weight <= 0 || w.Total <= 0 {
		return false, nil
	}
	return rand.IntN(w.Total) < w.Weight, nil
}

// Interface guards
var (
	_ caddy.Provisioner                 = (*CanaryMatcher)(nil)
	_ caddyhttp.RequestMatcherWithError = (*CanaryMatcher)(nil)
)
