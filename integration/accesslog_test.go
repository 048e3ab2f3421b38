package integration

import (
	"strings"
	"testing"
)

// TestAccessLogOff: enable-access-log "false" leaves the Ingress's
// requests out of Caddy's access log; the others are logged.
func TestAccessLogOff(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	path := []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}
	writeIngresses(t, dir,
		routingIngress{name: "loud", host: "loud.example.com", paths: path},
		routingIngress{name: "quiet", host: "quiet.example.com", paths: path, annotations: nginxAnnotations("enable-access-log", "false")},
	)
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	template := strings.Replace(caddyfileTemplate, "\tbind 127.0.0.1\n\tingress\n", "\tbind 127.0.0.1\n\tlog\n\tingress\n", 1)
	c := startCaddyWithConfig(t, dir, template)
	// One connection: each request is logged before the next is read.
	cl := newClient(nil).keepAlive()
	for _, u := range []string{httpURL(c, "loud.example.com", "/before"), httpURL(c, "quiet.example.com", "/secret"), httpURL(c, "loud.example.com", "/after")} {
		if err := cl.expect(u, 200, be.name); err != nil {
			t.Fatal(err)
		}
	}
	c.waitForLog(t, "of the last request", func(e logEntry) bool { return accessLogURI(e) == "/after" })
	if n := c.countLog(func(e logEntry) bool { return accessLogURI(e) == "/before" }); n != 1 {
		t.Errorf("loud.example.com: %d access log entries, want 1", n)
	}
	if n := c.countLog(func(e logEntry) bool { return accessLogURI(e) == "/secret" }); n != 0 {
		t.Errorf("quiet.example.com: %d access log entries, want none", n)
	}
}

// accessLogURI is the request URI of an access log entry, or "".
func accessLogURI(e logEntry) string {
	if !strings.HasPrefix(e.str("logger"), "http.log.access") {
		return ""
	}
	req, _ := e["request"].(map[string]any)
	uri, _ := req["uri"].(string)
	return uri
}
