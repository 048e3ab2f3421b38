package caddyingress

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestSharedProxies: paths to one Service whose routes differ (a
// snippet's response header, an upstream-vhost) share their reverse_proxy
// handlers: one for the paths that send the client's Host, one for those
// that send another; each still sends its own Host and headers, and the
// shared handlers go once no route uses them.
func TestSharedProxies(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Host))
	}))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	app := runApp(t)
	annotations := []map[string]string{
		nil,
		{"nginx.ingress.kubernetes.io/configuration-snippet": `more_set_headers "X-N: 1";`},
		{"nginx.ingress.kubernetes.io/configuration-snippet": `more_set_headers "X-N: 2";`},
		{"nginx.ingress.kubernetes.io/upstream-vhost": "one.internal"},
		{"nginx.ingress.kubernetes.io/upstream-vhost": "two.internal:8080"},
	}
	snap := &ingress.Snapshot{
		Services:       []*corev1.Service{testService("svc")},
		EndpointSlices: []*discoveryv1.EndpointSlice{loopbackSlice("svc", port)},
	}
	for i, a := range annotations {
		ing := testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i), testPath{"/", "Prefix", "svc"})
		ing.Annotations = a
		snap.Ingresses = append(snap.Ingresses, ing)
	}
	app.update(snap, nil)
	if len(app.problems) > 0 {
		t.Fatalf("problems: %v", app.problems)
	}
	h := &Handler{app: app}
	get := func(host string) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		req := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://"+host+"/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
		if err := h.ServeHTTP(w, req, nil); err != nil || w.Code != 200 {
			t.Fatalf("%s: got %d, %v; want 200 from the backend", host, w.Code, err)
		}
		return w
	}
	for i, want := range []struct{ host, header string }{
		{"app0.example.com", ""}, {"app1.example.com", "1"}, {"app2.example.com", "2"},
		{"one.internal", ""}, {"two.internal:8080", ""},
	} {
		w := get(fmt.Sprintf("app%d.example.com", i))
		if got := w.Body.String(); got != want.host {
			t.Errorf("app%d: the backend got Host %q, want %q", i, got, want.host)
		}
		if got := w.Header().Get("X-N"); got != want.header {
			t.Errorf("app%d: X-N %q, want %q", i, got, want.header)
		}
	}
	app.mu.Lock()
	compiled, shared := len(compiledOf(app.current().routes)), len(app.shared)
	app.mu.Unlock()
	if compiled != 5 || shared != 2 {
		t.Fatalf("got %d compiled routes sharing %d reverse_proxy handlers, want 5 sharing 2", compiled, shared)
	}

	// Without the Ingresses, the routes and then the shared handlers go.
	old := app.current().routes
	next := *snap
	next.Ingresses = []*networkingv1.Ingress{snap.Ingresses[1]}
	app.update(&next, nil)
	waitReleased(t, app, old)
	get("app1.example.com")
	app.mu.Lock()
	shared = len(app.shared)
	app.mu.Unlock()
	if shared != 1 {
		t.Fatalf("one Ingress left: %d shared handlers, want 1", shared)
	}
}

// TestSharedTracing: the traced paths of many Ingresses share one tracing
// handler per span name, whatever their backends; the backend gets the
// span's traceparent, of the client's trace when incoming spans are
// trusted and of a new one when not.
func TestSharedTracing(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get("Traceparent")))
	}))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	app := runApp(t)
	snap := &ingress.Snapshot{}
	const n = 6
	for i := range n {
		svc := fmt.Sprintf("svc%d", i)
		snap.Services = append(snap.Services, testService(svc))
		snap.EndpointSlices = append(snap.EndpointSlices, loopbackSlice(svc, port))
		ing := testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i), testPath{"/", "Prefix", svc})
		ing.Annotations = map[string]string{"nginx.ingress.kubernetes.io/enable-opentelemetry": "true"}
		if i == n-1 {
			ing.Annotations["nginx.ingress.kubernetes.io/opentelemetry-trust-incoming-span"] = "false"
		}
		snap.Ingresses = append(snap.Ingresses, ing)
	}
	app.update(snap, nil)
	if len(app.problems) > 0 {
		t.Fatalf("problems: %v", app.problems)
	}
	app.mu.Lock()
	tracing := 0
	for _, sp := range app.shared {
		if strings.Contains(sp.key, `"tracing"`) {
			tracing++
		}
	}
	app.mu.Unlock()
	if tracing != 1 {
		t.Fatalf("got %d shared tracing handlers for %d Ingresses with one span name, want 1", tracing, n)
	}

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const clientParent = "00-" + clientTrace + "-00f067aa0ba902b7-01"
	h := &Handler{app: app}
	for i := range n {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", fmt.Sprintf("http://app%d.example.com/", i), nil)
		r.Header.Set("Traceparent", clientParent)
		req := caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, new(caddyhttp.Server))
		if err := h.ServeHTTP(w, req, nil); err != nil || w.Code != 200 {
			t.Fatalf("app%d: got %d, %v; want 200 from the backend", i, w.Code, err)
		}
		got := w.Body.String()
		if len(got) != 55 || got == clientParent {
			t.Fatalf("app%d: the backend got traceparent %q, want the span's", i, got)
		}
		if trusted := i < n-1; strings.Contains(got, clientTrace) != trusted {
			t.Errorf("app%d: the backend got traceparent %q; of the client's trace: %v, want %v", i, got, !trusted, trusted)
		}
	}
}
