package caddyingress

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// BenchmarkProxy proxies requests to one backend on loopback, side by
// side: through a single-route Caddy reverse_proxy (the baseline), and
// through the ingress handler with 10 and 10,000 hosts, each its own
// Ingress, to one Service.
// processCPU returns the user and system CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	app := runApp(b)
	// serve sends GET /api for the hosts in turn; the URLs are made
	// beforehand, so that both sides do the same work besides serving.
	serve := func(b *testing.B, h caddyhttp.Handler, hosts []string) {
		urls := make([]string, len(hosts))
		for i, host := range hosts {
			urls[i] = "http://" + host + "/api"
		}
		i := 0
		cpu := processCPU()
		for b.Loop() {
			w := httptest.NewRecorder()
			r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", urls[i%len(urls)], nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
			if err := h.ServeHTTP(w, r); err != nil || w.Code != 200 {
				b.Fatalf("got %d, %v", w.Code, err)
			}
			i++
		}
		// CPU per request, of the whole process (client, proxy and
		// backend alike): steadier than the time per request on a
		// machine shared with other work.
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}

	// caddyRoutes serves the requests through Caddy routes made from
	// JSON, as a Caddyfile site with that config would.
	caddyRoutes := func(b *testing.B, raw string) {
		var routes caddyhttp.RouteList
		if err := json.Unmarshal([]byte(raw), &routes); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := caddy.NewContext(app.routesParent())
		defer cancel()
		if err := routes.Provision(ctx); err != nil {
			b.Fatal(err)
		}
		serve(b, routes.Compile(notFound), []string{"plain.example.com"})
	}
	b.Run("caddy-reverse_proxy", func(b *testing.B) {
		caddyRoutes(b, fmt.Sprintf(`[{"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:%d"}]}]}]`, port))
	})
	// The same with the request headers that ingress-nginx sends and the
	// ingress handler sends too (X-Request-ID, X-Real-IP, X-Scheme,
	// X-Forwarded-Scheme, X-Forwarded-For as the client's address), set
	// the way a Caddyfile would: what the ingress path costs Caddy done
	// by hand.
	b.Run("caddy-reverse_proxy+nginx-headers", func(b *testing.B) {
		caddyRoutes(b, fmt.Sprintf(`[{"handle":[
			{"handler":"headers","request":{"set":{"X-Request-Id":["{http.request.uuid}"]}}},
			{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:%d"}],"headers":{"request":{
				"set":{"X-Real-Ip":["{http.vars.client_ip}"],"X-Forwarded-For":["{http.vars.client_ip}"],"X-Scheme":["{http.request.scheme}"],"X-Forwarded-Scheme":["{http.request.scheme}"]},
				"delete":["Proxy"]}}}]}]`, port))
	})

	slice := loopbackSlice("web", port)
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("ingress/hosts=%d", n), func(b *testing.B) {
			snap := &ingress.Snapshot{Services: []*corev1.Service{testService("web")}, EndpointSlices: []*discoveryv1.EndpointSlice{slice}}
			for i := range n {
				snap.Ingresses = append(snap.Ingresses, testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i), testPath{"/", "Prefix", "web"}))
			}
			app.update(snap, nil)
			// The hosts in a scattered order, so that consecutive
			// requests do not hit neighbouring entries.
			hosts := make([]string, n)
			for i := range n {
				hosts[i] = fmt.Sprintf("app%d.example.com", (i*7919)%n)
			}
			h := &Handler{app: app}
			next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
			serve(b, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return h.ServeHTTP(w, r, next) }), hosts)
		})
	}
}
