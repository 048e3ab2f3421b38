package integration

import (
	"encoding/base64"
	"fmt"
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

// htpasswdLines are users with the password "secret" in each htpasswd
// format people generate: bcrypt, apr1 (MD5), {SHA} and SHA-512 crypt.
var htpasswdLines = []string{
	"alice:$2a$04$b0NxOM/QqBJxkY9Eb1.P4.X0A5m4YAmPES9WBpqWufI.A4AOiskFG",
	"bob:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/",
	"carol:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",
	"dave:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
}

func authSecretYAML(name string, lines []string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: default\ntype: Opaque\ndata:\n  auth: %s\n",
		name, base64.StdEncoding.EncodeToString([]byte(strings.Join(lines, "\n")+"\n")))
}

// TestBasicAuth: each htpasswd format signs in, a wrong password or none
// gets 401 with the realm, the backend never sees the credentials, and a
// change of the Secret applies live.
func TestBasicAuth(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "private", host: "private.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "web"}},
		annotations: nginxAnnotations("auth-type", "basic", "auth-secret", "users", "auth-realm", "Staff only")})
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	writeManifest(t, dir, "users.yaml", authSecretYAML("users", htpasswdLines))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	url := httpURL(c, "private.example.com", "/")
	basic := func(user, pass string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}
	}
	checks := []check{
		{name: "no credentials", url: url, status: http.StatusUnauthorized, headers: map[string]string{"WWW-Authenticate": `Basic realm="Staff only"`, "X-Backend": ""}},
		{name: "wrong password", url: url, header: basic("alice", "guess"), status: http.StatusUnauthorized},
		{name: "unknown user", url: url, header: basic("mallory", "secret"), status: http.StatusUnauthorized},
	}
	for _, line := range htpasswdLines {
		user, _, _ := strings.Cut(line, ":")
		checks = append(checks, check{name: user, url: url, header: basic(user, "secret"), status: 200, body: be.name,
			headers: map[string]string{"X-Seen-Header-Authorization": ""}})
	}
	runChecks(t, cl, checks)

	// Rotation: alice goes, the others stay.
	writeManifest(t, dir, "users.yaml", authSecretYAML("users", htpasswdLines[1:]))
	eventually(t, "alice is refused", func() error {
		return cl.expectWithHeader(url, basic("alice", "secret"), http.StatusUnauthorized)
	})
	if err := cl.expectWithHeader(url, basic("bob", "secret"), 200); err != nil {
		t.Error(err)
	}
}

// expectWithHeader returns an error unless url, requested with header,
// answers status.
func (c *client) expectWithHeader(url string, header http.Header, status int) error {
	r, err := c.getWithHeader(url, header)
	if err != nil {
		return err
	}
	if r.status != status {
		return fmt.Errorf("GET %s: got %d, want %d", url, r.status, status)
	}
	return nil
}

// TestCORS: a preflight from an allowed origin is answered at the edge;
// responses to it carry the CORS headers (a 401 too); other origins get
// none.
func TestCORS(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "api", host: "api.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "web"}},
		annotations: nginxAnnotations("enable-cors", "true", "cors-allow-origin", "https://app.example.com, https://*.example.org",
			"cors-allow-methods", "GET, POST", "auth-type", "basic", "auth-secret", "users")})
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	writeManifest(t, dir, "users.yaml", authSecretYAML("users", htpasswdLines))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	url := httpURL(c, "api.example.com", "/")
	preflight, err := http.NewRequest("OPTIONS", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	preflight.Header.Set("Origin", "https://a.example.org")
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := cl.http.Do(preflight)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://a.example.org" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET, POST" || resp.Header.Get("X-Backend") != "" {
		t.Errorf("preflight: got %d %v; want 204 with the CORS headers, from the edge", resp.StatusCode, resp.Header)
	}
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret"))}, "Origin": {"https://app.example.com"}}
	runChecks(t, cl, []check{
		{name: "allowed origin", url: url, header: basic, status: 200, body: be.name,
			headers: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true"}},
		{name: "a 401 carries them", url: url, header: http.Header{"Origin": {"https://app.example.com"}}, status: http.StatusUnauthorized,
			headers: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{name: "other origin", url: url, header: http.Header{"Authorization": basic["Authorization"], "Origin": {"https://evil.example.com"}}, status: 200,
			headers: map[string]string{"Access-Control-Allow-Origin": ""}},
	})
}
