package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRender runs `caddy ingress render` on the local example (no
// problems: exit 0, routes and certificate names, no key material) and on
// a broken manifest (exit 1, the problem on stderr naming object and field).
func TestRender(t *testing.T) {
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	t.Run("example", func(t *testing.T) {
		stdout, stderr, code := render(t, filepath.Join("..", "examples", "local", "manifests"))
		if code != 0 {
			t.Fatalf("exit code: got %d, want 0; stderr:\n%s", code, stderr)
		}
		var res struct {
			Hosts []struct {
				Host string `json:"host"`
				TLS  bool   `json:"tls"`
			} `json:"hosts"`
			Certificates []struct {
				Secret string   `json:"secret"`
				Names  []string `json:"names"`
			} `json:"certificates"`
		}
		if err := json.Unmarshal(stdout, &res); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
		}
		if len(res.Hosts) != 1 || res.Hosts[0].Host != "myapp.example.com" || !res.Hosts[0].TLS {
			t.Errorf("hosts: got %+v, want myapp.example.com with TLS", res.Hosts)
		}
		if len(res.Certificates) != 1 || res.Certificates[0].Secret != "default/my-tls-secret" {
			t.Errorf("certificates: got %+v, want default/my-tls-secret", res.Certificates)
		}
		if bytes.Contains(stdout, []byte("PRIVATE KEY")) || bytes.Contains(stdout, []byte("tls.key")) {
			t.Error("stdout contains key material")
		}
	})
	t.Run("problems", func(t *testing.T) {
		dir := t.TempDir()
		manifest := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: caddy
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: missing, port: {number: 80}}}}
`
		if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := render(t, dir)
		if code != 1 {
			t.Fatalf("exit code: got %d, want 1", code)
		}
		want := "Ingress shop/web: spec.rules[0].http.paths[0].backend.service.name: service shop/missing not found"
		if !strings.Contains(string(stderr), want) {
			t.Errorf("stderr: got %q, want it to contain %q", stderr, want)
		}
		if !json.Valid(stdout) {
			t.Errorf("stdout: got %q, want the routes as JSON", stdout)
		}
	})
	t.Run("TLS options", func(t *testing.T) {
		dir := t.TempDir()
		manifest := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: blog, namespace: web}
spec:
  ingressClassName: caddy
  tls:
  - hosts: [blog.example.com]
  defaultBackend: {service: {name: blog, port: {number: 80}}}
  rules:
  - host: blog.example.com
---
apiVersion: v1
kind: Service
metadata: {name: blog, namespace: web}
spec: {ports: [{port: 80}]}
`
		if err := os.WriteFile(filepath.Join(dir, "blog.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		// Without automatic certificates, the tls entry without
		// secretName is a problem.
		if _, stderr, code := render(t, dir); code != 1 || !strings.Contains(string(stderr), "automatic_certificates is off") {
			t.Errorf("without --automatic-certificates: exit %d, stderr %q", code, stderr)
		}
		stdout, stderr, code := render(t, dir, "--automatic-certificates", "--hsts", "max-age=60")
		if code != 0 {
			t.Fatalf("exit code: got %d, want 0; stderr:\n%s", code, stderr)
		}
		if !bytes.Contains(stdout, []byte(`"managed": [`)) || !bytes.Contains(stdout, []byte("max-age=60")) {
			t.Errorf("stdout: want blog.example.com managed and the HSTS header:\n%s", stdout)
		}
		if _, stderr, code := render(t, dir, "--hsts", "max-age=soon"); code != 2 || !strings.Contains(string(stderr), "--hsts") {
			t.Errorf("invalid --hsts: exit %d, stderr %q", code, stderr)
		}
	})
}

func render(t *testing.T, dir string, flags ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(caddyBin, append([]string{"ingress", "render", "--manifests", dir}, flags...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.Bytes(), errOut.Bytes(), code
}
