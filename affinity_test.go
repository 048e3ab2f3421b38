package caddyingress

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func affinityRequest(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "http://a.example.com/", nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: "route", Value: cookie})
	}
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
}

func TestAffinitySelect(t *testing.T) {
	pool := reverseproxy.UpstreamPool{{Dial: "10.0.0.1:80", Host: new(reverseproxy.Host)}, {Dial: "10.0.0.2:80", Host: new(reverseproxy.Host)}}
	a := &Affinity{Affinity: ingress.Affinity{Name: "route", Path: "/shop", MaxAge: 60, SameSite: "Lax"}}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}

	// No cookie: an endpoint in turn, and a cookie for it.
	w := httptest.NewRecorder()
	first := a.Select(pool, affinityRequest(""), w)
	cookies := (&http.Response{Header: w.Header()}).Cookies()
	if first == nil || len(cookies) != 1 {
		t.Fatalf("got %v and cookies %v, want an endpoint and one cookie", first, cookies)
	}
	c := cookies[0]
	if c.Value != endpointHash(first.Dial) || c.Path != "/shop" || c.MaxAge != 60 || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Errorf("got cookie %+v", c)
	}

	// With the cookie: the same endpoint, every time, and no new cookie.
	for range 5 {
		w := httptest.NewRecorder()
		if got := a.Select(pool, affinityRequest(c.Value), w); got != first {
			t.Fatalf("got %s, want the sticky %s", got.Dial, first.Dial)
		}
		if len(w.Header()["Set-Cookie"]) != 0 {
			t.Fatalf("got Set-Cookie %q for a sticky request", w.Header()["Set-Cookie"])
		}
	}

	// Other pods come and go: the session stays.
	churned := reverseproxy.UpstreamPool{{Dial: "10.0.0.9:80", Host: new(reverseproxy.Host)}, first, {Dial: "10.0.0.7:80", Host: new(reverseproxy.Host)}}
	for range 3 {
		if got := a.Select(churned, affinityRequest(c.Value), httptest.NewRecorder()); got != first {
			t.Fatalf("other endpoints changed: got %s, want the sticky %s", got.Dial, first.Dial)
		}
	}

	// Its endpoint gone: another, with a new cookie.
	other := pool[0]
	if other == first {
		other = pool[1]
	}
	w = httptest.NewRecorder()
	if got := a.Select(reverseproxy.UpstreamPool{other}, affinityRequest(c.Value), w); got != other || len(w.Header()["Set-Cookie"]) != 1 {
		t.Fatalf("endpoint gone: got %v, Set-Cookie %q; want %s and a new cookie", got, w.Header()["Set-Cookie"], other.Dial)
	}

	// A retry after a failure stays, unless change_on_failure.
	for _, change := range []bool{false, true} {
		a.ChangeOnFailure = change
		r := affinityRequest(c.Value)
		a.Select(pool, r, httptest.NewRecorder())
		got := a.Select(pool, r, httptest.NewRecorder())
		if moved := got != first; moved != change {
			t.Errorf("change_on_failure %v: retry went to %s (sticky %s)", change, got.Dial, first.Dial)
		}
	}
}

func TestSameSiteNoneCompatible(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36":   true,
		"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.3325.181 Safari/537.36": false,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile":  false,
		"curl/8.0": true,
	} {
		if got := sameSiteNoneCompatible(ua); got != want {
			t.Errorf("%q: got %v, want %v", ua, got, want)
		}
	}
}
