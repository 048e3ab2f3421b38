package integration

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The tests in this file check the ingress-nginx annotations end to end:
// each starts one Caddy on a directory of annotated Ingresses and checks,
// over real sockets, what the client gets and what reached the backend
// (the X-Seen-* headers of backend).

// nginxAnnotationPrefix is the prefix ingress-nginx reads annotations
// under by default.
const nginxAnnotationPrefix = "nginx.ingress.kubernetes.io/"

// nginxAnnotations makes annotations from name, value pairs, each name
// under nginxAnnotationPrefix.
func nginxAnnotations(nameValues ...string) map[string]string {
	m := make(map[string]string, len(nameValues)/2)
	for i := 0; i+1 < len(nameValues); i += 2 {
		m[nginxAnnotationPrefix+nameValues[i]] = nameValues[i+1]
	}
	return m
}

// routingIngress is an Ingress of class caddy in namespace default with
// one rule of any paths (tlsbackend_test.go's annotatedIngress has one
// Prefix path per host).
type routingIngress struct {
	name string
	// annotations are keyed by their full names.
	annotations map[string]string
	// secret, if set, terminates TLS for the rule's host with it.
	secret string
	host   string
	paths  []ingressPath
	// port is the Service port the paths go to; 0 means 80.
	port int
}

// yaml renders the Ingress, every string quoted (paths are regular
// expressions here).
func (a routingIngress) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: default\n", a.name)
	if len(a.annotations) > 0 {
		b.WriteString("  annotations:\n")
		for _, k := range slices.Sorted(maps.Keys(a.annotations)) {
			fmt.Fprintf(&b, "    %s: %q\n", k, a.annotations[k])
		}
	}
	b.WriteString("spec:\n  ingressClassName: caddy\n")
	if a.secret != "" {
		fmt.Fprintf(&b, "  tls:\n  - hosts: [%q]\n    secretName: %s\n", a.host, a.secret)
	}
	fmt.Fprintf(&b, "  rules:\n  - host: %q\n    http:\n      paths:\n", a.host)
	port := a.port
	if port == 0 {
		port = 80
	}
	for _, p := range a.paths {
		fmt.Fprintf(&b, `      - path: %q
        pathType: %s
        backend:
          service:
            name: %s
            port:
              number: %d
`, p.path, p.pathType, p.service, port)
	}
	return b.String()
}

// writeIngresses writes each Ingress to a file of its own.
func writeIngresses(t *testing.T, dir string, ings ...routingIngress) {
	t.Helper()
	for _, ing := range ings {
		writeManifest(t, dir, "ingress-"+ing.name+".yaml", ing.yaml())
	}
}

// root is the Prefix path / to a Service.
func root(service string) []ingressPath {
	return []ingressPath{{path: "/", pathType: "Prefix", service: service}}
}

// check is one request and what its answer must be.
type check struct {
	name string
	// client defaults to the test's client.
	client *client
	url    string
	// header is sent with the request.
	header http.Header
	status int
	// body, if set, is the body wanted: the name of the backend that
	// answered.
	body string
	// headers are response headers and their wanted values; "" wants
	// the header absent.
	headers map[string]string
	// present are response headers that must be set, with any value.
	present []string
}

// runChecks makes each check's request in a subtest of its own.
func runChecks(t *testing.T, cl *client, checks []check) {
	t.Helper()
	for _, tt := range checks {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			if c == nil {
				c = cl
			}
			r, err := c.getWithHeader(tt.url, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.status {
				t.Errorf("GET %s: status: got %d, want %d (body %q, X-Backend %q)", tt.url, r.status, tt.status, strings.TrimSpace(r.body), r.header.Get("X-Backend"))
			}
			if tt.body != "" && r.body != tt.body {
				t.Errorf("GET %s: body: got %q, want %q", tt.url, strings.TrimSpace(r.body), tt.body)
			}
			for _, name := range slices.Sorted(maps.Keys(tt.headers)) {
				want := tt.headers[name]
				got, ok := r.header[http.CanonicalHeaderKey(name)]
				switch {
				case want == "" && ok:
					t.Errorf("GET %s: %s: got %q, want none", tt.url, name, got)
				case want != "" && (len(got) != 1 || got[0] != want):
					t.Errorf("GET %s: %s: got %q, want %q", tt.url, name, got, want)
				}
			}
			for _, name := range tt.present {
				if r.header.Get(name) == "" {
					t.Errorf("GET %s: %s: got none, want one", tt.url, name)
				}
			}
		})
	}
}

