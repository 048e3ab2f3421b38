package caddyingress

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestUpstreamsPickInTurn: with pick round_robin, reverse_proxy gets one
// endpoint per try, each in turn, so that requests are spread evenly,
// and a try that cannot connect is retried on the next endpoint.
func TestUpstreamsPickInTurn(t *testing.T) {
	app := runApp(t)
	snap := &ingress.Snapshot{
		Services:  []*corev1.Service{testService("web")},
		Ingresses: []*networkingv1.Ingress{testIngress("web", "app.example.com", testPath{"/", "Prefix", "web"})},
	}
	served := map[string]int{}
	for i := range 3 {
		name := fmt.Sprintf("pod%d", i)
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(name)) }))
		defer backend.Close()
		slice := loopbackSlice("web", int32(backend.Listener.Addr().(*net.TCPAddr).Port))
		slice.Name = "web-" + name // one slice per port
		snap.EndpointSlices = append(snap.EndpointSlices, slice)
		served[name] = 0
	}
	// A fourth endpoint that refuses connections: its tries go on to
	// the next endpoint.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := loopbackSlice("web", int32(ln.Addr().(*net.TCPAddr).Port))
	closed.Name = "web-closed"
	ln.Close()
	snap.EndpointSlices = append(snap.EndpointSlices, closed)
	app.update(snap, nil)
	if len(app.problems) > 0 {
		t.Fatalf("problems: %v", app.problems)
	}

	app.mu.Lock()
	var keys []string
	for _, sp := range app.shared {
		keys = append(keys, sp.key)
	}
	app.mu.Unlock()
	if len(keys) != 1 || !strings.Contains(keys[0], `"pick":"round_robin"`) {
		t.Fatalf("shared handlers %q, want one whose source picks round robin", keys)
	}

	// The source itself: one endpoint per call, each in turn.
	u := &Upstreams{servicePort: servicePort{app: app, key: ingress.UpstreamKey{Namespace: "default", Service: "web"}}, Pick: "round_robin", next: new(atomic.Uint64)}
	req := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://app.example.com/", nil), caddy.NewReplacer(), httptest.NewRecorder(), new(caddyhttp.Server))
	s := app.acquire()
	caddyhttp.SetVar(req.Context(), servedVar, s)
	var dials []string
	for range 8 {
		ups, err := u.GetUpstreams(req)
		if err != nil || len(ups) != 1 {
			t.Fatalf("got %d upstreams, %v; want 1", len(ups), err)
		}
		dials = append(dials, ups[0].Dial)
	}
	s.routes.release()
	if !slices.Equal(dials[:4], dials[4:]) || len(slices.Compact(slices.Sorted(slices.Values(dials[:4])))) != 4 {
		t.Errorf("picked %q, want the four endpoints in turn, twice", dials)
	}

	h := &Handler{app: app}
	const requests = 30
	for range requests {
		w := httptest.NewRecorder()
		r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "http://app.example.com/", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
		if err := h.ServeHTTP(w, r, nil); err != nil || w.Code != http.StatusOK {
			t.Fatalf("got %d, %v; want 200 (a refused try goes to the next endpoint)", w.Code, err)
		}
		served[w.Body.String()]++
	}
	// Each round of four picks serves one request on each live
	// endpoint, one of them after the refused endpoint's try.
	for name, n := range served {
		if n < requests/3-1 || n > requests/3+1 {
			t.Errorf("%s served %d of %d requests, want about a third: %v", name, n, requests, served)
		}
	}
}
