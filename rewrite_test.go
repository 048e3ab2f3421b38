package caddyingress

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestRewrite(t *testing.T) {
	tests := []struct {
		name, pattern, target, url string
		wantURI, wantPrefix        string
	}{
		{name: "groups", pattern: "/something(/|$)(.*)", target: "/$2", url: "/something/new?x=1", wantURI: "/new?x=1", wantPrefix: "/something"},
		{name: "empty group", pattern: "/something(/|$)(.*)", target: "/$2", url: "/something", wantURI: "/", wantPrefix: "/something"},
		{name: "case-insensitive", pattern: "/something(/|$)(.*)", target: "/$2", url: "/SomeThing/x", wantURI: "/x", wantPrefix: "/something"},
		{name: "whole path replaced", pattern: "/foo", target: "/", url: "/foo/bar", wantURI: "/", wantPrefix: "/something"},
		{name: "digit after a group", pattern: "/(a)", target: "/$10", url: "/a", wantURI: "/a0", wantPrefix: "/something"},
		{name: "no match", pattern: "/foo", target: "/", url: "/bar", wantURI: "/bar"},
		{name: "escaped on the way out", pattern: "/d/(.*)", target: "/$1", url: "/d/a%20b", wantURI: "/a%20b", wantPrefix: "/something"},
		{name: "placeholder-looking path stays text", pattern: "/(.*)", target: "/x/$1", url: "/%7Benv.HOME%7D", wantURI: "/x/%7Benv.HOME%7D", wantPrefix: "/something"},
		{name: "group without slash", pattern: "/(.*)", target: "$1", url: "/abc", wantURI: "/abc", wantPrefix: "/something"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Rewrite{Pattern: tt.pattern, Target: tt.target, ForwardedPrefix: "/something"}
			if err := h.Provision(caddy.Context{}); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", tt.url, nil)
			var gotURI, gotPrefix string
			next := caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				gotURI, gotPrefix = r.URL.RequestURI(), r.Header.Get("X-Forwarded-Prefix")
				return nil
			})
			if err := h.ServeHTTP(httptest.NewRecorder(), r, next); err != nil {
				t.Fatal(err)
			}
			if gotURI != tt.wantURI || gotPrefix != tt.wantPrefix {
				t.Errorf("got %q (prefix %q), want %q (prefix %q)", gotURI, gotPrefix, tt.wantURI, tt.wantPrefix)
			}
		})
	}
}
