package caddyingress

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestResponseHeaders(t *testing.T) {
	h := &ResponseHeaders{
		RedirectFrom: "http://backend.internal/", RedirectTo: "https://public.example.com/",
		CookieDomainFrom: "backend.internal", CookieDomainTo: "public.example.com",
		CookiePathFrom: "/", CookiePathTo: "/app/",
	}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Location", "HTTP://Backend.Internal/x?y=1")
		w.Header().Set("Refresh", "5; url=http://backend.internal/later")
		w.Header().Add("Set-Cookie", "a=b; Domain=.backend.internal; Path=/; HttpOnly")
		w.Header().Add("Set-Cookie", "c=d; path=/x; domain=other.example.com")
		w.Header().Add("Set-Cookie", "e=f")
		w.WriteHeader(http.StatusFound)
		return nil
	})
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil), next); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Header().Get("Location"), "https://public.example.com/x?y=1"; got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	if got, want := w.Header().Get("Refresh"), "5; url=https://public.example.com/later"; got != want {
		t.Errorf("Refresh: got %q, want %q", got, want)
	}
	want := []string{"a=b; Domain=public.example.com; Path=/app/; HttpOnly", "c=d; path=/app/x; domain=other.example.com", "e=f"}
	if got := w.Header().Values("Set-Cookie"); !slices.Equal(got, want) {
		t.Errorf("Set-Cookie: got %q, want %q", got, want)
	}
}
