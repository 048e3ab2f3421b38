package integration

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// authService is an external auth service on loopback. It decides by the
// request URI it is told about (X-Original-URL): /pass and /cached pass
// (with X-User, and for /pass a cookie), /deny is 403, /login 401, and
// anything else 502.
type authService struct {
	port  int
	calls atomic.Int64
}

func startAuthService(t *testing.T) *authService {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &authService{port: l.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		original := r.Header.Get("X-Original-Url")
		w.Header().Set("X-Auth-Seen", strings.Join([]string{r.Method, r.Host, original, r.Header.Get("X-Original-Method"),
			r.Header.Get("X-Auth-Request-Redirect"), r.Header.Get("X-Sent-From"), r.Header.Get("Cookie"), r.Header.Get("X-Extra")}, " | "))
		switch {
		case strings.Contains(original, "/pass"):
			w.Header().Set("X-User", "alice")
			w.Header().Add("Set-Cookie", "auth=fresh; Path=/")
		case strings.Contains(original, "/cached"):
			w.Header().Set("X-User", "cached")
		case strings.Contains(original, "/deny"):
			w.WriteHeader(http.StatusForbidden)
		case strings.Contains(original, "/login"):
			w.Header().Set("WWW-Authenticate", `Bearer realm="test"`)
			w.Header().Add("Set-Cookie", "csrf=1; Path=/")
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return a
}

// allowLoopbackAuth lets auth-url reach the test's auth service.
func allowLoopbackAuth(template string) string {
	return strings.Replace(template, "\t\t\tpoll_interval 100ms\n\t\t}\n",
		"\t\t\tpoll_interval 100ms\n\t\t}\n\t\tauth_allow_networks 127.0.0.1/32\n", 1)
}

// TestExternalAuth: an auth service that passes (its headers reach the
// backend, its cookie the client), refuses (403), asks for credentials
// (401 with its challenge, or a redirect to the sign-in page), fails
// (500); cached answers; satisfy any with an allow-list.
func TestExternalAuth(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	auth := startAuthService(t)
	authURL := fmt.Sprintf("http://127.0.0.1:%d/check", auth.port)
	dir := t.TempDir()
	path := []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}
	writeIngresses(t, dir,
		routingIngress{name: "ext", host: "ext.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", authURL, "auth-response-headers", "X-User, X-Auth-Seen", "auth-proxy-set-headers", "auth-headers")},
		routingIngress{name: "signin", host: "signin.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", authURL, "auth-signin", "http://login.example.com/start")},
		routingIngress{name: "cached", host: "cached.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", authURL, "auth-response-headers", "X-User", "auth-cache-key", "$cookie_session", "auth-cache-duration", "200 1h")},
		routingIngress{name: "any", host: "any.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", authURL, "whitelist-source-range", "10.0.0.0/8", "satisfy", "any")},
		routingIngress{name: "all", host: "all.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", authURL, "whitelist-source-range", "10.0.0.0/8")},
		routingIngress{name: "snippet", host: "snippet.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", authURL, "auth-response-headers", "X-Auth-Seen", "auth-snippet", `proxy_set_header X-Extra "$http_host$request_uri";`)},
	)
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	writeManifest(t, dir, "auth-headers.yaml", configMapYAML("auth-headers", map[string]string{"X-Extra": "from-configmap"}))
	c := startCaddyWithConfig(t, dir, allowLoopbackAuth(caddyfileTemplate))
	cl := newClient(nil)
	cookie := http.Header{"Cookie": {"session=s1"}, "X-User": {"mallory"}}
	seen := fmt.Sprintf("GET | 127.0.0.1 | http://ext.example.com:%d/pass?q=1 | GET | /pass?q=1 | nginx-ingress-controller | session=s1 | from-configmap", c.httpPort)
	runChecks(t, cl, []check{
		{name: "pass", url: httpURL(c, "ext.example.com", "/pass?q=1"), header: cookie, status: 200, body: be.name,
			headers: map[string]string{"X-Seen-Header-X-User": "alice", "X-Seen-Header-X-Auth-Seen": seen, "X-Seen-Header-Cookie": "session=s1", "Set-Cookie": "auth=fresh; Path=/"}},
		{name: "auth-snippet header with variables", url: httpURL(c, "snippet.example.com", "/pass?v=1"), status: 200, body: be.name,
			headers: map[string]string{"X-Seen-Header-X-Auth-Seen": fmt.Sprintf("GET | 127.0.0.1 | http://snippet.example.com:%[1]d/pass?v=1 | GET | /pass?v=1 | nginx-ingress-controller |  | snippet.example.com:%[1]d/pass?v=1", c.httpPort)}},
		{name: "refused", url: httpURL(c, "ext.example.com", "/deny"), status: http.StatusForbidden, headers: map[string]string{"X-Backend": ""}},
		{name: "credentials asked for", url: httpURL(c, "ext.example.com", "/login"), status: http.StatusUnauthorized,
			headers: map[string]string{"WWW-Authenticate": `Bearer realm="test"`, "Set-Cookie": "", "X-Backend": ""}},
		{name: "auth service fails", url: httpURL(c, "ext.example.com", "/other"), status: http.StatusInternalServerError, headers: map[string]string{"X-Backend": ""}},
		{name: "redirect to sign-in", url: httpURL(c, "signin.example.com", "/login?a=b%20c"), status: http.StatusFound,
			headers: map[string]string{"Location": fmt.Sprintf("http://login.example.com/start?rd=http://signin.example.com:%d%%2Flogin%%3Fa%%3Db%%2520c", c.httpPort), "Set-Cookie": "csrf=1; Path=/"}},
		{name: "satisfy any: the auth service lets in", url: httpURL(c, "any.example.com", "/pass"), status: 200, body: be.name},
		{name: "satisfy any: neither lets in", url: httpURL(c, "any.example.com", "/deny"), status: http.StatusForbidden},
		{name: "satisfy all: the allow-list refuses", url: httpURL(c, "all.example.com", "/pass"), status: http.StatusForbidden},
	})

	// Caching: the second request with the same session is answered from
	// the cache; another session asks again.
	before := auth.calls.Load()
	for i := 0; i < 3; i++ {
		r, err := cl.getWithHeader(httpURL(c, "cached.example.com", "/cached"), http.Header{"Cookie": {"session=s2"}})
		if err != nil || r.status != 200 || r.header.Get("X-Seen-Header-X-User") != "cached" {
			t.Fatalf("cached request %d: %+v, %v", i, r, err)
		}
	}
	if n := auth.calls.Load() - before; n != 1 {
		t.Errorf("three requests of one session asked the auth service %d times, want 1", n)
	}
	if _, err := cl.getWithHeader(httpURL(c, "cached.example.com", "/cached"), http.Header{"Cookie": {"session=s3"}}); err != nil {
		t.Fatal(err)
	}
	if n := auth.calls.Load() - before; n != 2 {
		t.Errorf("another session: the auth service was asked %d times in all, want 2", n)
	}
}

