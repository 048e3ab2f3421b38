package caddyingress

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestHeaders(t *testing.T) {
	h := &Headers{Ops: []HeaderOp{
		{Op: "set", Name: "x-frame-options", Value: "DENY"},
		{Op: "del", Name: "Server"},
		{Op: "del", Name: "X-Powered-", Value: "*"},
		{Op: "add", Name: "Cache-Control", Value: "no-store"},
		{Op: "add-always", Name: "X-Robots-Tag", Value: "noindex"},
		{Op: "req-set", Name: "X-Tenant", Value: "acme"},
		{Op: "req-del", Name: "Accept-Encoding"},
	}}
	if err := h.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{200, 404} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if r.Header.Get("X-Tenant") != "acme" || r.Header.Get("Accept-Encoding") != "" {
				t.Errorf("request headers %v: want X-Tenant set and Accept-Encoding removed", r.Header)
			}
			// What a backend sends, as reverse_proxy copies it.
			w.Header().Add("X-Frame-Options", "SAMEORIGIN")
			w.Header().Set("Server", "backend")
			w.Header().Set("X-Powered-By", "php")
			w.WriteHeader(status)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		got := w.Result().Header
		wantCache := ""
		if status == 200 {
			wantCache = "no-store"
		}
		if v := got.Values("X-Frame-Options"); len(v) != 1 || v[0] != "DENY" {
			t.Errorf("%d: X-Frame-Options %q, want only DENY", status, v)
		}
		if got.Get("Server") != "" || got.Get("X-Powered-By") != "" {
			t.Errorf("%d: cleared headers kept: %v", status, got)
		}
		if got.Get("Cache-Control") != wantCache || got.Get("X-Robots-Tag") != "noindex" {
			t.Errorf("%d: Cache-Control %q (want %q), X-Robots-Tag %q", status, got.Get("Cache-Control"), wantCache, got.Get("X-Robots-Tag"))
		}
	}

	ret := &Headers{RespondStatus: 301, RespondText: "https://new.example.com/"}
	w := httptest.NewRecorder()
	if err := ret.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil), nil); err != nil {
		t.Fatal(err)
	}
	if w.Code != 301 || w.Header().Get("Location") != "https://new.example.com/" {
		t.Errorf("return: %d %v", w.Code, w.Header())
	}
	if err := (&Headers{Ops: []HeaderOp{{Op: "exec", Name: "x"}}}).Provision(caddy.Context{}); err == nil {
		t.Error("an unknown op was accepted")
	}
}

// TestHeadersWithVariables: the -vars ops fill their values in from the
// request, as data; one that comes out empty sets nothing, and a set-vars
// then removes the backend's header.
func TestHeadersWithVariables(t *testing.T) {
	h := &Headers{Ops: []HeaderOp{
		{Op: "set-vars", Name: "Request-Id", Value: "$req_id"},
		{Op: "add-vars", Name: "X-Served", Value: "$host$uri"},
		{Op: "add-always-vars", Name: "X-Arg", Value: "$arg_x"},
		{Op: "set-vars", Name: "X-Empty", Value: "$http_x_missing"},
		{Op: "req-set-vars", Name: "X-Scheme-Seen", Value: "$scheme"},
	}}
	if err := h.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query, wantArg string
	}{
		{"x={file./etc/passwd}", "{file./etc/passwd}"}, // data, not a placeholder
		{"x=a%0d%0aSet-Cookie:%20b", ""},               // would break the header: not added
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "http://shop.example.com/cart?"+tt.query, nil)
		r.Header.Set("X-Request-Id", "0123abcd")
		err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if got := r.Header.Get("X-Scheme-Seen"); got != "http" {
				t.Errorf("request header X-Scheme-Seen %q, want http", got)
			}
			w.Header().Set("X-Empty", "from the backend")
			w.WriteHeader(http.StatusOK)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		got := w.Result().Header
		if got.Get("Request-Id") != "0123abcd" || got.Get("X-Served") != "shop.example.com/cart" {
			t.Errorf("%s: Request-Id %q, X-Served %q", tt.query, got.Get("Request-Id"), got.Get("X-Served"))
		}
		if v := got.Values("X-Arg"); tt.wantArg == "" && len(v) != 0 || tt.wantArg != "" && (len(v) != 1 || v[0] != tt.wantArg) {
			t.Errorf("%s: X-Arg %q, want %q", tt.query, v, tt.wantArg)
		}
		if v := got.Values("X-Empty"); len(v) != 0 {
			t.Errorf("%s: X-Empty %q, want it removed", tt.query, v)
		}
	}
	if err := (&Headers{Ops: []HeaderOp{{Op: "set-vars", Name: "X", Value: "$upstream_addr"}}}).Provision(caddy.Context{}); err == nil {
		t.Error("an unknown variable was accepted")
	}
}
