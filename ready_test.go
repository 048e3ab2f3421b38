package caddyingress

import (
	"net/http/httptest"
	"testing"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func TestReady(t *testing.T) {
	app := new(App)
	h := &Ready{app: app}
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil), nil); err != nil {
		t.Fatal(err)
	}
	if w.Code != 503 {
		t.Errorf("before the first snapshot: got %d, want 503", w.Code)
	}
	app.setTable(&ingress.Result{}, nil)
	w = httptest.NewRecorder()
	if err := h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil), nil); err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 {
		t.Errorf("after the first snapshot: got %d, want 200", w.Code)
	}
}
