package kube

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestResourceOf(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/api/v1/services", "services"},
		{"/api/v1/namespaces/web/secrets", "secrets"},
		{"/apis/networking.k8s.io/v1/ingresses", "ingresses.networking.k8s.io"},
		{"/apis/networking.k8s.io/v1/namespaces/web/ingresses", "ingresses.networking.k8s.io"},
		{"/apis/discovery.k8s.io/v1/endpointslices", "endpointslices.discovery.k8s.io"},
		{"/apis/networking.k8s.io/v1/namespaces/web/ingresses/shop", ""},
		{"/apis/networking.k8s.io/v1/namespaces/web/ingresses/shop/status", ""},
		{"/api/v1/namespaces/web/services/lb", ""},
		{"/version", ""},
		{"/apis", ""},
		{"/", ""},
	}
	for _, tt := range tests {
		if got := resourceOf(tt.path); got != tt.want {
			t.Errorf("resourceOf(%q): got %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestHealth checks that a failing resource is logged at once, then at
// most once per interval with the count of failures, and that a success
// seen by the transport is logged once as a recovery.
func TestHealth(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := NewHealth(zap.New(core), "https://api.test:6443")
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	listErr := errors.New(`failed to list *v1.Ingress: ingresses.networking.k8s.io is forbidden: User "caddy" cannot list resource "ingresses"`)

	h.failed(resourceIngresses, "list", listErr)
	for range 5 {
		now = now.Add(time.Second)
		h.failed(resourceIngresses, "list", listErr)
	}
	h.failed(resourceSecrets, "watch", errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"))
	now = now.Add(DefaultErrorInterval)
	h.failed(resourceIngresses, "list", listErr)

	want := []string{
		`cannot list ingresses.networking.k8s.io at https://api.test:6443: ingresses.networking.k8s.io is forbidden: User "caddy" cannot list resource "ingresses"`,
		`cannot watch secrets at https://api.test:6443: dial tcp 127.0.0.1:6443: connect: connection refused`,
		`cannot list ingresses.networking.k8s.io at https://api.test:6443: ingresses.networking.k8s.io is forbidden: User "caddy" cannot list resource "ingresses"`,
	}
	entries := logs.TakeAll()
	if len(entries) != len(want) {
		t.Fatalf("got %d log entries, want %d: %v", len(entries), len(want), entries)
	}
	for i, e := range entries {
		if e.Message != want[i] || e.Level != zapcore.ErrorLevel {
			t.Errorf("entry %d: got %s %q, want error %q", i, e.Level, e.Message, want[i])
		}
	}
	if got := entries[2].ContextMap()["failures"]; got != int64(6) {
		t.Errorf("got failures %v in the repeated entry, want 6", got)
	}

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/secrets" {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer backend.Close()
	client := &http.Client{Transport: h.WrapTransport(http.DefaultTransport)}
	for _, path := range []string{"/apis/networking.k8s.io/v1/ingresses", "/apis/networking.k8s.io/v1/namespaces/a/ingresses", "/api/v1/secrets"} {
		resp, err := client.Get(backend.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	entries = logs.TakeAll()
	wantRecovered := "listing and watching ingresses.networking.k8s.io at https://api.test:6443 works again"
	if len(entries) != 1 || entries[0].Message != wantRecovered {
		t.Errorf("got %v, want one entry %q", entries, wantRecovered)
	}
	// Secrets were refused: still failing (logged last 30s ago), so of
	// two more failures only the first is logged.
	h.failed(resourceSecrets, "list", errors.New("still refused"))
	h.failed(resourceSecrets, "list", errors.New("still refused"))
	if got := logs.Len(); got != 1 {
		t.Errorf("got %d entries for two failures within the interval, want 1", got)
	}
}

// TestHealthSeesRefusedConnections checks that a list or watch request
// that cannot reach the API server is reported by the transport, since
// client-go retries those without telling the informer.
func TestHealthSeesRefusedConnections(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := NewHealth(zap.New(core), "https://api.test:6443")
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	client := &http.Client{Transport: h.WrapTransport(http.DefaultTransport)}
	for _, path := range []string{
		"/apis/networking.k8s.io/v1/ingresses?watch=true&sendInitialEvents=true",
		"/api/v1/namespaces/a/services?watch=true",
		"/api/v1/namespaces/a/services/lb", // not a list or watch
	} {
		if resp, err := client.Get(closed.URL + path); err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s: got no error, want a refused connection", path)
		}
	}
	var got []string
	for _, e := range logs.TakeAll() {
		got = append(got, e.Message[:strings.Index(e.Message, ": ")])
	}
	want := []string{
		"cannot list ingresses.networking.k8s.io at https://api.test:6443",
		"cannot watch services at https://api.test:6443",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
