package integration

import (
	"net/http"
	"strings"
	"testing"
)

// TestSourceRanges: allow- and deny-lists on the client's address, direct
// and behind a trusted proxy; an invalid list fails closed.
func TestSourceRanges(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	path := []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}
	writeIngresses(t, dir,
		routingIngress{name: "loopback", host: "loopback.example.com", paths: path,
			annotations: nginxAnnotations("whitelist-source-range", "127.0.0.0/8\n::1")},
		routingIngress{name: "elsewhere", host: "elsewhere.example.com", paths: path,
			annotations: nginxAnnotations("whitelist-source-range", "10.0.0.0/8")},
		routingIngress{name: "denied", host: "denied.example.com", paths: path,
			annotations: nginxAnnotations("denylist-source-range", "127.0.0.1", "whitelist-source-range", "127.0.0.0/8")},
		routingIngress{name: "office", host: "office.example.com", paths: path,
			annotations: nginxAnnotations("whitelist-source-range", "203.0.113.0/24")},
		routingIngress{name: "typo", host: "typo.example.com", paths: path,
			annotations: nginxAnnotations("whitelist-source-range", "10.0.0.0/8, office")},
	)
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	// Loopback is the trusted load balancer: its X-Forwarded-For names
	// the client.
	template := strings.Replace(caddyfileTemplate, "\t\t\tpoll_interval 100ms\n\t\t}\n",
		"\t\t\tpoll_interval 100ms\n\t\t}\n\t\tuse_forwarded_headers\n\t\tproxy_real_ip_cidr 127.0.0.1\n", 1)
	c := startCaddyWithConfig(t, dir, template)
	cl := newClient(nil)
	fromOffice := http.Header{"X-Forwarded-For": {"203.0.113.9"}}
	fromElsewhere := http.Header{"X-Forwarded-For": {"198.51.100.1"}}
	runChecks(t, cl, []check{
		{name: "allowed", url: httpURL(c, "loopback.example.com", "/"), status: 200, body: be.name},
		{name: "not in the allow-list", url: httpURL(c, "elsewhere.example.com", "/"), status: http.StatusForbidden},
		{name: "deny wins", url: httpURL(c, "denied.example.com", "/"), status: http.StatusForbidden},
		{name: "behind the proxy, allowed", url: httpURL(c, "office.example.com", "/"), header: fromOffice, status: 200, body: be.name},
		{name: "behind the proxy, refused", url: httpURL(c, "office.example.com", "/"), header: fromElsewhere, status: http.StatusForbidden},
		{name: "the proxy itself is not the office", url: httpURL(c, "office.example.com", "/"), status: http.StatusForbidden},
		{name: "invalid list fails closed", url: httpURL(c, "typo.example.com", "/"), status: http.StatusServiceUnavailable},
	})
}
