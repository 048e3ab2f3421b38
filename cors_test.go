package caddyingress

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestCORSAllowed(t *testing.T) {
	h := &CORS{Origins: []string{"https://app.example.com", "https://*.example.org", "http://localhost:3000"}}
	for origin, want := range map[string]string{
		"https://app.example.com":  "https://app.example.com",
		"HTTPS://APP.example.com":  "HTTPS://APP.example.com",
		"https://a.example.org":    "https://a.example.org",
		"https://a.b.example.org":  "",
		"https://example.org":      "",
		"http://localhost:3000":    "http://localhost:3000",
		"http://localhost:3001":    "",
		"http://app.example.com":   "",
		"":                         "",
		"https://evil.com/?x=.app": "",
	} {
		if got := h.allowed(origin); got != want {
			t.Errorf("%q: got %q, want %q", origin, got, want)
		}
	}
	if got := (&CORS{Origins: []string{"*"}}).allowed(""); got != "*" {
		t.Errorf("*: got %q, want *", got)
	}
}

func TestCORSServe(t *testing.T) {
	h := &CORS{Origins: []string{"https://app.example.com"}, Methods: "GET, POST", Headers: "Content-Type", Credentials: true, MaxAge: 60}
	backend := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Access-Control-Allow-Origin", "https://backend.example.com")
		w.WriteHeader(200)
		return nil
	})
	serve := func(method, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://a.example.com/", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		if err := h.ServeHTTP(w, r, backend); err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := serve("OPTIONS", "https://app.example.com")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" || w.Header().Get("Access-Control-Max-Age") != "60" ||
		w.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: got %d %v", w.Code, w.Header())
	}
	w = serve("GET", "https://app.example.com")
	if got := w.Header().Values("Access-Control-Allow-Origin"); w.Code != 200 || len(got) != 1 || got[0] != "https://app.example.com" {
		t.Errorf("simple request: got %d, Allow-Origin %q; want ours, once", w.Code, got)
	}
	w = serve("OPTIONS", "https://other.example.com")
	if got := w.Header().Get("Access-Control-Allow-Origin"); w.Code != 200 || got != "https://backend.example.com" {
		t.Errorf("other origin: got %d, Allow-Origin %q; want the backend's answer untouched", w.Code, got)
	}
}
