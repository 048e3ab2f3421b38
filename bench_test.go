package caddyingress

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// BenchmarkDispatch serves requests through the handler with route tables
// of 10 and 10,000 hosts; the cost per request should not depend on it.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			snap := &ingress.Snapshot{}
			for i := range n {
				// Names of one length at every size, so that only the
				// number of hosts differs, not the bytes hashed.
				ing := testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%05d.example.com", i),
					testPath{"/", "Prefix", "root"},
					testPath{"/api/v1", "Prefix", "api"},
					testPath{"/healthz", "Exact", "health"},
				)
				snap.Ingresses = append(snap.Ingresses, ing)
			}
			for _, name := range []string{"root", "api", "health"} {
				snap.Services = append(snap.Services, testService(name))
			}
			h := benchHandler(b, snap)
			reqs := make([]*http.Request, 64)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", fmt.Sprintf("http://app%05d.example.com/api/v1/users/42", (i*7919)%n), nil)
			}
			w := httptest.NewRecorder()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if err := h.ServeHTTP(w, reqs[i%len(reqs)], nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// benchHandler is an ingress handler serving a translation of snap, every
// path's routes answering at once.
func benchHandler(b *testing.B, snap *ingress.Snapshot) *Handler {
	b.Helper()
	res := ingress.Translate(snap, ingress.Options{IngressClass: "caddy", Now: time.Now()})
	if len(res.Problems) > 0 {
		b.Fatal(res.Problems[0])
	}
	app := new(App)
	app.setTable(res, okHandler{})
	return &Handler{app: app}
}

type okHandler struct{}

func (okHandler) ServeHTTP(http.ResponseWriter, *http.Request) error { return nil }

// BenchmarkPathDispatch serves requests on a host with 50 prefix paths
// (map lookups) and on one with 50 regex paths (use-regex: tried longest
// first), each request matching a path in the middle of the list.
func BenchmarkPathDispatch(b *testing.B) {
	for _, kind := range []string{"prefix", "regex"} {
		b.Run("paths=50/"+kind, func(b *testing.B) {
			var paths []testPath
			for i := range 50 {
				p := fmt.Sprintf("/service%02d/api", i)
				if kind == "regex" {
					p = fmt.Sprintf("/service%02d/api/v[0-9]+", i)
				}
				paths = append(paths, testPath{p, "ImplementationSpecific", "svc"})
			}
			ing := testIngress("paths", "paths.example.com", paths...)
			if kind == "regex" {
				ing.Annotations = map[string]string{"nginx.ingress.kubernetes.io/use-regex": "true"}
			}
			snap := &ingress.Snapshot{Ingresses: []*networkingv1.Ingress{ing}, Services: []*corev1.Service{testService("svc")}}
			h := benchHandler(b, snap)
			r := httptest.NewRequest("GET", "http://paths.example.com/service25/api/v2/users/42", nil)
			if hd := h.app.current().routes.lookup("paths.example.com", r.URL.Path); hd == nil {
				b.Fatal("no path matches")
			}
			w := httptest.NewRecorder()
			for b.Loop() {
				if err := h.ServeHTTP(w, r, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