// TestAnnotationRewrite checks rewrite-target, use-regex and
// x-forwarded-prefix under the three prefixes: the whole path replaced,
// capture groups, the query kept, and regular expressions for every path
// of the host (case-insensitive, anchored at the start only, longest
// first).
func TestAnnotationRewrite(t *testing.T) {
	t.Parallel()
	names := []string{"something", "api", "api-v2", "foo", "ids", "plain", "legacy", "own"}
	dir := t.TempDir()
	for _, name := range names {
		writeManifest(t, dir, "svc-"+name+".yaml", serviceWithEndpoints(name, startBackend(t, name)))
	}
	writeIngresses(t, dir,
		routingIngress{
			name: "something", host: "rewrite.example.com",
			annotations: nginxAnnotations("rewrite-target", "/$2", "use-regex", "true", "x-forwarded-prefix", "/something"),
			paths:       []ingressPath{{path: "/something(/|$)(.*)", pathType: "ImplementationSpecific", service: "something"}},
		},
		// No annotations: its paths become regular expressions because
		// the other Ingress of the host asks for them.
		routingIngress{
			name: "api", host: "rewrite.example.com",
			paths: []ingressPath{
				{path: "/api", pathType: "Prefix", service: "api"},
				{path: "/api/v2", pathType: "Prefix", service: "api-v2"},
			},
		},
		routingIngress{
			name: "foo", host: "root.example.com",
			annotations: nginxAnnotations("rewrite-target", "/"),
			paths:       []ingressPath{{path: "/foo", pathType: "Prefix", service: "foo"}},
		},
		routingIngress{
			name: "ids", host: "regex.example.com",
			annotations: nginxAnnotations("use-regex", "true"),
			paths:       []ingressPath{{path: "/id/[0-9]+", pathType: "ImplementationSpecific", service: "ids"}},
		},
		routingIngress{
			name: "plain", host: "noprefix.example.com",
			annotations: nginxAnnotations("x-forwarded-prefix", "/something"),
			paths:       root("plain"),
		},
		routingIngress{
			name: "legacy", host: "legacy.example.com",
			annotations: map[string]string{"ingress.kubernetes.io/rewrite-target": "/$2"},
			paths:       []ingressPath{{path: "/legacy(/|$)(.*)", pathType: "ImplementationSpecific", service: "legacy"}},
		},
		routingIngress{
			name: "own", host: "own.example.com",
			annotations: map[string]string{"caddy-ingress.io/rewrite-target": "/$2"},
			paths:       []ingressPath{{path: "/own(/|$)(.*)", pathType: "ImplementationSpecific", service: "own"}},
		},
	)
	c := startCaddy(t, dir)
	const prefixHeader = "X-Seen-Header-X-Forwarded-Prefix"
	seen := func(backend, uri string) map[string]string {
		return map[string]string{"X-Backend": backend, "X-Seen-Uri": uri}
	}
	rewritten := func(uri string) map[string]string {
		return map[string]string{"X-Backend": "something", "X-Seen-Uri": uri, prefixHeader: "/something"}
	}
	notRewritten := func(backend, uri string) map[string]string {
		return map[string]string{"X-Backend": backend, "X-Seen-Uri": uri, prefixHeader: ""}
	}
	const rw = "rewrite.example.com"
	runChecks(t, newClient(nil), []check{
		{name: "capture groups: empty rest becomes /", url: httpURL(c, rw, "/something"), status: 200, headers: rewritten("/")},
		{name: "capture groups: slash alone becomes /", url: httpURL(c, rw, "/something/"), status: 200, headers: rewritten("/")},
		{name: "capture groups: rest of the path", url: httpURL(c, rw, "/something/new"), status: 200, headers: rewritten("/new")},
		{name: "capture groups: query kept", url: httpURL(c, rw, "/something/new?x=1"), status: 200, headers: rewritten("/new?x=1")},
		{name: "rewrite path matches case-insensitively", url: httpURL(c, rw, "/SOMETHING/new"), status: 200, headers: rewritten("/new")},
		{name: "regex does not match past its groups", url: httpURL(c, rw, "/somethingelse"), status: 404},
		{name: "other Ingress of the host: not rewritten", url: httpURL(c, rw, "/api/x"), status: 200, headers: notRewritten("api", "/api/x")},
		{name: "other Ingress of the host: case-insensitive", url: httpURL(c, rw, "/API/x"), status: 200, headers: notRewritten("api", "/API/x")},
		{name: "other Ingress of the host: string prefix", url: httpURL(c, rw, "/apix"), status: 200, headers: notRewritten("api", "/apix")},
		{name: "longest path first", url: httpURL(c, rw, "/api/v2/x"), status: 200, headers: notRewritten("api-v2", "/api/v2/x")},
		{name: "longest path first, case-insensitive", url: httpURL(c, rw, "/API/V2"), status: 200, headers: notRewritten("api-v2", "/API/V2")},
		{name: "regex anchored at the start", url: httpURL(c, rw, "/x/api"), status: 404},
		{name: "rewrite-target / replaces the whole path", url: httpURL(c, "root.example.com", "/foo/bar"), status: 200, headers: seen("foo", "/")},
		{name: "rewrite-target / keeps the query", url: httpURL(c, "root.example.com", "/foo/bar?x=1"), status: 200, headers: seen("foo", "/?x=1")},
		{name: "use-regex matches", url: httpURL(c, "regex.example.com", "/id/123"), status: 200, headers: seen("ids", "/id/123")},
		{name: "use-regex anchored only at the start", url: httpURL(c, "regex.example.com", "/id/123a"), status: 200, headers: seen("ids", "/id/123a")},
		{name: "use-regex case-insensitive", url: httpURL(c, "regex.example.com", "/ID/7"), status: 200, headers: seen("ids", "/ID/7")},
		{name: "use-regex anchored at the start", url: httpURL(c, "regex.example.com", "/x/id/1"), status: 404},
		{name: "use-regex needs the expression", url: httpURL(c, "regex.example.com", "/id/x"), status: 404},
		{name: "x-forwarded-prefix without rewrite-target sends none", url: httpURL(c, "noprefix.example.com", "/a"), status: 200, headers: notRewritten("plain", "/a")},
		{name: "legacy prefix rewrites", url: httpURL(c, "legacy.example.com", "/legacy/x?y=2"), status: 200, headers: seen("legacy", "/x?y=2")},
		{name: "own prefix rewrites", url: httpURL(c, "own.example.com", "/OWN/x"), status: 200, headers: seen("own", "/x")},
	})
}

