package caddyingress

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// runAppWithMetrics is runApp with Caddy's metrics on (an http app with
// the metrics option and no servers).
func runAppWithMetrics(tb testing.TB) *App {
	tb.Helper()
	return loadApp(tb, `{"admin":{"disabled":true,"config":{"persist":false}},"apps":{"http":{"metrics":{}},"ingress":{"source":{"source":"by_hand"}}}}`)
}

// serveThrough sends a request through the ingress handler as Caddy's
// server would, and returns the status.
func serveThrough(t testing.TB, app *App, host, path string) int {
	t.Helper()
	w := httptest.NewRecorder()
	r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://"+host+path, nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
	h := &Handler{app: app}
	err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))
	if err != nil {
		if he, ok := err.(caddyhttp.HandlerError); ok {
			return he.StatusCode
		}
		t.Fatalf("%s%s: %v", host, path, err)
	}
	return w.Code
}

// series returns the metrics of family name by their labels, written as
// name=value pairs joined by commas in the order of routeLabelNames.
func series(t testing.TB, app *App, name string) map[string]*dto.Metric {
	t.Helper()
	fams, err := app.ctx.GetMetricsRegistry().Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	out := map[string]*dto.Metric{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var pairs []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(pairs)
			out[strings.Join(pairs, ",")] = m
		}
	}
	return out
}

func routeKey(ns, ing, host, path, svc, status string) string {
	pairs := []string{"namespace=" + ns, "ingress=" + ing, "host=" + host, "path=" + path, "service=" + svc, "status=" + status}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// TestRequestMetrics: requests to two Ingresses count under their own
// labels (the path as written, not the request's) and status classes,
// proxied requests observe the backend's latency, a change to a host keeps
// the counters of its unchanged paths, and the series of a removed
// Ingress are deleted.
func TestRequestMetrics(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hello")) }))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	app := runAppWithMetrics(t)
	if app.requestMetrics == nil {
		t.Fatal("request metrics are off with Caddy's metrics on")
	}
	ingA := testIngress("a", "a.example.com", testPath{"/api/", "Prefix", "svc-a"})
	ingB := testIngress("b", "b.example.com", testPath{"/", "Prefix", "svc-b"}) // no endpoints: 503
	snap := &ingress.Snapshot{
		Ingresses:      []*networkingv1.Ingress{ingA, ingB},
		Services:       []*corev1.Service{testService("svc-a"), testService("svc-b")},
		EndpointSlices: []*discoveryv1.EndpointSlice{loopbackSlice("svc-a", port)},
	}
	app.update(snap, nil)
	for i := range 3 {
		if got := serveThrough(t, app, "a.example.com", fmt.Sprintf("/api/item%d", i)); got != http.StatusOK {
			t.Fatalf("a.example.com: got %d, want 200", got)
		}
	}
	for range 2 {
		if got := serveThrough(t, app, "b.example.com", "/x"); got != http.StatusServiceUnavailable {
			t.Fatalf("b.example.com: got %d, want 503", got)
		}
	}
	aOK := routeKey("default", "a", "a.example.com", "/api/", "svc-a", "2xx")
	bUnavailable := routeKey("default", "b", "b.example.com", "/", "svc-b", "5xx")
	requests := series(t, app, "caddy_ingress_requests_total")
	if len(requests) != 2 {
		t.Errorf("got series %v, want 2", keys(requests))
	}
	if got := requests[aOK].GetCounter().GetValue(); got != 3 {
		t.Errorf("requests_total{%s}: got %v, want 3", aOK, got)
	}
	if got := requests[bUnavailable].GetCounter().GetValue(); got != 2 {
		t.Errorf("requests_total{%s}: got %v, want 2", bUnavailable, got)
	}
	upstream := series(t, app, "caddy_ingress_upstream_header_duration_seconds")
	if got := upstream[aOK].GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("upstream_header_duration_seconds{%s}: got %d samples, want 3", aOK, got)
	}
	if got := upstream[bUnavailable].GetHistogram().GetSampleCount(); got != 0 {
		t.Errorf("upstream_header_duration_seconds{%s}: got %d samples, want 0 (no backend reached)", bUnavailable, got)
	}
	responses := series(t, app, "caddy_ingress_response_size_bytes")
	if got := responses[aOK].GetHistogram().GetSampleSum(); got != 3*float64(len("hello")) {
		t.Errorf("response_size_bytes{%s}: got sum %v, want %d", aOK, got, 3*len("hello"))
	}
	if got := series(t, app, "caddy_ingress_request_duration_seconds")[aOK].GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("request_duration_seconds{%s}: got %d samples, want 3", aOK, got)
	}
	if got := series(t, app, "caddy_ingress_request_size_bytes")[aOK].GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("request_size_bytes{%s}: got %d samples, want 3", aOK, got)
	}

	// A new path on host a rebuilds its host table; the old path keeps
	// its series and count.
	ingA2 := testIngress("a", "a.example.com", testPath{"/api/", "Prefix", "svc-a"}, testPath{"/health", "Exact", "svc-a"})
	next := *snap
	next.Ingresses = []*networkingv1.Ingress{ingA2, ingB}
	app.update(&next, nil)
	if got := series(t, app, "caddy_ingress_requests_total")[aOK].GetCounter().GetValue(); got != 3 {
		t.Errorf("after a change to host a: requests_total{%s}: got %v, want 3", aOK, got)
	}

	// Ingress b goes: its series go with it.
	last := next
	last.Ingresses = []*networkingv1.Ingress{ingA2}
	app.update(&last, nil)
	for _, name := range []string{"caddy_ingress_requests_total", "caddy_ingress_request_duration_seconds", "caddy_ingress_request_size_bytes", "caddy_ingress_response_size_bytes", "caddy_ingress_upstream_header_duration_seconds"} {
		s := series(t, app, name)
		if _, ok := s[bUnavailable]; ok {
			t.Errorf("%s{%s}: still there after Ingress b was removed", name, bUnavailable)
		}
		if _, ok := s[aOK]; !ok {
			t.Errorf("%s{%s}: gone after Ingress b was removed, want kept", name, aOK)
		}
	}
	if n := len(app.requestMetrics.series); n != 2 {
		t.Errorf("got %d label sets held, want 2 (the paths of Ingress a)", n)
	}

	// Everything goes: nothing is left.
	app.update(&ingress.Snapshot{}, nil)
	if s := series(t, app, "caddy_ingress_requests_total"); len(s) != 0 {
		t.Errorf("got series %v with no Ingress, want none", keys(s))
	}
	if n := len(app.requestMetrics.series); n != 0 {
		t.Errorf("got %d label sets held with no Ingress, want 0", n)
	}
}

