package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSnippets: each directive of the translated subset does what nginx
// does with it, over real sockets; a refused directive makes the paths
// answer 503, and with unsupported_snippets drop the snippet alone goes.
func TestSnippets(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	path := []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}
	writeIngresses(t, dir,
		routingIngress{name: "headers", host: "snippets.example.com", paths: path,
			annotations: nginxAnnotations("configuration-snippet", `more_set_headers "X-Frame-Options: DENY";
more_clear_headers Server X-Powered-*;
add_header Cache-Control no-store;
add_header X-Robots-Tag "noindex" always;
proxy_set_header X-Tenant acme;
more_set_input_headers "X-Env: prod";
proxy_set_header X-Orig "$scheme://$host$request_uri";
more_set_input_headers "X-Arg: $arg_v";
`, "whitelist-source-range", "127.0.0.1", "server-snippet", `more_set_headers "X-Server: edge";`)},
		// ingress-nginx's own example of configuration-snippet.
		routingIngress{name: "request-id", host: "request-id.example.com", paths: path,
			annotations: nginxAnnotations("configuration-snippet", `more_set_headers "Request-Id: $req_id";`)},
		routingIngress{name: "return", host: "return.example.com", paths: path,
			annotations: nginxAnnotations("configuration-snippet", `return 200 "healthy";`)},
		routingIngress{name: "moved", host: "moved.example.com", paths: path,
			annotations: nginxAnnotations("configuration-snippet", "return 308 https://new.example.com/;")},
		routingIngress{name: "refused", host: "refused.example.com", paths: path,
			annotations: nginxAnnotations("configuration-snippet", "more_set_headers \"X-A: b\";\nproxy_read_timeout 3600;")},
	)
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	backendHeaders := "/?" + url.Values{"header": {"Server:backend/1.0", "X-Powered-By:php", "X-Powered-Engine:v8", "X-Frame-Options:SAMEORIGIN"}}.Encode()
	runChecks(t, cl, []check{
		{name: "response and request headers", url: httpURL(c, "snippets.example.com", backendHeaders), status: 200, body: be.name,
			headers: map[string]string{"X-Frame-Options": "DENY", "Server": "", "X-Powered-By": "", "X-Powered-Engine": "", "Cache-Control": "no-store",
				"X-Robots-Tag": "noindex", "X-Server": "edge", "X-Seen-Header-X-Tenant": "acme", "X-Seen-Header-X-Env": "prod"}},
		{name: "request headers with variables", url: httpURL(c, "snippets.example.com", "/vars?v=1"), status: 200, body: be.name,
			headers: map[string]string{"X-Seen-Header-X-Orig": "http://snippets.example.com/vars?v=1", "X-Seen-Header-X-Arg": "1"}},
		{name: "a variable that would break the header removes it", url: httpURL(c, "snippets.example.com", "/vars?v=a%0d%0ab"), status: 200, body: be.name,
			headers: map[string]string{"X-Seen-Header-X-Arg": ""}},
		{name: "add_header skips errors, always does not", url: httpURL(c, "snippets.example.com", "/?status=500"), status: 500,
			headers: map[string]string{"Cache-Control": "", "X-Robots-Tag": "noindex", "X-Frame-Options": "DENY"}},
		{name: "response header with the request ID the backend got", url: httpURL(c, "request-id.example.com", "/"), status: 200, body: be.name,
			header:  http.Header{"X-Request-Id": {"7f3c9a1e"}},
			headers: map[string]string{"Request-Id": "7f3c9a1e", "X-Seen-Header-X-Request-Id": "7f3c9a1e"}},
		{name: "return text", url: httpURL(c, "return.example.com", "/anything"), status: 200, body: "healthy", headers: map[string]string{"X-Backend": ""}},
		{name: "return redirect", url: httpURL(c, "moved.example.com", "/old"), status: http.StatusPermanentRedirect,
			headers: map[string]string{"Location": "https://new.example.com/", "X-Backend": ""}},
		{name: "refused directive fails closed", url: httpURL(c, "refused.example.com", "/"), status: http.StatusServiceUnavailable, headers: map[string]string{"X-A": ""}},
	})
}

// TestSnippetsDropped: with unsupported_snippets drop, a snippet with a
// refused directive is dropped whole and the Ingress is served.
func TestSnippetsDropped(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "refused", host: "refused.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "web"}},
		annotations: nginxAnnotations("configuration-snippet", "more_set_headers \"X-A: b\";\nproxy_read_timeout 3600;")})
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	template := allowLoopbackAuth(caddyfileTemplate)
	template = replaceOnce(t, template, "auth_allow_networks 127.0.0.1/32\n", "unsupported_snippets drop\n")
	c := startCaddyWithConfig(t, dir, template)
	runChecks(t, newClient(nil), []check{
		{name: "served without the snippet", url: httpURL(c, "refused.example.com", "/"), status: 200, body: be.name, headers: map[string]string{"X-A": ""}},
	})
}

// replaceOnce replaces old in s, which must hold it.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("template has no %q", old)
	}
	return strings.Replace(s, old, new, 1)
}