// TestAnnotationRedirects checks app-root, permanent-redirect,
// temporal-redirect, ssl-redirect (with its exceptions and
// preserve-trailing-slash), force-ssl-redirect and from-to-www-redirect.
func TestAnnotationRedirects(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	ca := newCA(t, "caddy-ingress annotations test CA", nil)
	tlsHosts := []string{"secure.example.com", "slash.example.com", "nossl.example.com"}
	dir := t.TempDir()
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	writeManifest(t, dir, "secret.yaml", secretYAML("web-tls", ca.issue(t, tlsHosts...)))
	writeIngresses(t, dir,
		routingIngress{name: "approot", host: "approot.example.com", annotations: nginxAnnotations("app-root", "/app"), paths: root("web")},
		routingIngress{name: "perm", host: "perm.example.com", annotations: nginxAnnotations("permanent-redirect", "https://www.example.com/new"), paths: root("web")},
		routingIngress{
			name: "perm308", host: "perm308.example.com",
			annotations: nginxAnnotations("permanent-redirect", "https://www.example.com/new", "permanent-redirect-code", "308"),
			paths:       root("web"),
		},
		routingIngress{name: "temp", host: "temp.example.com", annotations: nginxAnnotations("temporal-redirect", "https://t.example.com"), paths: root("web")},
		routingIngress{
			name: "both", host: "both.example.com",
			annotations: nginxAnnotations("permanent-redirect", "https://www.example.com/new", "temporal-redirect", "https://t.example.com"),
			paths:       root("web"),
		},
		routingIngress{
			name: "badcode", host: "badcode.example.com",
			annotations: nginxAnnotations("permanent-redirect", "https://www.example.com/new", "permanent-redirect-code", "abc"),
			paths:       root("web"),
		},
		routingIngress{name: "secure", host: "secure.example.com", secret: "web-tls", paths: root("web")},
		routingIngress{name: "slash", host: "slash.example.com", secret: "web-tls", annotations: nginxAnnotations("preserve-trailing-slash", "true"), paths: root("web")},
		routingIngress{name: "nossl", host: "nossl.example.com", secret: "web-tls", annotations: nginxAnnotations("ssl-redirect", "false"), paths: root("web")},
		routingIngress{name: "force", host: "force.example.com", annotations: nginxAnnotations("force-ssl-redirect", "true"), paths: root("web")},
		routingIngress{name: "shop", host: "shop.example.com", annotations: nginxAnnotations("from-to-www-redirect", "true"), paths: root("web")},
	)
	c := startCaddy(t, dir)
	cl := newClient(ca.pool)
	redirect := func(location string) map[string]string {
		return map[string]string{"Location": location, "X-Backend": ""}
	}
	proxied := map[string]string{"Location": "", "X-Backend": "web"}
	httpsLocation := func(host, uri string) string {
		return fmt.Sprintf("https://%s:%d%s", host, c.httpsPort, uri)
	}
	appRoot := fmt.Sprintf("http://approot.example.com:%d/app", c.httpPort)
	runChecks(t, cl, []check{
		{name: "app-root redirects /", url: httpURL(c, "approot.example.com", "/"), status: 302, headers: redirect(appRoot)},
		{name: "app-root drops the query", url: httpURL(c, "approot.example.com", "/?q=1"), status: 302, headers: redirect(appRoot)},
		{name: "app-root leaves other paths", url: httpURL(c, "approot.example.com", "/other"), status: 200, headers: proxied},

		{name: "permanent-redirect is verbatim", url: httpURL(c, "perm.example.com", "/some/path?x=1"), status: 301, headers: redirect("https://www.example.com/new")},
		{name: "permanent-redirect-code", url: httpURL(c, "perm308.example.com", "/"), status: 308, headers: redirect("https://www.example.com/new")},
		{name: "temporal-redirect", url: httpURL(c, "temp.example.com", "/a?b=c"), status: 302, headers: redirect("https://t.example.com")},
		{name: "temporal-redirect wins over permanent-redirect", url: httpURL(c, "both.example.com", "/"), status: 302, headers: redirect("https://t.example.com")},
		{name: "invalid permanent-redirect-code ignores the Ingress", url: httpURL(c, "badcode.example.com", "/"), status: 404, headers: map[string]string{"Location": "", "X-Backend": ""}},

		{name: "ssl-redirect drops one trailing slash", url: httpURL(c, "secure.example.com", "/foo/"), status: 308, headers: redirect(httpsLocation("secure.example.com", "/foo"))},
		{name: "ssl-redirect keeps the query", url: httpURL(c, "secure.example.com", "/foo/?a=1"), status: 308, headers: redirect(httpsLocation("secure.example.com", "/foo/?a=1"))},
		{name: "ssl-redirect spares ACME challenges", url: httpURL(c, "secure.example.com", "/.well-known/acme-challenge/token"), status: 200, headers: proxied},
		{name: "https is proxied", url: httpsURL(c, "secure.example.com", "/foo/"), status: 200, headers: proxied},
		{name: "preserve-trailing-slash", url: httpURL(c, "slash.example.com", "/foo/"), status: 308, headers: redirect(httpsLocation("slash.example.com", "/foo/"))},
		{name: "ssl-redirect false proxies plain HTTP", url: httpURL(c, "nossl.example.com", "/foo"), status: 200, headers: proxied},
		{name: "force-ssl-redirect without TLS", url: httpURL(c, "force.example.com", "/x"), status: 308, headers: redirect(httpsLocation("force.example.com", "/x"))},

		{name: "from-to-www-redirect", url: httpURL(c, "www.shop.example.com", "/a/"), status: 308, headers: redirect(fmt.Sprintf("http://shop.example.com:%d/a", c.httpPort))},
		{name: "from-to-www-redirect serves the host", url: httpURL(c, "shop.example.com", "/a/"), status: 200, headers: proxied},
	})
}