func keys(m map[string]*dto.Metric) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRequestMetricsOff: without Caddy's metrics option the handlers are
// not wrapped and nothing is registered.
func TestRequestMetricsOff(t *testing.T) {
	app := runApp(t)
	if app.requestMetrics != nil {
		t.Fatal("request metrics are on without Caddy's metrics")
	}
	app.update(&ingress.Snapshot{Ingresses: []*networkingv1.Ingress{testIngress("a", "a.example.com", testPath{"/", "Prefix", "svc-a"})}, Services: []*corev1.Service{testService("svc-a")}}, nil)
	if hd := app.current().routes.lookup("a.example.com", "/"); hd == nil {
		t.Fatal("no handler for a.example.com/")
	} else if _, ok := hd.(*observed); ok {
		t.Error("got an observed handler with metrics off")
	}
	serveThrough(t, app, "a.example.com", "/")
	if s := series(t, app, "caddy_ingress_requests_total"); len(s) != 0 {
		t.Errorf("got series %v with metrics off, want none", keys(s))
	}
}

// TestObservedStatus: the status class comes from what the handler wrote,
// else from its error, else 200 (what the server sends for nothing).
func TestObservedStatus(t *testing.T) {
	m, err := newRequestMetrics(newTestRegistry())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler caddyhttp.HandlerFunc
		want    string
	}{
		{"written", func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(404); return nil }, "4xx"},
		{"body only", func(w http.ResponseWriter, _ *http.Request) error { w.Write([]byte("x")); return nil }, "2xx"},
		{"informational first", func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(103); w.WriteHeader(302); return nil }, "3xx"},
		{"handler error", func(http.ResponseWriter, *http.Request) error { return caddyhttp.Error(502, nil) }, "5xx"},
		{"plain error", func(http.ResponseWriter, *http.Request) error { return fmt.Errorf("boom") }, "5xx"},
		{"nothing", func(http.ResponseWriter, *http.Request) error { return nil }, "2xx"},
		{"written before error", func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(200)
			return caddyhttp.Error(502, nil)
		}, "2xx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			act := &ingress.Action{Ingress: "ns/" + tt.name, Host: "h", IngressPath: "/"}
			h := m.observe(tt.handler, act)
			r := httptest.NewRequest("GET", "/", nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
			s := m.series[labelsOf(act)]
			for i, class := range statusClasses {
				c := s.classes[i].Load()
				got := 0.0
				if c != nil {
					got = counterValue(t, c.requests)
				}
				want := 0.0
				if class == tt.want {
					want = 1
				}
				if got != want {
					t.Errorf("status %s: got %v requests, want %v", class, got, want)
				}
			}
		})
	}
}

