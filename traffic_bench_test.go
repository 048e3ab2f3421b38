package caddyingress

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// BenchmarkTrafficAnnotations serves requests through the real compiled
// routes to a backend on loopback: a plain path, one with a body limit,
// timeouts and cookie affinity, one with a canary split (weight 50), and
// one with a rate limit.
func BenchmarkTrafficAnnotations(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	slice := func(svc string) *discoveryv1.EndpointSlice { return loopbackSlice(svc, port) }
	annotated := func(name, host string, ann map[string]string) *networkingv1.Ingress {
		ing := testIngress(name, host, testPath{"/", "Prefix", "web"})
		ing.Annotations = ann
		return ing
	}
	const n = "nginx.ingress.kubernetes.io/"
	canary := testIngress("canary", "canary.example.com", testPath{"/", "Prefix", "web-canary"})
	canary.Annotations = map[string]string{n + "canary": "true", n + "canary-weight": "50"}
	snap := &ingress.Snapshot{
		Ingresses: []*networkingv1.Ingress{
			annotated("plain", "plain.example.com", nil),
			annotated("tuned", "tuned.example.com", map[string]string{n + "proxy-body-size": "8m", n + "proxy-read-timeout": "60",
				n + "proxy-send-timeout": "60", n + "affinity": "cookie"}),
			annotated("main", "canary.example.com", nil),
			canary,
			annotated("limited", "limited.example.com", map[string]string{n + "limit-rps": "1000000"}),
		},
		Services:       []*corev1.Service{testService("web"), testService("web-canary")},
		EndpointSlices: []*discoveryv1.EndpointSlice{slice("web"), slice("web-canary")},
	}
	app := runApp(b)
	app.update(snap, nil)
	h := &Handler{app: app}
	for _, host := range []string{"plain", "tuned", "canary", "limited"} {
		b.Run(host, func(b *testing.B) {
			cookie := ""
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "http://"+host+".example.com/", nil)
				if cookie != "" {
					r.Header.Set("Cookie", cookie)
				}
				r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, new(caddyhttp.Server))
				if err := h.ServeHTTP(w, r, nil); err != nil || w.Code != 200 {
					b.Fatalf("got %d, %v", w.Code, err)
				}
				if c := w.Header().Get("Set-Cookie"); c != "" && cookie == "" {
					cookie = c[:len("INGRESSCOOKIE=")+32]
				}
			}
		})
	}
	// Load from all CPUs at once, as a load generator would, through
	// the rate limit.
	b.Run("limited/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w := httptest.NewRecorder()
				r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://limited.example.com/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
				if err := h.ServeHTTP(w, r, nil); err != nil || w.Code != 200 {
					b.Errorf("got %d, %v", w.Code, err)
					return
				}
			}
		})
	})
}
