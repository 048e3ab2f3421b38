package ingress_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestProxyTransports checks that every reverse_proxy of every test case
// has the ingress transport (or, for FastCGI backends, the ingress_fastcgi
// one), whose connection pool is shared by the
// transports with the same settings, and that a cleartext one holds
// nothing but settings: no Ingress name, which would make the routes of
// otherwise identical paths differ.
func TestProxyTransports(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	var proxies, tls int
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			snap, _, opts := loadCase(t, file)
			out, err := json.Marshal(ingress.Translate(snap, opts))
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatal(err)
			}
			for _, h := range reverseProxies(v) {
				proxies++
				tr, _ := h["transport"].(map[string]any)
				if tr["protocol"] == ingress.FastCGITransportModule {
					// FastCGI dials a connection per request: no pool.
					continue
				}
				if tr["protocol"] != ingress.TransportModule {
					t.Errorf("got transport %v, want protocol %q", h["transport"], ingress.TransportModule)
					continue
				}
				if tr["tls"] == true {
					tls++
					continue
				}
				for _, key := range []string{"ingress", "secret", "verify", "server_name", "send_sni"} {
					if _, ok := tr[key]; ok {
						t.Errorf("cleartext transport %v has %s, want only connection settings", tr, key)
					}
				}
			}
		})
	}
	if proxies == 0 || tls == 0 {
		t.Errorf("got %d reverse_proxy handlers, %d with TLS, want some of each", proxies, tls)
	}
}

// reverseProxies returns the reverse_proxy handlers anywhere in v.
func reverseProxies(v any) []map[string]any {
	var out []map[string]any
	switch v := v.(type) {
	case map[string]any:
		if v["handler"] == "reverse_proxy" {
			out = append(out, v)
		}
		for _, e := range v {
			out = append(out, reverseProxies(e)...)
		}
	case []any:
		for _, e := range v {
			out = append(out, reverseProxies(e)...)
		}
	}
	return out
}
