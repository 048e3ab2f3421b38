package integration

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// statusTemplate is caddyfileTemplate with the admin endpoint on
// {{ADMIN}}.
var statusTemplate = strings.Replace(caddyfileTemplate, "admin off", "admin 127.0.0.1:{{ADMIN}}", 1)

// TestStatusCommand: `caddy ingress status` asks a running Caddy for what
// it serves and prints the hosts, paths, Ingresses, Services, the
// certificate's Secret and expiry, and the problems; it finds the admin
// address by --address or from the --config file, and --json prints the
// admin API's answer.
func TestStatusCommand(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	dir := t.TempDir()
	kp := newCA(t, "status CA", nil).issue(t, "shop.example.com")
	leaf, err := x509.ParseCertificate(kp.der)
	if err != nil {
		t.Fatal(err)
	}
	writeManifest(t, dir, "svc-a.yaml", serviceWithEndpoints("svc-a", a))
	writeManifest(t, dir, "shop-tls.yaml", secretYAML("shop-tls", kp))
	shop := routingIngress{name: "shop", host: "shop.example.com", secret: "shop-tls", paths: []ingressPath{
		{path: "/cart", pathType: "Prefix", service: "svc-a"},
		{path: "/health", pathType: "Exact", service: "svc-a"},
	}}
	broken := routingIngress{name: "broken", host: "broken.example.com", secret: "no-such-secret", paths: root("svc-a")}
	writeIngresses(t, dir, shop, broken)
	admin := freePort(t)
	c := startCaddyWithConfig(t, dir, strings.ReplaceAll(statusTemplate, "{{ADMIN}}", fmt.Sprint(admin)))

	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(caddyBin, append([]string{"ingress", "status"}, args...)...)
		cmd.Dir = c.home
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("caddy ingress status %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	for _, args := range [][]string{
		{"--address", fmt.Sprintf("127.0.0.1:%d", admin)},
		{"--config", filepath.Join(c.home, "Caddyfile")},
	} {
		out := run(args...)
		for _, want := range []string{
			"shop.example.com [tls]", "broken.example.com [tls]",
			"/cart", "Prefix", "/health", "Exact", "default/shop", "default/svc-a:80",
			"default/shop-tls", "not after " + leaf.NotAfter.UTC().Format(time.RFC3339),
			"Problems (1)", "Ingress default/broken: spec.tls[0].secretName:",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("caddy ingress status %s: output lacks %q:\n%s", strings.Join(args, " "), want, out)
			}
		}
	}

	var report struct {
		Hosts []struct {
			Host  string `json:"host"`
			Paths []struct {
				Path    string `json:"path"`
				Type    string `json:"type"`
				Ingress string `json:"ingress"`
				Service string `json:"service"`
			} `json:"paths"`
		} `json:"hosts"`
		Certificates []struct {
			Secret   string    `json:"secret"`
			Names    []string  `json:"names"`
			NotAfter time.Time `json:"not_after"`
		} `json:"certificates"`
		Problems []struct {
			Object struct{ Kind, Namespace, Name string } `json:"object"`
			Field  string                                 `json:"field"`
			Reason string                                 `json:"reason"`
		} `json:"problems"`
	}
	raw := run("--address", fmt.Sprintf("127.0.0.1:%d", admin), "--json")
	if err := json.Unmarshal([]byte(raw), &report); err != nil {
		t.Fatalf("--json: %v\n%s", err, raw)
	}
	if len(report.Hosts) != 2 || report.Hosts[1].Host != "shop.example.com" || len(report.Hosts[1].Paths) != 2 ||
		report.Hosts[1].Paths[0].Path != "/cart" || report.Hosts[1].Paths[0].Ingress != "default/shop" || report.Hosts[1].Paths[0].Service != "default/svc-a:80" {
		t.Errorf("--json hosts: got %+v, want broken.example.com and shop.example.com with /cart and /health of default/shop to default/svc-a:80", report.Hosts)
	}
	if len(report.Certificates) != 1 || report.Certificates[0].Secret != "default/shop-tls" || !report.Certificates[0].NotAfter.Equal(leaf.NotAfter) {
		t.Errorf("--json certificates: got %+v, want default/shop-tls until %v", report.Certificates, leaf.NotAfter)
	}
	if len(report.Problems) != 1 || report.Problems[0].Object.Name != "broken" || report.Problems[0].Field != "spec.tls[0].secretName" {
		t.Errorf("--json problems: got %+v, want the missing Secret of Ingress broken", report.Problems)
	}

	// A change shows at once.
	writeIngresses(t, dir, routingIngress{name: "broken", host: "broken.example.com", paths: root("svc-a")})
	eventually(t, "the fixed Ingress in the status", func() error {
		var stdout bytes.Buffer
		cmd := exec.Command(caddyBin, "ingress", "status", "--address", fmt.Sprintf("127.0.0.1:%d", admin))
		cmd.Stdout = &stdout
		if err := cmd.Run(); err != nil {
			return err
		}
		if !strings.Contains(stdout.String(), "Problems (0)") {
			return fmt.Errorf("got:\n%s", stdout.String())
		}
		return nil
	})
}
