package caddyingress

import (
	"encoding/json"
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

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// connBackend is a keep-alive HTTP backend that counts the connections
// made to it and those still open.
type connBackend struct {
	*httptest.Server
	mu     sync.Mutex
	open   map[net.Conn]bool
	opened int
}

func startConnBackend(t *testing.T) *connBackend {
	t.Helper()
	b := &connBackend{open: map[net.Conn]bool{}}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.Config.ConnState = func(c net.Conn, s http.ConnState) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch s {
		case http.StateNew:
			b.open[c] = true
			b.opened++
		case http.StateClosed, http.StateHijacked:
			delete(b.open, c)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// conns returns the number of connections made and still open.
func (b *connBackend) conns() (opened, open int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened, len(b.open)
}

// waitClosed waits until no connection to b is open.
func (b *connBackend) waitClosed(t *testing.T, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, open := b.conns(); open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: a connection to the backend is still open after 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *connBackend) port() int32 { return int32(b.Listener.Addr().(*net.TCPAddr).Port) }

// TestPoolSettings checks which transports share a pool: those whose
// settings are equal, whatever Ingress they name and in whatever order
// they list versions.
func TestPoolSettings(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		share bool
	}{
		{name: "defaults", a: `{}`, b: `{}`, share: true},
		{name: "default versions", a: `{}`, b: `{"versions":["2","1.1","2"]}`, share: true},
		{name: "h2c", a: `{}`, b: `{"versions":["h2c","2"]}`},
		{name: "dial timeout", a: `{"dial_timeout":"5s"}`, b: `{"dial_timeout":"5s"}`, share: true},
		{name: "other dial timeout", a: `{"dial_timeout":"5s"}`, b: `{"dial_timeout":"7s"}`},
		{name: "read timeout", a: `{}`, b: `{"read_timeout":"5s"}`},
		{name: "write timeout", a: `{}`, b: `{"write_timeout":"5s"}`},
		{name: "TLS", a: `{}`, b: `{"tls":true}`},
		{name: "TLS of two Ingresses", a: `{"tls":true,"ingress":"ns/a"}`, b: `{"tls":true,"ingress":"ns/b"}`, share: true},
		{name: "secret", a: `{"tls":true,"secret":"ns/ca"}`, b: `{"tls":true,"secret":"ns/other"}`},
		{name: "verify", a: `{"tls":true,"server_name":"x"}`, b: `{"tls":true,"server_name":"x","verify":true}`},
		{name: "server name", a: `{"tls":true,"server_name":"x"}`, b: `{"tls":true,"server_name":"y"}`},
		{name: "SNI", a: `{"tls":true,"server_name":"x"}`, b: `{"tls":true,"server_name":"x","send_sni":true}`},
		{name: "SNI without a name", a: `{"tls":true}`, b: `{"tls":true,"send_sni":true}`, share: true},
		{name: "TLS versions", a: `{"tls":true}`, b: `{"tls":true,"protocol_min":"tls1.3"}`},
		{name: "default TLS versions", a: `{"tls":true}`, b: `{"tls":true,"protocol_min":"tls1.2","protocol_max":"tls1.3"}`, share: true},
		{name: "cipher suites", a: `{"tls":true}`, b: `{"tls":true,"cipher_suites":["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}`},
		{name: "cipher suites in another order", a: `{"tls":true,"cipher_suites":["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256","TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]}`,
			b: `{"tls":true,"cipher_suites":["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384","TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}`, share: true},
		{name: "verify depth", a: `{"tls":true,"server_name":"x","verify":true}`, b: `{"tls":true,"server_name":"x","verify":true,"verify_depth":1}`},
		{name: "other verify depth", a: `{"tls":true,"server_name":"x","verify":true,"verify_depth":0}`, b: `{"tls":true,"server_name":"x","verify":true,"verify_depth":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a, b Transport
			if err := json.Unmarshal([]byte(tt.a), &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.b), &b); err != nil {
				t.Fatal(err)
			}
			sa, err := a.settings()
			if err != nil {
				t.Fatal(err)
			}
			sb, err := b.settings()
			if err != nil {
				t.Fatal(err)
			}
			if got := sa == sb; got != tt.share {
				t.Errorf("got shared %v, want %v (%+v, %+v)", got, tt.share, sa, sb)
			}
		})
	}
}

// TestPoolRefCount checks that a pool stays while any transport uses it
// and leaves the registry with the last one, and that the same settings
// then get a new pool.
func TestPoolRefCount(t *testing.T) {
	app := runApp(t)
	s := poolSettings{versions: "1.1,2"}
	p1, err := app.pools.acquire(app, s)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := app.pools.acquire(app, s)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Fatal("got two pools for the same settings, want one")
	}
	other, err := app.pools.acquire(app, poolSettings{versions: "1.1,2", dialTimeout: caddy.Duration(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if other == p1 {
		t.Fatal("got the same pool for other settings, want another")
	}
	if got := app.pools.len(); got != 2 {
		t.Fatalf("got %d pools, want 2", got)
	}
	app.pools.release(p1)
	if p1.released.Load() || app.pools.len() != 2 {
		t.Fatalf("released %v with %d pools after one of two users left, want the pool kept", p1.released.Load(), app.pools.len())
	}
	app.pools.release(p2)
	if !p1.released.Load() || app.pools.len() != 1 {
		t.Fatalf("released %v with %d pools after the last user left, want the pool gone", p1.released.Load(), app.pools.len())
	}
	p3, err := app.pools.acquire(app, s)
	if err != nil {
		t.Fatal(err)
	}
	if p3 == p1 {
		t.Error("got the released pool again, want a new one")
	}
	app.pools.release(p3)
	app.pools.release(other)
	if got := app.pools.len(); got != 0 {
		t.Errorf("got %d pools after all were released, want 0", got)
	}
}

// TestPoolSharedConnections checks that routes compiled apart, with
// transports of equal settings, send requests over one keep-alive
// connection, that cleaning up one of them leaves it open for the other,
// and that cleaning up the last closes it.
func TestPoolSharedConnections(t *testing.T) {
	app := runApp(t)
	backend := startConnBackend(t)
	addr := backend.Listener.Addr().String()
	ctx1, cancel1 := caddy.NewContext(caddy.ActiveContext())
	defer cancel1()
	ctx2, cancel2 := caddy.NewContext(caddy.ActiveContext())
	defer cancel2()
	h1 := compileProxy(t, ctx1, addr, `{"protocol":"ingress","dial_timeout":"5s"}`)
	h2 := compileProxy(t, ctx2, addr, `{"protocol":"ingress","dial_timeout":"5s"}`)
	for i, h := range []caddyhttp.Handler{h1, h2, h1, h2} {
		if status, _, err := proxy(h); status != 200 {
			t.Fatalf("request %d: got %d (%v), want 200", i, status, err)
		}
	}
	if opened, open := backend.conns(); opened != 1 || open != 1 {
		t.Fatalf("got %d connections made, %d open, want 1 and 1", opened, open)
	}
	if got := app.pools.len(); got != 1 {
		t.Fatalf("got %d pools, want 1", got)
	}

	cancel1()
	if status, _, err := proxy(h2); status != 200 {
		t.Fatalf("after the first routes went: got %d (%v), want 200", status, err)
	}
	if opened, open := backend.conns(); opened != 1 || open != 1 {
		t.Fatalf("after the first routes went: got %d connections made, %d open, want the same 1 open", opened, open)
	}
	cancel2()
	backend.waitClosed(t, "after the last routes went")
	if got := app.pools.len(); got != 0 {
		t.Errorf("got %d pools, want 0", got)
	}
}

// TestAppSharesPools checks that the app's paths to one Service with
// different routes (another upstream-vhost) share one connection pool,
// that a change which keeps the pool keeps its connection, and that a
// change which drops it closes it.
func TestAppSharesPools(t *testing.T) {
	backend := startConnBackend(t)
	port := backend.port()
	app := runApp(t)
	slice := loopbackSlice("svc", port)
	ingresses := func(annotations ...map[string]string) []*networkingv1.Ingress {
		var ings []*networkingv1.Ingress
		for i, a := range annotations {
			ing := testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i), testPath{"/", "Prefix", "svc"})
			ing.Annotations = a
			ings = append(ings, ing)
		}
		return ings
	}
	vhost := func(host string, more ...string) map[string]string {
		a := map[string]string{"nginx.ingress.kubernetes.io/upstream-vhost": host}
		for i := 0; i < len(more); i += 2 {
			a[more[i]] = more[i+1]
		}
		return a
	}
	snap := &ingress.Snapshot{
		Ingresses:      ingresses(vhost("one.internal"), vhost("two.internal")),
		Services:       []*corev1.Service{testService("svc")},
		EndpointSlices: []*discoveryv1.EndpointSlice{slice},
	}
	app.update(snap, nil)
	if len(app.problems) > 0 {
		t.Fatalf("problems: %v", app.problems)
	}
	h := &Handler{app: app}
	get := func(host string) {
		t.Helper()
		w := httptest.NewRecorder()
		req := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://"+host+"/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
		if err := h.ServeHTTP(w, req, nil); err != nil || w.Code != 200 {
			t.Fatalf("%s: got %d, %v; want 200 from the backend", host, w.Code, err)
		}
	}
	for range 2 {
		get("app0.example.com")
		get("app1.example.com")
	}
	if n := len(compiledOf(app.current().routes)); n != 2 {
		t.Fatalf("got %d compiled routes, want 2", n)
	}
	if opened, open := backend.conns(); opened != 1 || open != 1 {
		t.Fatalf("got %d connections made, %d open, want 1 and 1", opened, open)
	}

	// A new route for the first Ingress, with the same transport: the
	// old route is released, the pool and its connection stay.
	old := app.current().routes
	next := *snap
	next.Ingresses = ingresses(vhost("three.internal"), vhost("two.internal"))
	app.update(&next, nil)
	waitReleased(t, app, old)
	get("app0.example.com")
	get("app1.example.com")
	if opened, open := backend.conns(); opened != 1 || open != 1 {
		t.Fatalf("after a change that keeps the pool: got %d connections made, %d open, want the same 1", opened, open)
	}

	// Other timeouts for both: a new pool; the old one closes its
	// connection.
	timeout := "nginx.ingress.kubernetes.io/proxy-read-timeout"
	last := next
	last.Ingresses = ingresses(vhost("three.internal", timeout, "30"), vhost("two.internal", timeout, "30"))
	app.update(&last, nil)
	backend.waitClosed(t, "after a change of pool")
	if got := app.pools.len(); got != 1 {
		t.Errorf("got %d pools, want 1", got)
	}
}
