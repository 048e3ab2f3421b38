package caddyingress

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// BenchmarkManyEndpoints proxies to a Service of 1 and of 100 endpoints
// (loopback backends), through reverse_proxy with the ingress upstream
// source giving it every endpoint (pick=all) or one in turn
// (pick=round_robin, what the ingress routes use with round robin).
func BenchmarkManyEndpoints(b *testing.B) {
	app := runApp(b)
	for _, n := range []int{1, 100} {
		snap := &ingress.Snapshot{Services: []*corev1.Service{testService("web")}}
		for i := range n {
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
			defer backend.Close()
			slice := loopbackSlice("web", int32(backend.Listener.Addr().(*net.TCPAddr).Port))
			slice.Name = fmt.Sprintf("web-%d", i)
			snap.EndpointSlices = append(snap.EndpointSlices, slice)
		}
		for _, pick := range []string{"all", "round_robin"} {
			b.Run(fmt.Sprintf("endpoints=%d/pick=%s", n, pick), func(b *testing.B) {
				app.update(snap, nil)
				source := `{"source":"ingress","namespace":"default","service":"web"}`
				if pick != "all" {
					source = `{"source":"ingress","namespace":"default","service":"web","pick":"` + pick + `"}`
				}
				proxy := compileRoutes(b, app, `[{"handle":[{"handler":"reverse_proxy","dynamic_upstreams":`+source+`,"load_balancing":{"selection_policy":{"policy":"round_robin"}}}]}]`)
				for b.Loop() {
					w := httptest.NewRecorder()
					r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://app.example.com/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
					s := app.acquire() // as the ingress handler holds the state served
					caddyhttp.SetVar(r.Context(), servedVar, s)
					err := proxy.ServeHTTP(w, r)
					s.routes.release()
					if err != nil || w.Code != 200 {
						b.Fatalf("got %d, %v", w.Code, err)
					}
				}
			})
		}
	}
}