// TestAnnotationUpstreams checks server-alias, upstream-vhost,
// proxy-redirect-from/-to, proxy-cookie-path, proxy-cookie-domain and
// service-upstream.
func TestAnnotationUpstreams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"main", "vhost", "rw"} {
		writeManifest(t, dir, "svc-"+name+".yaml", serviceWithEndpoints(name, startBackend(t, name)))
	}
	// A Service with a cluster IP and no EndpointSlice: only
	// service-upstream reaches the backend, through the cluster IP.
	direct := startBackend(t, "direct")
	writeManifest(t, dir, "svc-direct.yaml", fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: direct
  namespace: default
spec:
  clusterIP: 127.0.0.1
  ports:
  - port: %d
`, direct.port))
	writeIngresses(t, dir,
		routingIngress{name: "main", host: "main.example.com", annotations: nginxAnnotations("server-alias", "alias.example.com"), paths: root("main")},
		routingIngress{name: "vhost", host: "vhost.example.com", annotations: nginxAnnotations("upstream-vhost", "internal.example.com"), paths: root("vhost")},
		routingIngress{
			name: "rw", host: "proxyrw.example.com",
			annotations: nginxAnnotations(
				"proxy-redirect-from", "http://backend.internal/",
				"proxy-redirect-to", "https://public.example.com/",
				"proxy-cookie-path", "/ /app",
				"proxy-cookie-domain", "backend.internal public.example.com",
			),
			paths: root("rw"),
		},
		routingIngress{name: "su", host: "su.example.com", annotations: nginxAnnotations("service-upstream", "true"), paths: root("direct"), port: direct.port},
		routingIngress{name: "nosu", host: "nosu.example.com", paths: root("direct"), port: direct.port},
	)
	c := startCaddy(t, dir)
	rw := func(param, value string) string {
		return httpURL(c, "proxyrw.example.com", "/?"+url.Values{param: {value}}.Encode())
	}
	runChecks(t, newClient(nil), []check{
		{name: "server-alias serves the host's paths", url: httpURL(c, "alias.example.com", "/"), status: 200,
			headers: map[string]string{"X-Backend": "main", "X-Seen-Host": fmt.Sprintf("alias.example.com:%d", c.httpPort)}},
		{name: "server-alias keeps the host", url: httpURL(c, "main.example.com", "/"), status: 200,
			headers: map[string]string{"X-Backend": "main", "X-Seen-Host": fmt.Sprintf("main.example.com:%d", c.httpPort)}},
		{name: "upstream-vhost", url: httpURL(c, "vhost.example.com", "/"), status: 200,
			headers: map[string]string{"X-Backend": "vhost", "X-Seen-Host": "internal.example.com"}},
		{name: "proxy-redirect rewrites Location", url: rw("location", "http://backend.internal/x"), status: 200,
			headers: map[string]string{"X-Backend": "rw", "Location": "https://public.example.com/x"}},
		{name: "proxy-redirect compares case-insensitively", url: rw("location", "HTTP://Backend.Internal/x"), status: 200,
			headers: map[string]string{"X-Backend": "rw", "Location": "https://public.example.com/x"}},
		{name: "proxy-redirect leaves other Locations", url: rw("location", "http://other.internal/x"), status: 200,
			headers: map[string]string{"X-Backend": "rw", "Location": "http://other.internal/x"}},
		{name: "proxy-redirect rewrites Refresh", url: rw("refresh", "0; url=http://backend.internal/x"), status: 200,
			headers: map[string]string{"X-Backend": "rw", "Refresh": "0; url=https://public.example.com/x"}},
		{name: "proxy-cookie-path", url: rw("cookie", "a=b; Path=/"), status: 200,
			headers: map[string]string{"X-Backend": "rw", "Set-Cookie": "a=b; Path=/app"}},
		{name: "proxy-cookie-domain", url: rw("cookie", "a=b; Domain=backend.internal"), status: 200,
			headers: map[string]string{"X-Backend": "rw", "Set-Cookie": "a=b; Domain=public.example.com"}},
		{name: "service-upstream dials the cluster IP", url: httpURL(c, "su.example.com", "/"), status: 200,
			headers: map[string]string{"X-Backend": "direct", "X-Seen-Uri": "/"}},
		{name: "without service-upstream no endpoints answer 503", url: httpURL(c, "nosu.example.com", "/"), status: 503,
			headers: map[string]string{"X-Backend": ""}},
	})
}

// TestAnnotationErrorPages checks custom-http-errors with default-backend
// and disable-proxy-intercept-errors, and default-backend standing in for
// a Service without ready endpoints.
func TestAnnotationErrorPages(t *testing.T) {
	t.Parallel()
	app := startBackend(t, "app")
	errs := startBackend(t, "errors")
	dir := t.TempDir()
	writeManifest(t, dir, "app.yaml", serviceWithEndpoints("app", app))
	writeManifest(t, dir, "errors.yaml", serviceWithEndpoints("errors-svc", errs))
	writeManifest(t, dir, "down.yaml", serviceYAML("down")+"---\n"+endpointSliceYAML("down", app.port, false))
	writeIngresses(t, dir,
		routingIngress{
			name: "custom-errors", host: "errors.example.com",
			annotations: nginxAnnotations("custom-http-errors", "404,503", "default-backend", "errors-svc"),
			paths:       root("app"),
		},
		routingIngress{
			name: "errors-off", host: "errors-off.example.com",
			annotations: nginxAnnotations("custom-http-errors", "404,503", "default-backend", "errors-svc", "disable-proxy-intercept-errors", "true"),
			paths:       root("app"),
		},
		routingIngress{name: "fallback", host: "fallback.example.com", annotations: nginxAnnotations("default-backend", "errors-svc"), paths: root("down")},
		routingIngress{name: "nofallback", host: "nofallback.example.com", paths: root("down")},
	)
	c := startCaddy(t, dir)
	const h = "X-Seen-Header-"
	runChecks(t, newClient(nil), []check{
		{
			name:   "listed status goes to the error backend",
			url:    httpURL(c, "errors.example.com", "/missing?status=404"),
			header: http.Header{"Accept": {"text/html"}},
			// The error backend gets the query too, so it answers 404.
			status: 404, body: "errors",
			headers: map[string]string{
				"X-Seen-Uri":             "/?status=404",
				"X-Seen-Method":          "GET",
				h + "X-Code":             "404",
				h + "X-Format":           "text/html",
				h + "X-Original-Uri":     "/missing?status=404",
				h + "X-Namespace":        "default",
				h + "X-Ingress-Name":     "custom-errors",
				h + "X-Service-Name":     "app",
				h + "X-Service-Port":     "80",
				h + "X-Forwarded-Prefix": "",
			},
			present: []string{h + "X-Request-Id"},
		},
		{
			name:   "second listed status",
			url:    httpURL(c, "errors.example.com", "/a/b?status=503&x=1"),
			status: 503, body: "errors",
			headers: map[string]string{"X-Seen-Uri": "/?status=503&x=1", h + "X-Code": "503", h + "X-Original-Uri": "/a/b?status=503&x=1"},
		},
		{name: "other statuses pass through", url: httpURL(c, "errors.example.com", "/x?status=500"), status: 500, body: "app",
			headers: map[string]string{"X-Seen-Uri": "/x?status=500", h + "X-Code": ""}},
		{name: "success passes through", url: httpURL(c, "errors.example.com", "/x"), status: 200, body: "app",
			headers: map[string]string{"X-Seen-Uri": "/x", h + "X-Code": ""}},
		{name: "disable-proxy-intercept-errors", url: httpURL(c, "errors-off.example.com", "/x?status=404"), status: 404, body: "app",
			headers: map[string]string{"X-Seen-Uri": "/x?status=404", h + "X-Code": ""}},
		{name: "default-backend serves a Service without ready endpoints", url: httpURL(c, "fallback.example.com", "/some/path"), status: 200, body: "errors",
			headers: map[string]string{"X-Seen-Uri": "/some/path", h + "X-Code": "503"}},
		{name: "without default-backend no ready endpoints answer 503", url: httpURL(c, "nofallback.example.com", "/some/path"), status: 503,
			headers: map[string]string{"X-Backend": ""}},
	})
}

// TestAnnotationRender checks that `caddy ingress render` knows every
// annotation the tests above use, under each prefix.
func TestAnnotationRender(t *testing.T) {
	t.Parallel()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	ca := newCA(t, "caddy-ingress render test CA", nil)
	dir := t.TempDir()
	manifests := []string{
		strings.Replace(serviceYAML("web"), "spec:\n", "spec:\n  clusterIP: 10.0.0.1\n", 1),
		serviceYAML("errors-svc"),
		secretYAML("web-tls", ca.issue(t, "all.example.com")),
		authSecretYAML("web-users", htpasswdLines),
		configMapYAML("web-headers", map[string]string{"X-Frame-Options": "DENY"}),
		routingIngress{
			name: "all", host: "all.example.com", secret: "web-tls",
			annotations: nginxAnnotations(
				"rewrite-target", "/$2",
				"use-regex", "true",
				"x-forwarded-prefix", "/something",
				"app-root", "/app",
				"permanent-redirect", "https://www.example.com/new",
				"permanent-redirect-code", "308",
				"temporal-redirect", "https://t.example.com",
				"ssl-redirect", "true",
				"force-ssl-redirect", "true",
				"preserve-trailing-slash", "true",
				"from-to-www-redirect", "true",
				"server-alias", "alias.example.com",
				"upstream-vhost", "internal.example.com",
				"proxy-redirect-from", "http://backend.internal/",
				"proxy-redirect-to", "https://public.example.com/",
				"proxy-cookie-path", "/ /app",
				"proxy-cookie-domain", "backend.internal public.example.com",
				"custom-http-errors", "404,503",
				"default-backend", "errors-svc",
				"disable-proxy-intercept-errors", "true",
				"service-upstream", "true",
				"proxy-body-size", "8m",
				"client-body-buffer-size", "16k",
				"proxy-connect-timeout", "5",
				"proxy-send-timeout", "60",
				"proxy-read-timeout", "60",
				"proxy-buffering", "off",
				"proxy-request-buffering", "on",
				"proxy-buffer-size", "8k",
				"proxy-buffers-number", "4",
				"proxy-max-temp-file-size", "1024m",
				"proxy-http-version", "1.1",
				"load-balance", "ewma",
				"proxy-next-upstream", "error timeout http_502",
				"proxy-next-upstream-tries", "3",
				"proxy-next-upstream-timeout", "0",
				"affinity", "cookie",
				"affinity-mode", "balanced",
				"session-cookie-name", "route",
				"session-cookie-path", "/",
				"session-cookie-max-age", "3600",
				"session-cookie-expires", "3600",
				"session-cookie-samesite", "Lax",
				"session-cookie-secure", "true",
				"session-cookie-change-on-failure", "true",
				"session-cookie-conditional-samesite-none", "false",
				"upstream-hash-by", "$request_uri",
				"upstream-hash-by-subset", "false",
				"upstream-hash-by-subset-size", "3",
				"limit-rps", "10",
				"limit-rpm", "600",
				"limit-connections", "20",
				"limit-burst-multiplier", "5",
				"limit-whitelist", "10.0.0.0/8",
				"whitelist-source-range", "0.0.0.0/0, ::/0",
				"denylist-source-range", "203.0.113.0/24",
				"auth-type", "basic",
				"auth-secret", "web-users",
				"auth-secret-type", "auth-file",
				"auth-realm", "Staff only",
				"enable-cors", "true",
				"cors-allow-origin", "https://app.example.com",
				"cors-allow-methods", "GET, POST",
				"cors-allow-headers", "Content-Type",
				"cors-expose-headers", "X-Total-Count",
				"cors-allow-credentials", "true",
				"cors-max-age", "600",
				"auth-url", "https://$host/oauth2/auth",
				"auth-method", "GET",
				"auth-signin", "https://$host/oauth2/start?rd=$escaped_request_uri",
				"auth-signin-redirect-param", "rd",
				"auth-response-headers", "X-Auth-Request-User, X-Auth-Request-Email",
				"auth-request-redirect", "/after",
				"auth-always-set-cookie", "true",
				"auth-cache-key", "$cookie__oauth2_proxy",
				"auth-cache-duration", "200 202 5m, 401 1m",
				"auth-keepalive", "10",
				"auth-keepalive-share-vars", "false",
				"auth-keepalive-requests", "100",
				"auth-keepalive-timeout", "60",
				"enable-global-auth", "true",
				"satisfy", "any",
				"configuration-snippet", "more_set_headers \"X-Frame-Options: DENY\";\nadd_header Cache-Control no-store;",
				"server-snippet", "more_clear_headers Server;",
				"auth-snippet", "proxy_set_header X-Auth-Tenant acme;",
				"enable-access-log", "false",
				"custom-headers", "web-headers",
				"auth-proxy-set-headers", "web-headers",
				"ssl-prefer-server-ciphers", "true",
			),
			paths: []ingressPath{{path: "/something(/|$)(.*)", pathType: "ImplementationSpecific", service: "web"}},
		}.yaml(),
		routingIngress{
			name: "legacy", host: "legacy.example.com",
			annotations: map[string]string{"ingress.kubernetes.io/rewrite-target": "/$2", "ingress.kubernetes.io/use-regex": "true"},
			paths:       []ingressPath{{path: "/legacy(/|$)(.*)", pathType: "ImplementationSpecific", service: "web"}},
		}.yaml(),
		routingIngress{
			name: "own", host: "own.example.com",
			annotations: map[string]string{"caddy-ingress.io/rewrite-target": "/$2"},
			paths:       []ingressPath{{path: "/own(/|$)(.*)", pathType: "ImplementationSpecific", service: "web"}},
		}.yaml(),
	}
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(strings.Join(manifests, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := render(t, dir)
	if code != 0 && code != 1 {
		t.Fatalf("exit code: got %d, want 0 or 1 (problems); stderr:\n%s", code, stderr)
	}
	for line := range strings.Lines(string(stderr)) {
		if strings.Contains(line, "not supported") || strings.Contains(line, "unknown annotation") {
			t.Errorf("problem: got %q, want every annotation supported", strings.TrimSpace(line))
		}
	}
	if !strings.Contains(string(stdout), `"all.example.com"`) {
		t.Errorf("stdout: got %s, want the routes of all.example.com", stdout)
	}
	if t.Failed() || len(stderr) > 0 {
		t.Logf("stderr:\n%s", stderr)
	}
}
