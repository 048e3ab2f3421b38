package caddyingress

import (
	"bytes"
	"compress/gzip"
	"io"
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

// TestBackendGetsClientAcceptEncoding: as with nginx, a backend gets the
// client's Accept-Encoding as sent, none when the client sent none, and
// its compressed response reaches the client as it was sent.
func TestBackendGetsClientAcceptEncoding(t *testing.T) {
	body := bytes.Repeat([]byte("compressible "), 100)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got-Accept-Encoding", r.Header.Get("Accept-Encoding"))
		if r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
			return
		}
		w.Write(body)
	}))
	defer backend.Close()
	app := runApp(t)
	app.update(&ingress.Snapshot{
		Services:       []*corev1.Service{testService("web")},
		EndpointSlices: []*discoveryv1.EndpointSlice{loopbackSlice("web", int32(backend.Listener.Addr().(*net.TCPAddr).Port))},
		Ingresses:      []*networkingv1.Ingress{testIngress("web", "app.example.com", testPath{"/", "Prefix", "web"})},
	}, nil)
	h := &Handler{app: app}
	for _, c := range []struct {
		sent, want string
		wantBody   []byte
	}{
		{"", "", body},
		{"gzip", "gzip", gz.Bytes()},
		{"br, zstd", "br, zstd", body},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "http://app.example.com/", nil)
		if c.sent != "" {
			r.Header.Set("Accept-Encoding", c.sent)
		}
		r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, new(caddyhttp.Server))
		if err := h.ServeHTTP(w, r, nil); err != nil || w.Code != 200 {
			t.Fatalf("Accept-Encoding %q: got %d, %v; want 200", c.sent, w.Code, err)
		}
		if got := w.Header().Get("X-Got-Accept-Encoding"); got != c.want {
			t.Errorf("client sent Accept-Encoding %q: the backend got %q, want %q", c.sent, got, c.want)
		}
		got, _ := io.ReadAll(w.Body)
		if !bytes.Equal(got, c.wantBody) {
			t.Errorf("client sent Accept-Encoding %q: got a body of %d bytes (Content-Encoding %q), want the backend's %d",
				c.sent, len(got), w.Header().Get("Content-Encoding"), len(c.wantBody))
		}
	}
}
