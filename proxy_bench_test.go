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

// processCPU returns the user and system CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// browserHeaders are the request headers of a browser's page load
// (Chrome's, without cookies), for requests as clients send them.
var browserHeaders = http.Header{
	"User-Agent":                {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
	"Accept-Language":           {"en-US,en;q=0.9"},
	"Accept-Encoding":           {"gzip, deflate, br, zstd"},
	"Sec-Fetch-Dest":            {"document"},
	"Sec-Fetch-Mode":            {"navigate"},
	"Sec-Fetch-Site":            {"none"},
	"Upgrade-Insecure-Requests": {"1"},
}

// BenchmarkProxy proxies requests to one backend on loopback, side by
// side: through a single-route Caddy reverse_proxy (the baseline), the
// same sending the headers ingress-nginx sends, and through the ingress
// handler with 10 and 10,000 hosts, each its own Ingress, to one
// Service. Each sends requests with no header (client=none) and with a
// browser's (client=browser).
func BenchmarkProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	app := runApp(b)
	// serve sends GET /api for the hosts in turn; the URLs are made
	// beforehand, so that both sides do the same work besides serving.
	serveWith := func(b *testing.B, h caddyhttp.Handler, hosts []string, header http.Header) {
		urls := make([]string, len(hosts))
		for i, host := range hosts {
			urls[i] = "http://" + host + "/api"
		}
		i := 0
		cpu := processCPU()
		for b.Loop() {
			w := httptest.NewRecorder()
			req := httptest.NewRequest("GET", urls[i%len(urls)], nil)
			if header != nil {
				req.Header = header.Clone()
			}
			r := caddyhttp.PrepareRequest(req, caddy.NewReplacer(), w, new(caddyhttp.Server))
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
	serve := func(b *testing.B, h caddyhttp.Handler, hosts []string) {
		b.Run("client=none", func(b *testing.B) { serveWith(b, h, hosts, nil) })
		b.Run("client=browser", func(b *testing.B) { serveWith(b, h, hosts, browserHeaders) })
	}

	// caddyRoutes serves the requests through Caddy routes made from
	// JSON, as a Caddyfile site with that config would.
	caddyRoutes := func(b *testing.B, raw string) {
		serve(b, compileRoutes(b, app, raw), []string{"plain.example.com"})
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

// BenchmarkProxyPaired measures the ingress handler against the bare
// Caddy reverse_proxy of BenchmarkProxy in the same process at the same
// time: blocks of requests alternate between the two, to the same
// backend, so that both see the same heap, the same collector and the
// same load of a shared machine. It reports the time and CPU per request
// of each side and their ratios (x-bare, x-bare-cpu: below 1 is faster
// than Caddy's reverse_proxy).
//
// The backend runs in this process (backend=in-process), so its work
// (parsing the headers each side sends) counts as that side's; or in a
// process of its own (backend=process), so that the CPU measured is the
// proxy's (and the client's, the same for both sides). With the backend
// out of process, the time per request is mostly the two processes
// waking each other: its CPU ratio is the measure.
func BenchmarkProxyPaired(b *testing.B) {
	for _, backend := range []string{"in-process", "process"} {
		var port int32
		if backend == "process" {
			port = startBackendProcess(b)
		} else {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
			b.Cleanup(srv.Close)
			port = int32(srv.Listener.Addr().(*net.TCPAddr).Port)
		}
		b.Run("backend="+backend, func(b *testing.B) { proxyPaired(b, port) })
	}
}

// proxyPaired runs BenchmarkProxyPaired's sub-benchmarks against the
// backend on port.
func proxyPaired(b *testing.B, port int32) {
	app := runApp(b)
	bare := compileRoutes(b, app, fmt.Sprintf(`[{"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:%d"}]}]}]`, port))
	slice := loopbackSlice("web", port)
	for _, n := range []int{10, 10000} {
		snap := &ingress.Snapshot{Services: []*corev1.Service{testService("web")}, EndpointSlices: []*discoveryv1.EndpointSlice{slice}}
		hosts := make([]string, n)
		for i := range n {
			snap.Ingresses = append(snap.Ingresses, testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i), testPath{"/", "Prefix", "web"}))
			hosts[i] = fmt.Sprintf("http://app%d.example.com/api", (i*7919)%n)
		}
		h := &Handler{app: app}
		next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
		viaIngress := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return h.ServeHTTP(w, r, next) })
		for _, client := range []struct {
			name   string
			header http.Header
		}{{"none", nil}, {"browser", browserHeaders}} {
			b.Run(fmt.Sprintf("hosts=%d/client=%s", n, client.name), func(b *testing.B) {
				app.update(snap, nil)
				sides := [2]struct {
					h       caddyhttp.Handler
					urls    []string
					i, n    int
					elapsed time.Duration
					cpu     time.Duration
				}{{h: bare, urls: []string{"http://plain.example.com/api"}}, {h: viaIngress, urls: hosts}}
				const block = 64
				side, inBlock := 0, 0
				start, startCPU := time.Now(), processCPU()
				for b.Loop() {
					s := &sides[side]
					w := httptest.NewRecorder()
					req := httptest.NewRequest("GET", s.urls[s.i%len(s.urls)], nil)
					if client.header != nil {
						req.Header = client.header.Clone()
					}
					r := caddyhttp.PrepareRequest(req, caddy.NewReplacer(), w, new(caddyhttp.Server))
					if err := s.h.ServeHTTP(w, r); err != nil || w.Code != 200 {
						b.Fatalf("got %d, %v", w.Code, err)
					}
					s.i++
					s.n++
					if inBlock++; inBlock == block {
						now, nowCPU := time.Now(), processCPU()
						s.elapsed += now.Sub(start)
						s.cpu += nowCPU - startCPU
						start, startCPU = now, nowCPU
						side, inBlock = 1-side, 0
					}
				}
				now, nowCPU := time.Now(), processCPU()
				sides[side].elapsed += now.Sub(start)
				sides[side].cpu += nowCPU - startCPU
				if sides[0].n == 0 || sides[1].n == 0 {
					return // too few requests for both sides
				}
				per := func(d time.Duration, n int) float64 { return float64(d) / float64(n) }
				bareNs, ingNs := per(sides[0].elapsed, sides[0].n), per(sides[1].elapsed, sides[1].n)
				bareCPU, ingCPU := per(sides[0].cpu, sides[0].n), per(sides[1].cpu, sides[1].n)
				b.ReportMetric(bareNs, "bare-ns/req")
				b.ReportMetric(ingNs, "ingress-ns/req")
				b.ReportMetric(ingNs/bareNs, "x-bare")
				b.ReportMetric(ingCPU/bareCPU, "x-bare-cpu")
			})
		}
	}
}

// compileRoutes provisions Caddy routes made from the JSON raw in a
// context of app's, cancelled when the test ends, and returns them as
// one handler.
func compileRoutes(tb testing.TB, app *App, raw string) caddyhttp.Handler {
	tb.Helper()
	var routes caddyhttp.RouteList
	if err := json.Unmarshal([]byte(raw), &routes); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(app.routesParent())
	tb.Cleanup(cancel)
	if err := routes.Provision(ctx); err != nil {
		tb.Fatal(err)
	}
	return routes.Compile(notFound)
}
