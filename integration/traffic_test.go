package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serviceWithTwoEndpoints is a Service with two EndpointSlices, one
// endpoint on loopback each, at ports a and b.
func serviceWithTwoEndpoints(service string, a, b int) string {
	second := strings.Replace(endpointSliceYAML(service, b, true), "name: "+service+"-1", "name: "+service+"-2", 1)
	return serviceYAML(service) + "---\n" + endpointSliceYAML(service, a, true) + "---\n" + second
}

// TestTrafficAnnotations checks proxy-body-size, the proxy timeouts and
// load balancing over real sockets.
func TestTrafficAnnotations(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	b := startBackend(t, "backend-b")
	dir := t.TempDir()
	writeIngresses(t, dir,
		routingIngress{name: "limited", host: "limited.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc-a"}},
			annotations: nginxAnnotations("proxy-body-size", "1k")},
		routingIngress{name: "unlimited", host: "unlimited.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc-a"}}},
		routingIngress{name: "timeout", host: "timeout.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc-a"}},
			annotations: nginxAnnotations("proxy-read-timeout", "1")},
		routingIngress{name: "balanced", host: "balanced.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc-ab"}}},
	)
	writeManifest(t, dir, "svc-a.yaml", serviceWithEndpoints("svc-a", a))
	writeManifest(t, dir, "svc-ab.yaml", serviceWithTwoEndpoints("svc-ab", a.port, b.port))
	c := startCaddy(t, dir)
	cl := newClient(nil)

	post := func(t *testing.T, host string, body io.Reader) *http.Response {
		t.Helper()
		resp, err := cl.http.Post(httpURL(c, host, "/upload"), "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// chunked hides the length of a body, so that it is sent chunked.
	chunked := func(n int) io.Reader { return io.MultiReader(bytes.NewReader(make([]byte, n))) }

	t.Run("body within the limit", func(t *testing.T) {
		if resp := post(t, "limited.example.com", bytes.NewReader(make([]byte, 1024))); resp.StatusCode != 200 || resp.Header.Get("X-Seen-Body-Bytes") != "1024" {
			t.Errorf("got %d, backend read %q bytes; want 200 and 1024", resp.StatusCode, resp.Header.Get("X-Seen-Body-Bytes"))
		}
	})
	t.Run("declared length over the limit", func(t *testing.T) {
		if resp := post(t, "limited.example.com", bytes.NewReader(make([]byte, 1025))); resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("X-Backend") != "" {
			t.Errorf("got %d from %q, want 413 without the backend", resp.StatusCode, resp.Header.Get("X-Backend"))
		}
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		if resp := post(t, "limited.example.com", chunked(64<<10)); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("got %d, want 413", resp.StatusCode)
		}
	})
	t.Run("chunked body within the limit", func(t *testing.T) {
		if resp := post(t, "limited.example.com", chunked(1000)); resp.StatusCode != 200 || resp.Header.Get("X-Seen-Body-Bytes") != "1000" {
			t.Errorf("got %d, backend read %q bytes; want 200 and 1000", resp.StatusCode, resp.Header.Get("X-Seen-Body-Bytes"))
		}
	})
	t.Run("no limit by default", func(t *testing.T) {
		if resp := post(t, "unlimited.example.com", bytes.NewReader(make([]byte, 4<<20))); resp.StatusCode != 200 {
			t.Errorf("got %d, want 200", resp.StatusCode)
		}
	})
	t.Run("read timeout", func(t *testing.T) {
		if err := cl.expect(httpURL(c, "timeout.example.com", "/?sleep=3s"), http.StatusGatewayTimeout, ""); err != nil {
			t.Error(err)
		}
		if err := cl.expect(httpURL(c, "timeout.example.com", "/?sleep=100ms"), http.StatusOK, a.name); err != nil {
			t.Error(err)
		}
	})
	t.Run("round robin", func(t *testing.T) {
		// ingress-nginx's default: each endpoint in turn.
		var got []string
		for range 6 {
			r, err := cl.get(httpURL(c, "balanced.example.com", "/"))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.body)
		}
		for i := 2; i < len(got); i++ {
			if got[i] != got[i-2] || got[i] == got[i-1] {
				t.Fatalf("got backends %v, want them alternating", got)
			}
		}
	})
}

