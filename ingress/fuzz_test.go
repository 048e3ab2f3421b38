package ingress

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fuzzIngress is an Ingress of class caddy in namespace fuzz, with one
// rule for host and path to Service web, and the annotation key: value.
func fuzzIngress(host, path, key, value string) *networkingv1.Ingress {
	class := "caddy"
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "fuzz", Name: "web", Annotations: map[string]string{key: value}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "web-tls"}},
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
}

// FuzzTranslateAnnotation translates an Ingress with one annotation of any
// key and value, under either prefix, and any host and path: translation
// never panics, is deterministic, and every problem names the Ingress and
// a field.
func FuzzTranslateAnnotation(f *testing.F) {
	for _, seed := range [][4]string{
		{"shop.example.com", "/", "ssl-redirect", "false"},
		{"*.example.com", "/api", "auth-tls-secret", "other/ca"},
		{"a.example.com", "/x", "auth-tls-verify-depth", "99"},
		{"a.example.com", "/", "auth-tls-match-cn", "CN=(alice|bob"},
		{"a.example.com", "/", "hsts", "max-age=10; preload; x"},
		{"a.example.com", "/", "proxy-ssl-secret", "{env.HOME}"},
		{"a.example.com", "/", "backend-protocol", "GRPCS"},
		{"", "/a/../b", "rewrite-target", "/$1"},
		{"UPPER.example.com", "no-slash", "whitelist-source-range", "10.0.0.0/8"},
		{"a.example.com", "/id/[0-9]{3}", "use-regex", "true"},
		{"a.example.com", "/(.*)", "rewrite-target", "/x/$1{env.HOME}"},
		{"a.example.com", "/", "x-forwarded-prefix", "/{file./etc/passwd}"},
		{"a.example.com", "/", "app-root", "/app"},
		{"a.example.com", "/", "permanent-redirect", "https://{env.HOME}/"},
		{"a.example.com", "/", "temporal-redirect-code", "307"},
		{"a.example.com", "/", "server-alias", "b.example.com, *.c.example.com"},
		{"a.example.com", "/", "upstream-vhost", "{http.request.host}"},
		{"a.example.com", "/", "proxy-cookie-path", "/ /{env.HOME}"},
		{"a.example.com", "/", "proxy-redirect-from", "http://a/"},
		{"a.example.com", "/", "custom-http-errors", "404,503"},
		{"a.example.com", "/", "default-backend", "web"},
		{"a.example.com", "/", "service-upstream", "true"},
		{"a.example.com", "/", "from-to-www-redirect", "true"},
		{"a.example.com", "/", "proxy-body-size", "8m"},
		{"a.example.com", "/", "proxy-read-timeout", "60"},
		{"a.example.com", "/", "load-balance", "ewma"},
		{"a.example.com", "/", "proxy-buffer-size", "16k"},
		{"a.example.com", "/", "proxy-next-upstream", "error timeout non_idempotent"},
		{"a.example.com", "/", "affinity", "cookie"},
		{"a.example.com", "/", "upstream-hash-by", "${request_uri}$http_x_user"},
		{"a.example.com", "/", "canary-by-header-pattern", "a{2}"},
		{"a.example.com", "/", "limit-whitelist", "10.0.0.0/8, ::1"},
		{"a.example.com", "/", "session-cookie-path", "/{env.HOME}"},
		{"a.example.com", "/", "auth-url", "https://$host/oauth2/auth?x={env.HOME}"},
		{"a.example.com", "/", "auth-url", "http://auth/check?$http_x_a"},
		{"a.example.com", "/", "configuration-snippet", "more_set_headers \"X-A: {env.HOME}\";"},
		{"a.example.com", "/", "server-snippet", "add_header X-B '{file./etc/passwd}' always; return 200 \"{env.HOME}\";"},
		{"a.example.com", "/", "configuration-snippet", "return 302 https://{env.HOME}/;"},
		{"a.example.com", "/", "auth-snippet", "proxy_set_header X-A b;"},
		{"a.example.com", "/", "satisfy", "any"},
		{"a.example.com", "/", "custom-headers", "fuzz/headers"},
		{"a.example.com", "/", "mirror-target", "https://mirror.example.com$request_uri"},
		{"a.example.com", "/", "mirror-target", "http://{env.HOME}/$host${request_uri}"},
		{"a.example.com", "/", "mirror-host", "{http.request.host}"},
		{"a.example.com", "/", "enable-access-log", "false"},
		{"a.example.com", "/", "ssl-ciphers", "ALL:!aNULL"},
		{"a.example.com", "/", "proxy-ssl-ciphers", "DEFAULT:!SHA1:-aRSA:ECDHE-RSA-AES128-SHA"},
		{"a.example.com", "/", "proxy-ssl-protocols", "TLSv1.3 TLSv1.2"},
		{"a.example.com", "/", "proxy-ssl-verify-depth", "0"},
		{"a.example.com", "/", "auth-tls-error-page", "https://errors.example.com:8443/cert-error.html"},
		{"a.example.com", "/", "limit-rate", "100"},
		{"a.example.com", "/", "limit-rate-after", "{env.HOME}"},
		{"a.example.com", "/", "connection-proxy-header", "close"},
		{"a.example.com", "/", "relative-redirects", "true"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], false)
		f.Add(seed[0], seed[1], seed[2], seed[3], true)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "fuzz", Name: "web-tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("not a certificate"), "tls.key": []byte("not a key")}}
	service := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "fuzz", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	f.Fuzz(func(t *testing.T, host, path, name, value string, own bool) {
		key := nginxPrefix + name
		if own {
			key = ownPrefix + name
		}
		snap := &Snapshot{
			Ingresses: []*networkingv1.Ingress{fuzzIngress(host, path, key, value)},
			Services:  []*corev1.Service{service},
			Secrets:   []*corev1.Secret{secret},
		}
		opts := Options{IngressClass: "caddy", Controller: "caddy-ingress.io/controller", HTTPSPort: 443, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
		res := Translate(snap, opts)
		again := Translate(snap, opts)
		if !slices.Equal(res.Problems, again.Problems) {
			t.Fatalf("got problems %v, then %v, want the same", res.Problems, again.Problems)
		}
		want := ObjectRef{Kind: "Ingress", Namespace: "fuzz", Name: "web"}
		for _, p := range res.Problems {
			if p.Object != want || p.Field == "" || p.Reason == "" {
				t.Errorf("got problem %+v, want one of Ingress fuzz/web with a field and a reason", p)
			}
		}
		for h := range res.Hosts.All() {
			for _, p := range h.Paths {
				checkPlaceholders(t, p.Routes)
			}
			if h.Default != nil {
				checkPlaceholders(t, h.Default.Routes)
			}
		}
	})
}

// renderedPlaceholders are the only placeholders that routes may hold in
// the settings of Caddy's own handlers: render writes them itself.
var renderedPlaceholders = []string{
	"{http.request.header.Accept}", "{http.request.orig_uri}", "{http.request.header.X-Request-Id}",
	"{http.reverse_proxy.status_code}", "{http.request.uri.query}", "{http.vars.client_ip}",
	"{http.request.scheme}", "{http.request.method}",
}

// checkPlaceholders fails t if a string in the settings of one of Caddy's
// own handlers in routes has a brace that is not one of
// renderedPlaceholders: user text would be expanded there. Our handlers
// and selection policies (ingress_*) take their settings as data.
func checkPlaceholders(t *testing.T, routes json.RawMessage) {
	t.Helper()
	var v any
	if err := json.Unmarshal(routes, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if h, _ := v["handler"].(string); strings.HasPrefix(h, "ingress_") {
				return
			}
			if p, _ := v["policy"].(string); strings.HasPrefix(p, "ingress_") {
				return
			}
			for k, x := range v {
				if !strings.HasPrefix(k, "ingress_") { // our matchers
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			rest := v
			for _, p := range renderedPlaceholders {
				rest = strings.ReplaceAll(rest, p, "")
			}
			if strings.ContainsAny(rest, "{}") {
				t.Errorf("routes hold %q, which Caddy would expand", v)
			}
		}
	}
	walk(v)
}

// FuzzNormalizePath checks that a path rule either is refused with an
// error naming .path or .pathType, or matches as an absolute path that
// TrimPrefixPath leaves alone once trimmed.
func FuzzNormalizePath(f *testing.F) {
	for _, p := range []string{"/", "/a", "/a/", "", "a", "/a//b", "/a/../b", "/%2e%2e", "/a b", "/*", "/a\x00"} {
		for _, typ := range []string{"Exact", "Prefix", "ImplementationSpecific", "", "Regex"} {
			f.Add(p, typ)
		}
	}
	f.Fuzz(func(t *testing.T, path, typ string) {
		pt := networkingv1.PathType(typ)
		rule := networkingv1.HTTPIngressPath{Path: path, PathType: &pt}
		got, _, err := normalizePath(rule)
		if err != nil {
			if err.Error() == "" || !(strings.HasPrefix(err.Error(), ".path") || strings.Contains(err.Error(), "path")) {
				t.Errorf("path %q type %q: got error %q, want one about the path or its type", path, typ, err)
			}
			return
		}
		if !strings.HasPrefix(got, "/") {
			t.Errorf("path %q type %q: got %q, want an absolute path", path, typ, got)
		}
		if trimmed := TrimPrefixPath(got); TrimPrefixPath(trimmed) != trimmed {
			t.Errorf("TrimPrefixPath(%q) = %q is not stable", got, trimmed)
		}
	})
}

// FuzzValidateHost checks that validateHost never panics and that hosts it
// accepts are lowercase-safe DNS names or one-label wildcards.
func FuzzValidateHost(f *testing.F) {
	for _, h := range []string{"", "a.example.com", "*.example.com", "*", "a.*.com", "UPPER.com", "1.2.3.4", "a..b", strings.Repeat("a", 300), "ünicode.com", "a.b.", "-a.com"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if err := validateHost(host); err != nil {
			if err.Error() == "" {
				t.Errorf("host %q: got an empty error", host)
			}
			return
		}
		name := strings.TrimPrefix(host, "*.")
		if strings.Contains(name, "*") || len(host) > 253 {
			t.Errorf("host %q accepted, want a DNS name or a one-label wildcard", host)
		}
	})
}

// FuzzParseHSTS checks that an accepted value is canonical: parsing it
// again gives it back.
func FuzzParseHSTS(f *testing.F) {
	for _, v := range []string{"off", "max-age=31536000", "max-age=0; includeSubDomains; preload", "MAX-AGE=1", "max-age=1;;", "max-age=-1", "preload", "max-age=1; x=y", "max-age=99999999999999999999"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) {
		got, err := ParseHSTS(value)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("%q: got an empty error", value)
			}
			return
		}
		if got == "" {
			return // off
		}
		again, err := ParseHSTS(got)
		if err != nil || again != got {
			t.Errorf("ParseHSTS(%q) = %q, then %q, %v; want the same value", value, got, again, err)
		}
		if strings.ContainsAny(got, "{}\r\n") {
			t.Errorf("ParseHSTS(%q) = %q holds a placeholder or line break", value, got)
		}
	})
}

