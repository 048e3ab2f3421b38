package caddyingress

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func TestCanaryMatcher(t *testing.T) {
	app := new(App)
	weight := 0
	app.setServed(func(s *served) {
		s.canaryWeights = map[string]ingress.CanaryWeight{"default/canary": {Ingress: "default/canary", Weight: weight, Total: 100}}
	})
	m := &CanaryMatcher{Canary: ingress.Canary{Ingress: "default/canary", Header: "X-Canary", Cookie: "canary"}, app: app}
	request := func(header, cookie string) *http.Request {
		r := httptest.NewRequest("GET", "http://a.example.com/", nil)
		if header != "" {
			r.Header.Set("X-Canary", header)
		}
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "canary", Value: cookie})
		}
		ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{})
		r = r.WithContext(ctx)
		caddyhttp.SetVar(ctx, servedVar, app.current())
		return r
	}
	tests := []struct {
		name, header, cookie string
		want                 bool
	}{
		{"header always", "always", "", true},
		{"header never wins over the cookie", "never", "always", false},
		{"other header values go on to the cookie", "maybe", "always", true},
		{"cookie never", "", "never", false},
		{"weight 0", "", "", false},
	}
	for _, tt := range tests {
		if got, _ := m.MatchWithError(request(tt.header, tt.cookie)); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	m.HeaderValue = "v2"
	if got, _ := m.MatchWithError(request("v2", "")); !got {
		t.Error("header value: got false, want true")
	}
	if got, _ := m.MatchWithError(request("always", "")); got {
		t.Error("always with a header value set: got true, want false")
	}
	m.HeaderValue = ""
	app.setServed(func(s *served) {
		s.canaryWeights = map[string]ingress.CanaryWeight{"default/canary": {Ingress: "default/canary", Weight: 100, Total: 100}}
	})
	if got, _ := m.MatchWithError(request("", "")); !got {
		t.Error("weight 100: got false, want true")
	}
}

// TestCanaryWeightNoRebuild: a new canary weight reaches the served state
// without a new route table.
func TestCanaryWeightNoRebuild(t *testing.T) {
	app := runApp(t)
	main := testIngress("main", "a.example.com", testPath{"/", "Prefix", "web"})
	canary := testIngress("canary", "a.example.com", testPath{"/", "Prefix", "web-canary"})
	snap := func(weight string) *ingress.Snapshot {
		c := canary.DeepCopy()
		c.Annotations = map[string]string{"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": weight}
		return &ingress.Snapshot{Ingresses: []*networkingv1.Ingress{main, c}, Services: []*corev1.Service{testService("web"), testService("web-canary")}}
	}
	app.update(snap("10"), nil)
	before := app.current()
	app.update(snap("90"), nil)
	after := app.current()
	if after.routes != before.routes {
		t.Error("a new canary weight built a new route table")
	}
	if got := after.canaryWeights["default/canary"].Weight; got != 90 {
		t.Errorf("got weight %d, want 90", got)
	}
}

// TestCanaryStickySession: a session cookie that names an endpoint of the
// canary keeps the request on the canary at weight 0; one for another
// endpoint does not.
func TestCanaryStickySession(t *testing.T) {
	app := new(App)
	key := ingress.UpstreamKey{Namespace: "default", Service: "web-canary"}
	app.setServed(func(s *served) {
		s.endpoints = newEndpointIndex(map[ingress.UpstreamKey][]string{key: {"10.0.0.9:80"}})
	})
	m := &CanaryMatcher{Canary: ingress.Canary{Ingress: "default/canary", AffinityCookie: "INGRESSCOOKIE", Upstream: &key}, app: app}
	for value, want := range map[string]bool{endpointHash("10.0.0.9:80"): true, endpointHash("10.0.0.1:80"): false} {
		r := httptest.NewRequest("GET", "http://a.example.com/", nil)
		r.AddCookie(&http.Cookie{Name: "INGRESSCOOKIE", Value: value})
		ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{})
		r = r.WithContext(ctx)
		caddyhttp.SetVar(ctx, servedVar, app.current())
		if got, _ := m.MatchWithError(r); got != want {
			t.Errorf("cookie %s: got %v, want %v", value, got, want)
		}
	}
}