// TestRetryNextEndpoint: with ingress-nginx's default (error timeout, 3
// tries) a request that cannot connect to one endpoint goes to the next;
// with proxy-next-upstream off it fails.
func TestRetryNextEndpoint(t *testing.T) {
	t.Parallel()
	live := startBackend(t, "live")
	// A port that refuses connections: reserved, never listening.
	dead := freePort(t)
	dir := t.TempDir()
	writeIngresses(t, dir,
		routingIngress{name: "retried", host: "retried.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc"}}},
		routingIngress{name: "not-retried", host: "not-retried.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc"}},
			annotations: nginxAnnotations("proxy-next-upstream", "off")},
	)
	writeManifest(t, dir, "svc.yaml", serviceWithTwoEndpoints("svc", live.port, dead))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	count := func(host string, method string) (ok, failed int) {
		for range 6 {
			req, err := http.NewRequest(method, httpURL(c, host, "/"), strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := cl.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok++
			} else {
				failed++
			}
		}
		return ok, failed
	}
	if ok, failed := count("retried.example.com", "GET"); failed != 0 {
		t.Errorf("retried GET: %d answered, %d failed; want none failed", ok, failed)
	}
	// A connection that was never made is retried whatever the method.
	if ok, failed := count("retried.example.com", "POST"); failed != 0 {
		t.Errorf("retried POST: %d answered, %d failed; want none failed", ok, failed)
	}
	// Round robin over two endpoints: every other request meets the dead one.
	if ok, failed := count("not-retried.example.com", "GET"); ok != 3 || failed != 3 {
		t.Errorf("not retried: %d answered, %d failed; want 3 and 3", ok, failed)
	}
}

// TestForwardingHeaders: backends get the headers ingress-nginx sends, a
// client's request ID is kept and one is made when it has none; a client
// cannot set the others, nor Proxy.
func TestForwardingHeaders(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "web", host: "web.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}})
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	spoofed := http.Header{
		"X-Real-Ip": {"203.0.113.9"}, "X-Forwarded-Port": {"1"}, "X-Forwarded-Proto": {"https"}, "Proxy": {"http://evil"},
		"X-Forwarded-For": {"198.51.100.7"}, "X-Forwarded-Host": {"shop.example"},
	}
	r, err := cl.getWithHeader(httpURL(c, "web.example.com", "/"), spoofed)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"X-Real-Ip":          "127.0.0.1",
		"X-Forwarded-For":    "127.0.0.1",
		"X-Forwarded-Host":   fmt.Sprintf("web.example.com:%d", c.httpPort),
		"X-Forwarded-Port":   fmt.Sprint(c.httpPort),
		"X-Forwarded-Proto":  "http",
		"X-Forwarded-Scheme": "http",
		"X-Scheme":           "http",
		"Proxy":              "",
		// What the client sent, as ingress-nginx passes it on.
		"X-Original-Forwarded-For":  "198.51.100.7",
		"X-Original-Forwarded-Host": "shop.example",
		// reverse_proxy's own Via is not sent, as with nginx.
		"Via": "",
	}
	for name, v := range want {
		if got := r.header.Get("X-Seen-Header-" + name); got != v {
			t.Errorf("%s: got %q, want %q", name, got, v)
		}
	}
	if id := r.header.Get("X-Seen-Header-X-Request-Id"); len(id) != 32 {
		t.Errorf("X-Request-Id: got %q, want 32 hex digits", id)
	}
	r, err = cl.getWithHeader(httpURL(c, "web.example.com", "/"), http.Header{"X-Request-Id": {"abc-123"}})
	if err != nil {
		t.Fatal(err)
	}
	if id := r.header.Get("X-Seen-Header-X-Request-Id"); id != "abc-123" {
		t.Errorf("X-Request-Id: got %q, want the client's abc-123", id)
	}
	if got := r.header.Get("X-Seen-Header-X-Original-Forwarded-For"); got != "" {
		t.Errorf("X-Original-Forwarded-For: got %q for a client that sent no X-Forwarded-For, want none", got)
	}
}