// TestAuthURLGuard: by default auth-url reaches neither Caddy's admin
// endpoint nor another loopback service, by address or by a name that
// resolves to loopback; the paths answer 500 and nothing is sent.
func TestAuthURLGuard(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	auth := startAuthService(t)
	admin := freePort(t)
	dir := t.TempDir()
	path := []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}
	writeIngresses(t, dir,
		routingIngress{name: "admin", host: "admin.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", fmt.Sprintf("http://127.0.0.1:%d/config/", admin))},
		routingIngress{name: "loopback", host: "loopback.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", fmt.Sprintf("http://127.0.0.1:%d/check", auth.port))},
		routingIngress{name: "localhost", host: "localhost.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", fmt.Sprintf("http://localhost:%d/check", auth.port))},
		routingIngress{name: "ipv6", host: "ipv6.example.com", paths: path,
			annotations: nginxAnnotations("auth-url", fmt.Sprintf("http://[::1]:%d/check", auth.port))},
	)
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	template := strings.Replace(caddyfileTemplate, "admin off", fmt.Sprintf("admin 127.0.0.1:%d", admin), 1)
	c := startCaddyWithConfig(t, dir, template)
	cl := newClient(nil)
	// The admin endpoint is up: without the guard the auth request would
	// get its 200 and let the request through.
	if r, err := newClient(nil).get(fmt.Sprintf("http://127.0.0.1:%d/config/", admin)); err != nil || r.status != 200 {
		t.Fatalf("admin endpoint: %+v, %v", r, err)
	}
	runChecks(t, cl, []check{
		{name: "admin endpoint", url: httpURL(c, "admin.example.com", "/pass"), status: http.StatusInternalServerError, headers: map[string]string{"X-Backend": ""}},
		{name: "loopback service", url: httpURL(c, "loopback.example.com", "/pass"), status: http.StatusInternalServerError, headers: map[string]string{"X-Backend": ""}},
		{name: "name resolving to loopback", url: httpURL(c, "localhost.example.com", "/pass"), status: http.StatusInternalServerError, headers: map[string]string{"X-Backend": ""}},
		{name: "IPv6 loopback", url: httpURL(c, "ipv6.example.com", "/pass"), status: http.StatusInternalServerError, headers: map[string]string{"X-Backend": ""}},
	})
	if n := auth.calls.Load(); n != 0 {
		t.Errorf("the auth service on loopback was reached %d times", n)
	}
}
