package caddyingress

import (
	"testing"
)

// TestRegexDispatch: once an Ingress asks for regex on a host, all of the
// host's paths are case-insensitive regular expressions anchored at the
// start, the longest tried first; other hosts keep exact and prefix
// matching.
func TestRegexDispatch(t *testing.T) {
	regex := testIngress("regex", "regex.example.com",
		testPath{"/api/v[0-9]+/users", "ImplementationSpecific", "users"},
		testPath{"/api/v[0-9]+", "ImplementationSpecific", "versioned"},
	)
	regex.Annotations = map[string]string{"nginx.ingress.kubernetes.io/use-regex": "true"}
	plain := testIngress("plain", "regex.example.com",
		testPath{"/static", "Prefix", "static"},
		testPath{"/", "Prefix", "root"},
	)
	other := testIngress("other", "other.example.com", testPath{"/static", "Prefix", "other-static"})
	tbl := testTable(t, regex, plain, other)
	tests := []struct {
		host, path string
		want       marker
	}{
		{"regex.example.com", "/api/v2/users/42", "users"},
		{"regex.example.com", "/API/V2/USERS", "users"},
		{"regex.example.com", "/api/v2", "versioned"},
		{"regex.example.com", "/api/vx", "root"},
		{"regex.example.com", "/STATIC/a", "static"},
		{"regex.example.com", "/staticfiles", "static"}, // ^/static, no element boundary
		{"regex.example.com", "/x/api/v1", "root"},      // anchored at the start
		{"other.example.com", "/STATIC", ""},
		{"other.example.com", "/staticfiles", ""},
		{"other.example.com", "/static/a", "other-static"},
	}
	for _, tt := range tests {
		got, _ := tbl.lookup(tt.host, requestPath(tt.path)).(marker)
		if got != tt.want {
			t.Errorf("%s%s: got %q, want %q", tt.host, tt.path, got, tt.want)
		}
	}
}

func TestLiteralPrefix(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v[0-9]+":        "/api/v",
		"/something(/|$)(.*)": "",
		"/foo(/.*)?":          "/foo",
		"/ab?":                "/a",
		"/a.b":                "/a",
		"/plain":              "/plain",
		"/é":                  "/",
		"/x*":                 "/",
	} {
		if got := literalPrefix(path); got != want {
			t.Errorf("literalPrefix(%q) = %q, want %q", path, got, want)
		}
	}
}