// TestAffinityCookie: with affinity: cookie a client with the cookie stays
// on its endpoint, clients without it are spread, and when its endpoint
// goes away the client moves and gets a new cookie.
func TestAffinityCookie(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	b := startBackend(t, "backend-b")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "sticky", host: "sticky.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc"}},
		annotations: nginxAnnotations("affinity", "cookie", "session-cookie-name", "route", "session-cookie-max-age", "3600")})
	writeManifest(t, dir, "svc.yaml", serviceWithTwoEndpoints("svc", a.port, b.port))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	url := httpURL(c, "sticky.example.com", "/")

	get := func(cookie string) (backend, setCookie string) {
		t.Helper()
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", "route="+cookie)
		}
		r, err := cl.getWithHeader(url, h)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK {
			t.Fatalf("got %d, want 200", r.status)
		}
		for _, sc := range r.header.Values("Set-Cookie") {
			if v, ok := strings.CutPrefix(sc, "route="); ok {
				value, attrs, _ := strings.Cut(v, ";")
				if !strings.Contains(attrs, "Max-Age=3600") || !strings.Contains(attrs, "HttpOnly") || !strings.Contains(attrs, "Path=/") {
					t.Errorf("Set-Cookie %q: want Path=/, Max-Age=3600 and HttpOnly", sc)
				}
				setCookie = value
			}
		}
		return r.body, setCookie
	}
	first, cookie := get("")
	if cookie == "" {
		t.Fatal("got no affinity cookie")
	}
	second, _ := get("")
	if second == first {
		t.Errorf("two clients without a cookie both went to %s, want them spread", first)
	}
	for range 6 {
		if got, set := get(cookie); got != first || set != "" {
			t.Fatalf("with the cookie: got %s (Set-Cookie %q), want %s and no new cookie", got, set, first)
		}
	}

	// The sticky endpoint goes away.
	remaining := b
	if first == b.name {
		remaining = a
	}
	writeManifest(t, dir, "svc.yaml", serviceYAML("svc")+"---\n"+endpointSliceYAML("svc", remaining.port, true))
	eventually(t, "the client moves to the remaining endpoint", func() error {
		got, set := get(cookie)
		if got != remaining.name || set == "" || set == cookie {
			return fmt.Errorf("got %s with Set-Cookie %q, want %s and a new cookie", got, set, remaining.name)
		}
		return nil
	})
}

// TestUpstreamHashBy: with upstream-hash-by $request_uri, a URI always
// reaches the same endpoint, and different URIs reach both.
func TestUpstreamHashBy(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	b := startBackend(t, "backend-b")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "hashed", host: "hashed.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc"}},
		annotations: nginxAnnotations("upstream-hash-by", "$request_uri")})
	writeManifest(t, dir, "svc.yaml", serviceWithTwoEndpoints("svc", a.port, b.port))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	seen := make(map[string]bool)
	for i := range 20 {
		url := httpURL(c, "hashed.example.com", fmt.Sprintf("/item/%d", i))
		var first string
		for j := range 3 {
			r, err := cl.get(url)
			if err != nil {
				t.Fatal(err)
			}
			if j == 0 {
				first = r.body
			} else if r.body != first {
				t.Fatalf("%s: got %s, then %s", url, first, r.body)
			}
		}
		seen[first] = true
	}
	if !seen[a.name] || !seen[b.name] {
		t.Errorf("20 URIs reached %v, want both backends", seen)
	}
}

