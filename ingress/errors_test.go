package ingress

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestErrorAnnotations(t *testing.T) {
	pages := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "pages", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "web", Port: 8080}, {Name: "other", Port: 9090}}},
	}
	errs := func(codes string, backend *UpstreamKey, noIntercept bool) func(*ingressConfig) string {
		return func(c *ingressConfig) string {
			e := c.errors
			if e.codes != codes || e.noIntercept != noIntercept || (e.resolved == nil) != (backend == nil) || (backend != nil && *e.resolved != *backend) {
				return fmt.Sprintf("got %+v (backend %v)", e, e.resolved)
			}
			return ""
		}
	}
	runAnnotationCases(t, []annotationCase{
		{name: "codes sorted once", annotations: nginx("custom-http-errors", "503,404, 404"), check: errs("404,503", nil, false)},
		{name: "code out of range", annotations: nginx("custom-http-errors", "404,302"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "code not a number", annotations: nginx("custom-http-errors", "40x"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "default backend, first port", annotations: nginx("default-backend", "pages"), check: errs("", &UpstreamKey{Namespace: "default", Service: "pages", PortName: "web"}, false)},
		{name: "default backend missing", annotations: nginx("default-backend", "nope"), check: errs("", nil, false), wantProblem: "not found"},
		{name: "default backend invalid", annotations: nginx("default-backend", "default/pages"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "no intercept", annotations: nginx("disable-proxy-intercept-errors", "true"), check: errs("", nil, true)},
	}, pages)
}

func TestErrorsPlan(t *testing.T) {
	web := &UpstreamKey{Namespace: "default", Service: "web"}
	pages := &UpstreamKey{Namespace: "default", Service: "pages"}
	global := &UpstreamKey{Namespace: "system", Service: "fallback"}
	tests := []struct {
		name         string
		cfg          errorsConfig
		global       *UpstreamKey
		wantFallback string
		wantErrors   string
	}{
		{name: "annotation backend", cfg: errorsConfig{codes: "404", resolved: pages}, global: global, wantFallback: "pages", wantErrors: "pages"},
		{name: "global backend", cfg: errorsConfig{codes: "404"}, global: global, wantErrors: "fallback"},
		{name: "no backend", cfg: errorsConfig{codes: "404"}},
		{name: "not intercepted", cfg: errorsConfig{codes: "404", resolved: pages, noIntercept: true}, wantFallback: "pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p plan
			s := &site{ing: ingressNamed("default", "shop"), target: target{upstream: web, port: 80}, opts: &Options{}, defaultUpstream: tt.global}
			errorsFamily.plan(&ingressConfig{errors: tt.cfg}, s, &p)
			if got := p.proxy.fallback.upstream.Service; got != tt.wantFallback {
				t.Errorf("got fallback %q, want %q", got, tt.wantFallback)
			}
			if got := p.proxy.errors.backend.upstream.Service; got != tt.wantErrors {
				t.Errorf("got error backend %q, want %q", got, tt.wantErrors)
			}
			if tt.wantErrors != "" && p.proxy.errors.backend != (errorBackend{upstream: p.proxy.errors.backend.upstream, namespace: "default", ingress: "shop", service: "web", port: "80"}) {
				t.Errorf("got error backend %+v", p.proxy.errors.backend)
			}
		})
	}
}
