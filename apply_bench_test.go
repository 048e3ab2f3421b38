package caddyingress

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/standard"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(handSource{})
}

// handSource is a source that delivers nothing by itself; tests and
// benchmarks call the app's update directly.
type handSource struct{}

func (handSource) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "ingress.sources.by_hand", New: func() caddy.Module { return new(handSource) }}
}

func (handSource) Start(update func(*ingress.Snapshot, []ingress.Problem)) error {
	update(&ingress.Snapshot{}, nil)
	return nil
}

func (handSource) Stop() error { return nil }

// runApp runs Caddy with only the ingress app and returns the app.
func runApp(tb testing.TB) *App {
	tb.Helper()
	return loadApp(tb, `{"admin":{"disabled":true,"config":{"persist":false}},"apps":{"ingress":{"source":{"source":"by_hand"}}}}`)
}

// loadApp runs Caddy with the JSON config cfg, stopped when the test
// ends, and returns its ingress app.
func loadApp(tb testing.TB, cfg string) *App {
	tb.Helper()
	if err := caddy.Load([]byte(cfg), true); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = caddy.Stop() })
	app, err := caddy.ActiveContext().App("ingress")
	if err != nil {
		tb.Fatal(err)
	}
	return app.(*App)
}

// BenchmarkApplyOneChange applies a change to one Ingress on top of
// 1,000 and 10,000: translation, the diff, the new table and the one new
// compiled route. The first apply of all 10,000 is measured as "initial".
func BenchmarkApplyOneChange(b *testing.B) {
	snapshot := func(n int) *ingress.Snapshot {
		base := &ingress.Snapshot{}
		for i := range n {
			name := fmt.Sprintf("svc%d", i)
			base.Ingresses = append(base.Ingresses, testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i),
				testPath{"/", "Prefix", name}, testPath{"/healthz", "Exact", name}))
			base.Services = append(base.Services, testService(name))
		}
		return base
	}
	app := runApp(b)
	b.Run("initial", func(b *testing.B) {
		base := snapshot(10000)
		for b.Loop() {
			app.update(&ingress.Snapshot{}, nil)
			app.update(base, nil)
		}
	})
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("one-of-%d", n), func(b *testing.B) {
			base := snapshot(n)
			app.update(base, nil)
			i := 0
			// The snapshots' lists of Ingresses take turns in two
			// arrays: the app keeps only the last snapshot, so the one
			// before it is free, and the 80 KB copy of 10,000 pointers
			// per change does not make garbage for the collector to chase
			// while the change is timed.
			var bufs [2][]*networkingv1.Ingress
			for k := range bufs {
				bufs[k] = make([]*networkingv1.Ingress, n)
			}
			for b.Loop() {
				// The snapshot is the source's work (a copy of the
				// list of Ingresses), not timed.
				b.StopTimer()
				snap := *base
				snap.Ingresses = bufs[i%2]
				copy(snap.Ingresses, base.Ingresses)
				changed := snap.Ingresses[i%n].DeepCopy()
				changed.Spec.Rules[0].HTTP.Paths[1].Path = fmt.Sprintf("/healthz-%d", i)
				snap.Ingresses[i%n] = changed
				b.StartTimer()
				app.update(&snap, nil)
				i++
			}
		})
	}
}

// TestApplyReusesRoutes checks that a change to one Ingress compiles only
// the routes that changed and releases the ones no table uses any more.
func TestApplyReusesRoutes(t *testing.T) {
	app := runApp(t)
	snap := &ingress.Snapshot{
		Ingresses: []*networkingv1.Ingress{
			testIngress("a", "a.example.com", testPath{"/", "Prefix", "svc-a"}),
			testIngress("b", "b.example.com", testPath{"/", "Prefix", "svc-b"}),
		},
		Services: []*corev1.Service{testService("svc-a"), testService("svc-b")},
	}
	app.update(snap, nil)
	first := app.current().routes
	before := compiledOf(first)
	if len(before) != 2 {
		t.Fatalf("got %d compiled routes, want 2", len(before))
	}

	next := *snap
	next.Ingresses = []*networkingv1.Ingress{snap.Ingresses[0], testIngress("b", "b.example.com", testPath{"/", "Prefix", "svc-a"})}
	app.update(&next, nil)
	second := app.current().routes
	if second == first {
		t.Fatal("got the same table after a change, want a new one")
	}
	now := compiledOf(second)
	var reused *compiledRoute
	for cr := range now {
		reused = cr
	}
	if len(now) != 1 || !before[reused] {
		t.Fatalf("got routes %v, want only the reused route of svc-a", now)
	}
	select {
	case <-first.drained:
	case <-time.After(5 * time.Second):
		t.Fatal("the replaced table never drained")
	}
	// The route of svc-b goes once the first table drained.
	deadline := time.Now().Add(5 * time.Second)
	for {
		app.mu.Lock()
		n := len(app.compiled)
		app.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d compiled routes after the old table drained, want 1", n)
		}
		time.Sleep(time.Millisecond)
	}

	// An update that changes nothing keeps the table.
	same := next
	app.update(&same, nil)
	if got := app.current().routes; got != second {
		t.Error("got a new table for an unchanged snapshot, want the same one")
	}
}

