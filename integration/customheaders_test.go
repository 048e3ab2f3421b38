package integration

import (
	"fmt"
	"net/http"
	"testing"
)

func configMapYAML(name string, data map[string]string) string {
	s := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: default\ndata:\n", name)
	for k, v := range data {
		s += fmt.Sprintf("  %q: %q\n", k, v)
	}
	return s
}

// TestCustomHeaders: custom-headers sets the ConfigMap's headers on the
// responses, replacing the backend's; a change of the ConfigMap applies
// live; a header outside allowed_response_headers fails closed.
func TestCustomHeaders(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	path := []ingressPath{{path: "/", pathType: "Prefix", service: "web"}}
	writeIngresses(t, dir,
		routingIngress{name: "secure", host: "secure.example.com", paths: path, annotations: nginxAnnotations("custom-headers", "default/security")},
		routingIngress{name: "sneaky", host: "sneaky.example.com", paths: path, annotations: nginxAnnotations("custom-headers", "sneaky")},
	)
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	writeManifest(t, dir, "security.yaml", configMapYAML("security", map[string]string{"X-Frame-Options": "DENY"}))
	writeManifest(t, dir, "sneaky.yaml", configMapYAML("sneaky", map[string]string{"Set-Cookie": "admin=1"}))
	template := replaceOnce(t, caddyfileTemplate, "\t\t\tpoll_interval 100ms\n\t\t}\n",
		"\t\t\tpoll_interval 100ms\n\t\t}\n\t\tallowed_response_headers X-Frame-Options Content-Security-Policy\n")
	c := startCaddyWithConfig(t, dir, template)
	cl := newClient(nil)
	url := httpURL(c, "secure.example.com", "/?header=X-Frame-Options:SAMEORIGIN")
	runChecks(t, cl, []check{
		{name: "the ConfigMap's header wins", url: url, status: 200, body: be.name, headers: map[string]string{"X-Frame-Options": "DENY"}},
		{name: "a header not allowed fails closed", url: httpURL(c, "sneaky.example.com", "/"), status: http.StatusServiceUnavailable, headers: map[string]string{"Set-Cookie": ""}},
	})
	writeManifest(t, dir, "security.yaml", configMapYAML("security", map[string]string{"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": "default-src 'self'"}))
	eventually(t, "the changed ConfigMap applies", func() error {
		r, err := cl.get(url)
		if err != nil {
			return err
		}
		if r.header.Get("Content-Security-Policy") != "default-src 'self'" || len(r.header.Values("X-Frame-Options")) != 1 {
			return fmt.Errorf("headers %v", r.header)
		}
		return nil
	})
}
