package caddyingress

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	_ "github.com/caddyserver/caddy/v2/modules/logging" // the file log writer
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestSharedProxyLogsLazily: the shared reverse_proxy handlers encode the
// request into their log context only when they log (lazyWithCore), and
// with debug logs on they still log each round trip with the request
// they sent, its headers included.
func TestSharedProxyLogsLazily(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	port := int32(backend.Listener.Addr().(*net.TCPAddr).Port)
	logFile := filepath.Join(t.TempDir(), "debug.log")
	cfg := `{"admin":{"disabled":true,"config":{"persist":false}},
		"logging":{"logs":{"default":{"level":"DEBUG","writer":{"output":"file","filename":` + strconv.Quote(logFile) + `}}}},
		"apps":{"ingress":{"source":{"source":"by_hand"}}}}`
	app := loadApp(t, cfg)
	app.update(&ingress.Snapshot{
		Services:       []*corev1.Service{testService("web")},
		EndpointSlices: []*discoveryv1.EndpointSlice{loopbackSlice("web", port)},
		Ingresses:      []*networkingv1.Ingress{testIngress("web", "app.example.com", testPath{"/", "Prefix", "web"})},
	}, nil)

	app.mu.Lock()
	n := len(app.shared)
	for _, sp := range app.shared {
		rp, ok := sp.handler.(*reverseproxy.Handler)
		if !ok {
			t.Fatalf("shared handler is a %T", sp.handler)
		}
		p := proxyLogger(rp)
		if p == nil {
			t.Fatal("reverse_proxy has no logger field of type *zap.Logger: makeLoggerLazy no longer applies to this Caddy")
		}
		if _, lazy := (*p).Core().(lazyWithCore); !lazy {
			t.Errorf("the shared reverse_proxy's logger core is a %T, want lazyWithCore", (*p).Core())
		}
	}
	app.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d shared handlers, want 1", n)
	}

	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://app.example.com/lazy", nil)
	r.Header.Set("X-Probe", "probe-value")
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, new(caddyhttp.Server))
	h := &Handler{app: app}
	if err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })); err != nil || w.Code != 200 {
		t.Fatalf("got %d, %v; want 200", w.Code, err)
	}
	if err := caddy.Stop(); err != nil { // flushes and closes the log
		t.Fatal(err)
	}

	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entry struct {
		Msg     string `json:"msg"`
		Request struct {
			URI     string              `json:"uri"`
			Headers map[string][]string `json:"headers"`
		} `json:"request"`
		Status int `json:"status"`
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	found := false
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"upstream roundtrip"`) {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		found = true
		break
	}
	if !found {
		t.Fatal("no upstream roundtrip entry in the debug log")
	}
	if !strings.HasSuffix(entry.Request.URI, "/lazy") || entry.Status != 200 {
		t.Errorf("logged uri %q status %d, want /lazy and 200", entry.Request.URI, entry.Status)
	}
	for name, want := range map[string]string{"X-Probe": "probe-value", "X-Scheme": "http"} {
		if got := entry.Request.Headers[name]; len(got) != 1 || got[0] != want {
			t.Errorf("logged request header %s = %q, want %q (the request as sent)", name, got, want)
		}
	}
}