// TestReleasedRoutesCloseBackendConnections checks that routes replaced by
// a change close their idle connections to backends, also those of the
// transport reverse_proxy makes by itself, which no context cleans up.
func TestReleasedRoutesCloseBackendConnections(t *testing.T) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	backend.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		}
	}
	backend.Start()
	defer backend.Close()
	openConns := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(open)
	}
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)

	app := runApp(t)
	slice := loopbackSlice("svc-a", port)
	snap := &ingress.Snapshot{
		Ingresses:      []*networkingv1.Ingress{testIngress("a", "a.example.com", testPath{"/", "Prefix", "svc-a"})},
		Services:       []*corev1.Service{testService("svc-a")},
		EndpointSlices: []*discoveryv1.EndpointSlice{slice},
	}
	app.update(snap, nil)
	h := &Handler{app: app}
	w := httptest.NewRecorder()
	req := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://a.example.com/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
	if err := h.ServeHTTP(w, req, nil); err != nil || w.Code != 200 {
		t.Fatalf("got %d, %v; want 200 from the backend", w.Code, err)
	}
	if got := openConns(); got != 1 {
		t.Fatalf("got %d connections to the backend, want 1", got)
	}

	// Another path and connect timeout: the route of svc-a is compiled
	// anew with another connection pool, the old ones released.
	next := *snap
	next.Ingresses = []*networkingv1.Ingress{testIngress("a", "a.example.com", testPath{"/", "Prefix", "svc-a"}, testPath{"/b", "Exact", "svc-a"})}
	next.Ingresses[0].Annotations = map[string]string{"caddy-ingress.io/hsts": "max-age=1", "nginx.ingress.kubernetes.io/proxy-connect-timeout": "7"}
	app.update(&next, nil)
	deadline := time.Now().Add(5 * time.Second)
	for openConns() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the released route's connection to the backend is still open after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReleasedRoutesRunNoAppCleanup: releasing routes runs none of the
// cleanup functions of the app's context (those of the config's close
// its logs).
func TestReleasedRoutesRunNoAppCleanup(t *testing.T) {
	app := runApp(t)
	ran := make(chan struct{}, 10)
	app.ctx.OnCancel(func() { ran <- struct{}{} })
	var first *compiledRoute
	for i, svc := range []string{"svc-a", "svc-b"} {
		app.update(&ingress.Snapshot{
			Ingresses: []*networkingv1.Ingress{testIngress("a", "a.example.com", testPath{"/", "Prefix", svc})},
			Services:  []*corev1.Service{testService(svc)},
		}, nil)
		if i == 0 {
			for cr := range compiledOf(app.current().routes) {
				first = cr
			}
		}
	}
	// The replaced table drains at once (no request is in flight) and
	// its routes are released.
	deadline := time.Now().Add(5 * time.Second)
	for {
		app.mu.Lock()
		released := first.ctx.routes == 0
		app.mu.Unlock()
		if released {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replaced routes were never released")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-ran:
		t.Error("releasing routes ran a cleanup function of the app's context")
	default:
	}
}

// compiledOf returns the compiled routes that the handlers of tbl come
// from.
func compiledOf(tbl *table) map[*compiledRoute]bool {
	out := make(map[*compiledRoute]bool)
	for _, ht := range tbl.hostTables() {
		for _, cr := range ht.routes {
			out[cr] = true
		}
	}
	return out
}