// FuzzParseRefs checks the Secret and Service references of annotations and
// options: an error quotes the value; a reference has a namespace and a
// name of lowercase letters, digits, '-' and '.' only (no placeholder, no
// path), and its String form parses back to it.
func FuzzParseRefs(f *testing.F) {
	for _, v := range []string{"web/tls", "tls", "/tls", "web/", "a/b/c", "{env.X}/y", "web/svc:80", "web/svc:http", "web/svc:", "web/svc:0", "web/svc:99999", "UP/case"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) {
		plain := func(s string) bool {
			return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == ""
		}
		if ref, err := ParseSecretRef(value, "fuzz"); err != nil {
			if !strings.HasPrefix(err.Error(), "secret ") {
				t.Errorf("secret %q: got error %q, want one naming the secret", value, err)
			}
		} else if !plain(ref.Namespace) || !plain(ref.Name) {
			t.Errorf("secret %q: got %+v, want a plain namespace and name", value, ref)
		} else if again, err := ParseSecretRef(ref.String(), ""); err != nil || again != ref {
			t.Errorf("secret %q: got %+v, and %+v, %v from its String form", value, ref, again, err)
		}
		if ref, err := ParseServiceRef(value); err != nil {
			if !strings.HasPrefix(err.Error(), "service ") {
				t.Errorf("service %q: got error %q, want one naming the service", value, err)
			}
		} else if !plain(ref.Namespace) || !plain(ref.Name) || (ref.Port.Name != "" && !plain(ref.Port.Name)) {
			t.Errorf("service %q: got %+v, want a plain namespace, name and port", value, ref)
		} else if again, err := ParseServiceRef(ref.String()); err != nil || again != ref {
			t.Errorf("service %q: got %+v, and %+v, %v from its String form", value, ref, again, err)
		}
	})
}

// FuzzParseHtdigest checks htdigest lines: every user read has a name
// without colons, a realm and a lowercase hex MD5, and each line is a
// user, a bad line, blank or a comment.
func FuzzParseHtdigest(f *testing.F) {
	for _, v := range []string{
		"alice:Staff only:90dea4569b2187fa20b7ed9b2c155480\n",
		"# c\r\n\r\nbob:a:b:90DEA4569B2187FA20B7ED9B2C155480",
		"alice::90dea4569b2187fa20b7ed9b2c155480\n:r:x\nalice:r:x:y\n",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, lines string) {
		users, bad := parseHtdigest([]byte(lines))
		n := 0
		for realm, byUser := range users {
			for user, ha1 := range byUser {
				n++
				if realm == "" || user == "" || strings.Contains(user, ":") || len(ha1) != 32 || strings.Trim(ha1, "0123456789abcdef") != "" {
					t.Errorf("%q: got user %q of realm %q with hash %q", lines, user, realm, ha1)
				}
			}
		}
		entries := 0
		for line := range strings.Lines(lines) {
			if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
				entries++
			}
		}
		if n+bad != entries {
			t.Errorf("%q: got %d users and %d bad lines, want %d in all", lines, n, bad, entries)
		}
	})
}
