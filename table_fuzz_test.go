package caddyingress

import (
	"strings"
	"testing"
)

// FuzzRequestHostPath checks the normalization of what requests carry:
// a host is empty or a lowercase DNS-like name without port or trailing
// dot; a path is absolute, without "." or ".." segments or repeated
// slashes, and normalizing it again changes nothing.
func FuzzRequestHostPath(f *testing.F) {
	for _, seed := range [][2]string{
		{"Shop.Example.COM:8443", "/a/../b"},
		{"[::1]:80", "//x///y/"},
		{"shop.example.com.", "/public/../admin"},
		{"1.2.3.4", ""},
		{"bad_host", "a/b"},
		{"ünicode", "/./."},
		{"h:", "/.."},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, hostport, p string) {
		host := requestHost(hostport)
		if strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789-.") != "" {
			t.Errorf("requestHost(%q) = %q, want a lowercase name without port", hostport, host)
		}
		got := requestPath(p)
		if !strings.HasPrefix(got, "/") || strings.Contains(got, "//") {
			t.Errorf("requestPath(%q) = %q, want an absolute path without repeated slashes", p, got)
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == "." || seg == ".." {
				t.Errorf("requestPath(%q) = %q holds a %q segment", p, got, seg)
			}
		}
		if again := requestPath(got); again != got {
			t.Errorf("requestPath(%q) = %q, then %q, want the same", p, got, again)
		}
	})
}