// TestObservedNoAllocations: the wrapper adds no allocation per request
// once a path's series exist.
func TestObservedNoAllocations(t *testing.T) {
	m, err := newRequestMetrics(newTestRegistry())
	if err != nil {
		t.Fatal(err)
	}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(200); return nil })
	h := m.observe(next, &ingress.Action{Ingress: "ns/a", Host: "a.example.com", IngressPath: "/"})
	w := httptest.NewRecorder()
	r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://a.example.com/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
	h.ServeHTTP(w, r)
	bare := testing.AllocsPerRun(200, func() { next.ServeHTTP(w, r) })
	wrapped := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	if wrapped > bare {
		t.Errorf("got %v allocations per request with metrics, %v without", wrapped, bare)
	}
}

// TestFieldClass: list indices leave problem fields; nothing else does.
func TestFieldClass(t *testing.T) {
	tests := []struct{ name, field, want string }{
		{"indices", "spec.rules[0].http.paths[12].backend.service.port", "spec.rules[].http.paths[].backend.service.port"},
		{"annotation", "metadata.annotations[nginx.ingress.kubernetes.io/auth-url]", "metadata.annotations[nginx.ingress.kubernetes.io/auth-url]"},
		{"no brackets", "spec", "spec"},
		{"manifest line", "line 12", ""},
		{"unclosed", "a[1", "a[1"},
		{"empty brackets", "a[]", "a[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldClass(tt.field); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func newTestRegistry() *prometheus.Registry { return prometheus.NewPedanticRegistry() }

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// BenchmarkProxyMetrics proxies requests to one backend on loopback
// through the ingress handler, with and without request metrics: the
// difference is what the metrics cost per request (compare with
// BenchmarkProxy).
func BenchmarkProxyMetrics(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	snap := &ingress.Snapshot{Services: []*corev1.Service{testService("web")}, EndpointSlices: []*discoveryv1.EndpointSlice{loopbackSlice("web", port)}}
	for i := range 10 {
		snap.Ingresses = append(snap.Ingresses, testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i), testPath{"/", "Prefix", "web"}))
	}
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%t", on), func(b *testing.B) {
			app := runApp(b)
			if on {
				app = runAppWithMetrics(b)
			}
			app.update(snap, nil)
			i := 0
			for b.Loop() {
				if got := serveThrough(b, app, fmt.Sprintf("app%d.example.com", i%10), "/api"); got != http.StatusOK {
					b.Fatalf("got %d, want 200", got)
				}
				i++
			}
		})
	}
}

// BenchmarkObserved is the wrapper alone around a handler that writes a
// status.
func BenchmarkObserved(b *testing.B) {
	m, err := newRequestMetrics(newTestRegistry())
	if err != nil {
		b.Fatal(err)
	}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(200); return nil })
	h := m.observe(next, &ingress.Action{Ingress: "ns/a", Host: "a.example.com", IngressPath: "/"})
	w := httptest.NewRecorder()
	r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://a.example.com/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// TestRequestMetricsWhileChanging: requests counted while their paths come
// and go race with nothing (run with -race), and once the paths are gone
// no series is left behind, also of requests that a draining table served.
func TestRequestMetricsWhileChanging(t *testing.T) {
	app := runAppWithMetrics(t)
	with := &ingress.Snapshot{
		Ingresses: []*networkingv1.Ingress{testIngress("a", "a.example.com", testPath{"/", "Prefix", "svc-a"})},
		Services:  []*corev1.Service{testService("svc-a")},
	}
	app.update(with, nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				serveThrough(t, app, "a.example.com", "/")
			}
		}
	}()
	for range 50 {
		app.update(&ingress.Snapshot{Services: with.Services}, nil)
		next := *with
		app.update(&next, nil)
	}
	close(stop)
	<-done
	app.update(&ingress.Snapshot{}, nil)
	if s := series(t, app, "caddy_ingress_requests_total"); len(s) != 0 {
		t.Errorf("got series %v with no Ingress, want none", keys(s))
	}
}