// TestCanary: a canary Ingress takes the requests its header, cookie or
// weight selects on the mainline's host and path; a new weight applies.
func TestCanary(t *testing.T) {
	t.Parallel()
	main := startBackend(t, "main")
	canary := startBackend(t, "canary")
	dir := t.TempDir()
	mainline := routingIngress{name: "main", host: "app.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "main"}}}
	canaryIngress := func(weight string) routingIngress {
		return routingIngress{name: "canary", host: "app.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "canary"}},
			annotations: nginxAnnotations("canary", "true", "canary-by-header", "X-Canary", "canary-by-cookie", "beta", "canary-weight", weight)}
	}
	writeIngresses(t, dir, mainline, canaryIngress("0"))
	writeManifest(t, dir, "main.yaml", serviceWithEndpoints("main", main))
	writeManifest(t, dir, "canary.yaml", serviceWithEndpoints("canary", canary))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	url := httpURL(c, "app.example.com", "/")
	runChecks(t, cl, []check{
		{name: "no header, weight 0", url: url, status: 200, body: main.name},
		{name: "header always", url: url, header: http.Header{"X-Canary": {"always"}}, status: 200, body: canary.name},
		{name: "header never beats the cookie", url: url, header: http.Header{"X-Canary": {"never"}, "Cookie": {"beta=always"}}, status: 200, body: main.name},
		{name: "cookie always", url: url, header: http.Header{"Cookie": {"beta=always"}}, status: 200, body: canary.name},
	})
	writeIngresses(t, dir, canaryIngress("100"))
	eventually(t, "weight 100 sends everything to the canary", func() error { return cl.expect(url, 200, canary.name) })
	for range 5 {
		if err := cl.expect(url, 200, canary.name); err != nil {
			t.Fatal(err)
		}
	}
	// Header never still goes to the mainline.
	r, err := cl.getWithHeader(url, http.Header{"X-Canary": {"never"}})
	if err != nil || r.body != main.name {
		t.Errorf("header never at weight 100: got %v %v, want %s", r, err, main.name)
	}

	// Weight 50: about half. Outside 30%-70% of 200 requests is a chance
	// of about 1 in 10^8 for a fair split.
	writeIngresses(t, dir, canaryIngress("50"))
	eventually(t, "weight 50 sends some requests to the mainline", func() error { return cl.expect(url, 200, main.name) })
	toCanary := 0
	const n = 200
	for range n {
		r, err := cl.get(url)
		if err != nil {
			t.Fatal(err)
		}
		if r.body == canary.name {
			toCanary++
		}
	}
	if toCanary < n*3/10 || toCanary > n*7/10 {
		t.Errorf("weight 50: %d of %d requests went to the canary, want about half", toCanary, n)
	}
}

// TestRateLimit: limit-rps with a burst lets 1+rps*multiplier requests
// through back to back and answers the next 503, counted across the
// Ingress's hosts.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	limited := routingIngress{name: "limited", host: "limited.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "web"}},
		annotations: nginxAnnotations("limit-rps", "1", "limit-burst-multiplier", "2")}
	writeIngresses(t, dir, limited, routingIngress{name: "free", host: "free.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}})
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	var got []int
	for range 4 {
		r, err := cl.get(httpURL(c, "limited.example.com", "/"))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.status)
	}
	// 1 + 1*2 pass at once; the 4th is over (a token comes back each
	// second, so at most one more could pass on a very slow machine).
	if got[0] != 200 || got[1] != 200 || got[2] != 200 || got[3] != http.StatusServiceUnavailable && got[3] != 200 {
		t.Errorf("got %v, want 200 200 200 then 503", got)
	}
	if got[3] == 200 {
		r, err := cl.get(httpURL(c, "limited.example.com", "/"))
		if err != nil || r.status != http.StatusServiceUnavailable {
			t.Errorf("5th request: got %v %v, want 503", r, err)
		}
	}
	for range 5 {
		if err := cl.expect(httpURL(c, "free.example.com", "/"), 200, be.name); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRetryOnStatus: proxy-next-upstream http_502 sends a request that an
// endpoint answered 502 to the next one; without it the 502 goes to the
// client.
func TestRetryOnStatus(t *testing.T) {
	t.Parallel()
	good := startBackend(t, "good")
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(bad.Close)
	badPort := bad.Listener.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	writeIngresses(t, dir,
		routingIngress{name: "retried", host: "retried.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc"}},
			annotations: nginxAnnotations("proxy-next-upstream", "error timeout http_502")},
		routingIngress{name: "default", host: "default.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "svc"}}},
	)
	writeManifest(t, dir, "svc.yaml", serviceWithTwoEndpoints("svc", good.port, badPort))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	count := func(host string) (ok, bad int) {
		for range 6 {
			r, err := cl.get(httpURL(c, host, "/"))
			if err != nil {
				t.Fatal(err)
			}
			switch r.status {
			case http.StatusOK:
				ok++
			case http.StatusBadGateway:
				bad++
			default:
				t.Fatalf("got %d", r.status)
			}
		}
		return ok, bad
	}
	if ok, bad := count("retried.example.com"); bad != 0 {
		t.Errorf("http_502: %d answered, %d got 502; want none", ok, bad)
	}
	if ok, bad := count("default.example.com"); ok != 3 || bad != 3 {
		t.Errorf("default: %d answered, %d got 502; want 3 and 3", ok, bad)
	}
}

// TestCanaryStickySessions: a session that the canary's affinity cookie
// ties to the canary stays there when its weight drops to 0.
func TestCanaryStickySessions(t *testing.T) {
	t.Parallel()
	main := startBackend(t, "main")
	canary := startBackend(t, "canary")
	dir := t.TempDir()
	canaryIngress := func(weight string) routingIngress {
		return routingIngress{name: "canary", host: "app.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "canary"}},
			annotations: nginxAnnotations("canary", "true", "canary-weight", weight, "affinity", "cookie")}
	}
	writeIngresses(t, dir, routingIngress{name: "main", host: "app.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "main"}}}, canaryIngress("100"))
	writeManifest(t, dir, "main.yaml", serviceWithEndpoints("main", main))
	writeManifest(t, dir, "canary.yaml", serviceWithEndpoints("canary", canary))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	url := httpURL(c, "app.example.com", "/")
	r, err := cl.get(url)
	if err != nil {
		t.Fatal(err)
	}
	var cookie string
	for _, sc := range r.header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(sc, "INGRESSCOOKIE="); ok {
			cookie, _, _ = strings.Cut(v, ";")
		}
	}
	if r.body != canary.name || cookie == "" {
		t.Fatalf("weight 100: got %s with cookie %q, want %s and a session cookie", r.body, cookie, canary.name)
	}
	writeIngresses(t, dir, canaryIngress("0"))
	eventually(t, "weight 0 sends new sessions to the mainline", func() error { return cl.expect(url, 200, main.name) })
	for range 5 {
		r, err := cl.getWithHeader(url, http.Header{"Cookie": {"INGRESSCOOKIE=" + cookie}})
		if err != nil {
			t.Fatal(err)
		}
		if r.body != canary.name {
			t.Fatalf("with the canary's session cookie at weight 0: got %s, want %s", r.body, canary.name)
		}
	}
}

// TestForwardedHeadersFromTrustedProxy: with use_forwarded_headers, a
// request from a proxy in proxy_real_ip_cidr is taken as from the client
// its X-Forwarded-For names, and as HTTPS when its X-Forwarded-Proto says
// so; the client's address alone goes to the backend.
func TestForwardedHeadersFromTrustedProxy(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "web", host: "web.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "web"}},
		annotations: nginxAnnotations("force-ssl-redirect", "true")})
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	template := strings.Replace(caddyfileTemplate, "\t\t\tpoll_interval 100ms\n\t\t}\n",
		"\t\t\tpoll_interval 100ms\n\t\t}\n\t\tuse_forwarded_headers\n\t\tproxy_real_ip_cidr 127.0.0.1\n", 1)
	if template == caddyfileTemplate {
		t.Fatal("the Caddyfile template has changed; cannot add the options")
	}
	c := startCaddyWithConfig(t, dir, template)
	cl := newClient(nil)
	url := httpURL(c, "web.example.com", "/")
	r, err := cl.getWithHeader(url, http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 200 || r.header.Get("X-Seen-Header-X-Real-Ip") != "203.0.113.7" || r.header.Get("X-Seen-Header-X-Forwarded-For") != "203.0.113.7" ||
		r.header.Get("X-Seen-Header-X-Forwarded-Proto") != "https" {
		t.Errorf("got %d, X-Real-Ip %q, X-Forwarded-For %q, X-Forwarded-Proto %q; want 200, the client 203.0.113.7 and https",
			r.status, r.header.Get("X-Seen-Header-X-Real-Ip"), r.header.Get("X-Seen-Header-X-Forwarded-For"), r.header.Get("X-Seen-Header-X-Forwarded-Proto"))
	}
	// Without X-Forwarded-Proto the proxy's request is plain HTTP.
	if r, err := cl.get(url); err != nil || r.status != http.StatusPermanentRedirect {
		t.Errorf("plain HTTP: got %v, %v; want 308", r, err)
	}
}
