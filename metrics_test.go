package caddyingress

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestProxyMetricsPublished checks that the upstreams_healthy gauge of
// the reverse_proxy handlers compiled at run time is in the registry
// Caddy serves, and that a change to one Ingress, whose new handler
// resets the gauge, leaves the other Ingress's upstream in it.
func TestProxyMetricsPublished(t *testing.T) {
	app := runApp(t)
	service := func(name, clusterIP string) *corev1.Service {
		s := testService(name)
		s.Spec.ClusterIP = clusterIP
		return s
	}
	proxied := func(name, host, svc string, annotations ...string) *networkingv1.Ingress {
		ing := testIngress(name, host, testPath{"/", "Prefix", svc})
		ing.Annotations = map[string]string{"nginx.ingress.kubernetes.io/service-upstream": "true"}
		for i := 0; i+1 < len(annotations); i += 2 {
			ing.Annotations["nginx.ingress.kubernetes.io/"+annotations[i]] = annotations[i+1]
		}
		return ing
	}
	snap := &ingress.Snapshot{
		Ingresses: []*networkingv1.Ingress{proxied("a", "a.example.com", "svc-a"), proxied("b", "b.example.com", "svc-b")},
		Services:  []*corev1.Service{service("svc-a", "10.0.0.1"), service("svc-b", "10.0.0.2")},
	}
	healthy := func(when string) {
		t.Helper()
		fams, err := app.ctx.GetMetricsRegistry().Gather()
		if err != nil {
			t.Fatalf("%s: gathering metrics: %v", when, err)
		}
		got := map[string]float64{}
		for _, f := range fams {
			if f.GetName() != "caddy_reverse_proxy_upstreams_healthy" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "upstream" {
						got[l.GetValue()] = m.GetGauge().GetValue()
					}
				}
			}
		}
		for _, up := range []string{"10.0.0.1:80", "10.0.0.2:80"} {
			if v, ok := got[up]; !ok || v != 1 {
				t.Errorf("%s: caddy_reverse_proxy_upstreams_healthy{upstream=%q}: got %v (present %t), want 1", when, up, v, ok)
			}
		}
	}
	app.update(snap, nil)
	healthy("first routes")

	next := *snap
	next.Ingresses = []*networkingv1.Ingress{snap.Ingresses[0], proxied("b", "b.example.com", "svc-b", "upstream-vhost", "changed.example.com")}
	before := app.current().routes
	app.update(&next, nil)
	if app.current().routes == before {
		t.Fatal("got the same table after a change, want a new one")
	}
	healthy("after a change to Ingress b")
}