// TestObservedWriterPassesThrough: flushes and hijacks (WebSocket
// upgrades) reach the server's writer through the wrapper, and such a
// writer is not pooled again.
func TestObservedWriterPassesThrough(t *testing.T) {
	m, err := newRequestMetrics(newTestRegistry())
	if err != nil {
		t.Fatal(err)
	}
	act := &ingress.Action{Ingress: "ns/ws", Host: "h", IngressPath: "/"}
	h := m.observe(caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path == "/flush" {
			w.Write([]byte("part"))
			return http.NewResponseController(w).Flush()
		}
		// As reverse_proxy upgrades: the status, then the connection.
		w.Header().Set("Upgrade", "test")
		w.Header().Set("Connection", "Upgrade")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return err
		}
		defer conn.Close()
		brw.WriteString("hello")
		return brw.Flush()
	}), act)
	served := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.ServeHTTP(w, r); err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
		served <- r.URL.Path
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/flush")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/flush: got %d, want 200", resp.StatusCode)
	}

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
	buf := make([]byte, 256)
	var got []byte
	for !strings.Contains(string(got), "hello") {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.HasPrefix(string(got), "HTTP/1.1 101") || !strings.HasSuffix(string(got), "hello") {
		t.Errorf("upgrade: got %q, want a 101 then hello", got)
	}
	<-served
	<-served
	for class, want := range map[int]float64{1: 1, 2: 1} {
		got := 0.0
		if c := m.series[labelsOf(act)].classes[class].Load(); c != nil {
			got = counterValue(t, c.requests)
		}
		if got != want {
			t.Errorf("requests of class %s: got %v, want %v", statusClasses[class], got, want)
		}
	}
}

// TestForgetEveryHandlerMade: the series of every handler made for a
// host table are let go with it, also a handler that a later path of the
// same name replaced and one whose regular expression did not compile,
// which are in none of its maps.
func TestForgetEveryHandlerMade(t *testing.T) {
	m, err := newRequestMetrics(newTestRegistry())
	if err != nil {
		t.Fatal(err)
	}
	noop := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	handler := func(act *ingress.Action) (caddyhttp.Handler, *compiledRoute) { return m.observe(noop, act), nil }
	action := func(path string) ingress.Action {
		return ingress.Action{Ingress: "default/a", Host: "a.example.com", IngressPath: path, Backend: ingress.ServiceRef{Name: "svc"}}
	}
	res := &ingress.Result{Hosts: ingress.NewHostList([]*ingress.Host{
		{Host: "a.example.com", Paths: []ingress.Path{
			{Path: "/x", Type: ingress.PathExact, Action: action("/x (first)")},
			{Path: "/x", Type: ingress.PathExact, Action: action("/x (second)")},
		}},
		{Host: "b.example.com", Paths: []ingress.Path{
			{Path: "(", Type: ingress.PathRegex, Action: action("(")},
		}},
	})}
	tbl := nextTable(nil, nil, res, handler, func(*hostTable) {})
	m.sweep()
	if n := len(m.series); n != 3 {
		t.Fatalf("got %d label sets held, want 3", n)
	}
	nextTable(tbl, res, &ingress.Result{}, handler, m.forget)
	m.sweep()
	if n := len(m.series); n != 0 {
		t.Errorf("got %d label sets held with the hosts gone, want 0", n)
	}
}

// readerFromWriter is a response writer that says whether its ReadFrom
// was used.
type readerFromWriter struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (w *readerFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom = true
	return io.Copy(w.ResponseRecorder, r)
}

// TestObservedWriterReadFrom: a body copied into the observed writer
// goes through the server's writer's ReadFrom (sendfile for files), and
// is counted; flushing keeps the writer pooled.
func TestObservedWriterReadFrom(t *testing.T) {
	inner := &readerFromWriter{ResponseRecorder: httptest.NewRecorder()}
	w := &observedWriter{ResponseWriter: inner}
	// A LimitedReader, as http.ServeContent copies: no WriteTo to go first.
	if n, err := io.Copy(w, io.LimitReader(strings.NewReader("hello"), 5)); n != 5 || err != nil {
		t.Fatalf("copied %d, %v; want 5", n, err)
	}
	if !inner.readFrom {
		t.Error("the server's writer's ReadFrom was not used")
	}
	if w.written != 5 || w.status != http.StatusOK {
		t.Errorf("noted %d bytes, status %d; want 5 and 200", w.written, w.status)
	}
	w.Flush()
	if w.unwrapped {
		t.Error("flushing marked the writer taken: it would leave the pool")
	}
	if got := inner.Body.String(); got != "hello" {
		t.Errorf("body %q, want hello", got)
	}
}
