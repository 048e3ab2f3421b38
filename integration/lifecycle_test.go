package integration

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unreachableTemplate is caddyfileTemplate with the Kubernetes source
// reading {{DIR}}/kubeconfig, the admin endpoint on {{ADMIN}} and readiness
// on {{READY}}.
var unreachableTemplate = strings.NewReplacer(
	"admin off", "admin 127.0.0.1:{{ADMIN}}",
	`manifests "{{DIR}}" {
			poll_interval 100ms
		}`, `kubernetes {
			kubeconfig "{{DIR}}/kubeconfig"
		}`,
).Replace(caddyfileTemplate) + `
http://127.0.0.1:{{READY}} {
	bind 127.0.0.1
	ingress_ready /readyz
}
`

// unreachableKubeconfig points at a loopback port where nothing listens.
func unreachableKubeconfig(t *testing.T, dir string) string {
	t.Helper()
	server := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: caddy
  user:
    token: not-a-real-token
contexts:
- name: gone
  context:
    cluster: gone
    user: caddy
current-context: gone
`, server)
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return server
}

// TestUnreachableAPIServer checks that Caddy with an API server it cannot
// reach starts at once, answers 503 and is not ready, says why at error
// level within 10s, and exits within 10s of SIGTERM or the admin API's
// /stop.
func TestUnreachableAPIServer(t *testing.T) {
	for _, how := range []string{"SIGTERM", "admin /stop"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			server := unreachableKubeconfig(t, dir)
			admin, ready := freePort(t), freePort(t)
			template := strings.NewReplacer("{{ADMIN}}", fmt.Sprint(admin), "{{READY}}", fmt.Sprint(ready)).Replace(unreachableTemplate)
			c := startCaddyWithConfig(t, dir, template)
			cl := newClient(nil)

			r, err := cl.get(httpURL(c, "any.example.com", "/"))
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("request: got %d %q, want 503", r.status, r.body)
			}
			r, err = cl.get(fmt.Sprintf("http://127.0.0.1:%d/readyz", ready))
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("readiness: got %d %q, want 503", r.status, r.body)
			}
			e := c.waitForLog(t, "error naming the API server", func(e logEntry) bool {
				return e.str("level") == "error" && strings.HasPrefix(e.str("msg"), "cannot list ") &&
					strings.Contains(e.str("msg"), " at "+server+": ")
			})
			t.Logf("logged: %s", e.str("msg"))

			start := time.Now()
			switch how {
			case "SIGTERM":
				if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			default:
				resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/stop", admin), "application/json", bytes.NewReader(nil))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("POST /stop: got %d, want 200", resp.StatusCode)
				}
			}
			if !c.exitsWithin(10 * time.Second) {
				t.Fatalf("still running 10s after %s", how)
			}
			t.Logf("exited %v after %s", time.Since(start).Round(time.Millisecond), how)
		})
	}
}

// TestCertificateBecomesValid checks that a Secret whose certificate
// becomes valid in 3s is served from that moment on, with no other change
// (nothing on disk changes; the translation is scheduled for that moment).
func TestCertificateBecomesValid(t *testing.T) {
	dir := t.TempDir()
	be := startBackend(t, "soon")
	writeManifest(t, dir, "backend.yaml", serviceWithEndpoints("soon", be))
	ca := newCA(t, "soon CA", nil)
	notBefore := time.Now().Add(3 * time.Second)
	kp := ca.issueLeaf(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "soon.example.com"},
		DNSNames:    []string{"soon.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore:   notBefore,
		NotAfter:    notBefore.Add(time.Hour),
	})
	writeManifest(t, dir, "secret.yaml", secretYAML("soon-tls", kp))
	writeManifest(t, dir, "ingress.yaml", ingressYAML("soon", "soon-tls", rule{
		host: "soon.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "soon"}},
	}))
	c := startCaddy(t, dir)
	cl := newInsecureClient()
	served := func() ([]byte, error) {
		conn, err := cl.dialTLS(c.httpsPort, "soon.example.com")
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Raw, nil
	}

	if before := time.Now(); before.Before(notBefore.Add(-500 * time.Millisecond)) {
		der, err := served()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(der, kp.der) {
			t.Fatalf("at %v before NotBefore: got the Secret's certificate, want the default one", notBefore.Sub(before))
		}
		c.waitForLog(t, "the problem of the not yet valid certificate", func(e logEntry) bool {
			return e.str("msg") == "problem" && strings.Contains(e.str("reason"), "certificate not valid before")
		})
	} else {
		t.Logf("Caddy took until %v after NotBefore to start; only the later state is checked", before.Sub(notBefore))
	}

	eventually(t, "the Secret's certificate served", func() error {
		der, err := served()
		if err != nil {
			return err
		}
		if !bytes.Equal(der, kp.der) {
			return fmt.Errorf("served another certificate")
		}
		return nil
	})
	if late := time.Since(notBefore); late > 5*time.Second {
		t.Errorf("served %v after NotBefore, want within 5s", late)
	}
	if err := newClient(ca.pool).expect(httpsURL(c, "soon.example.com", "/"), http.StatusOK, "soon"); err != nil {
		t.Error(err)
	}
}

// TestManifestsServedWhenListening checks that with many manifests the
// first request after the listener accepts gets the routes, not 503: the
// directory is read before Caddy listens, and requests that come before
// the ingress app applied it wait for it.
func TestManifestsServedWhenListening(t *testing.T) {
	const n = 3000
	dir := t.TempDir()
	be := startBackend(t, "many")
	writeManifest(t, dir, "backend.yaml", serviceWithEndpoints("many", be))
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(ingressYAML(fmt.Sprintf("many-%d", i), "", rule{
			host: fmt.Sprintf("app%d.example.com", i), paths: []ingressPath{{path: "/", pathType: "Prefix", service: "many"}},
		}))
	}
	writeManifest(t, dir, "ingresses.yaml", b.String())
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	c, err := spawnCaddy(t, dir, caddyfileTemplate)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(readyTimeout)
	for !canDial(c.httpPort) {
		if time.Now().After(deadline) || c.exitsWithin(5*time.Millisecond) {
			t.Fatalf("caddy not listening on %d after %v", c.httpPort, readyTimeout)
		}
	}
	cl := newClient(nil)
	for _, i := range []int{0, n - 1} {
		if err := cl.expect(httpURL(c, fmt.Sprintf("app%d.example.com", i), "/"), http.StatusOK, "many"); err != nil {
			t.Errorf("first requests after the listener accepted: %v", err)
		}
	}
}
