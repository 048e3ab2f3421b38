package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// caddyOptions are the settings of one Caddy process: its kubernetes
// source, the ingress app and the HTTPS listener.
type caddyOptions struct {
	namespace       string   // watched, and holds the Lease
	alsoWatch       []string // namespaces watched besides namespace
	statusAddresses []string // written to status by the leader
	leaseName       string   // default: caddy-ingress-<namespace>
	identity        string   // POD_NAME of the replica
	ingressClass    string   // the app's ingress_class; default: caddy

	// allowCrossNamespaceSecrets sets the ingress app's
	// allow_cross_namespace_secrets.
	allowCrossNamespaceSecrets bool
	// admin turns Caddy's admin endpoint on, on adminPort.
	admin bool
	// kubeconfig replaces the cluster's admin kubeconfig.
	kubeconfig string
	// unready makes startCaddy return once Caddy listens, without
	// waiting for it to be ready.
	unready bool
	// configure, when set, edits the JSON config before Caddy starts.
	configure func(cfg map[string]any)
	// clientAuth gives the HTTPS listener the TLS connection policies the
	// ingress directive writes for a site such as ":443 { ingress }" (see
	// the README's JSON): handshakes for hosts with auth-tls-secret ask for
	// a client certificate, the others do not.
	clientAuth bool
}

type caddyProcess struct {
	cmd       *exec.Cmd
	httpPort  int
	httpsPort int
	readyPort int // ingress_ready answers here
	adminPort int // with caddyOptions.admin
	// config is the JSON config Caddy was started with.
	config map[string]any
	log    *logBuffer
	done   chan struct{}
}

// startCaddy runs Caddy with the ingress app reading the test cluster and
// waits until it serves.
func startCaddy(t testing.TB, o caddyOptions) *caddyProcess {
	t.Helper()
	requireSetup(t)
	// Ports are picked free but may be taken before Caddy binds them: a
	// start that fails for that is tried again with other ports.
	for attempt := 1; ; attempt++ {
		c, err := launchCaddy(t, o)
		if err == nil {
			return c
		}
		if attempt < 3 && strings.Contains(c.log.String(), "address already in use") {
			t.Logf("attempt %d: %v; retrying with other ports", attempt, err)
			continue
		}
		t.Fatal(err)
	}
}

// launchCaddy starts one Caddy process and waits until it is ready. The
// process is killed when the test ends.
func launchCaddy(t testing.TB, o caddyOptions) (*caddyProcess, error) {
	t.Helper()
	dir := t.TempDir()
	if o.leaseName == "" {
		o.leaseName = "caddy-ingress-" + o.namespace
	}
	c := &caddyProcess{httpPort: freePort(t), httpsPort: freePort(t), readyPort: freePort(t), log: new(logBuffer), done: make(chan struct{})}
	source := map[string]any{
		"source":           "kubernetes",
		"kubeconfig":       cmp.Or(o.kubeconfig, cluster.Kubeconfig()),
		"namespaces":       append([]string{o.namespace}, o.alsoWatch...),
		"status_addresses": o.statusAddresses,
		"lease_namespace":  o.namespace,
		"lease_name":       o.leaseName,
		"lease_duration":   "4s",
		"renew_deadline":   "3s",
		"retry_period":     "500ms",
	}
	// custom-headers may set X-Rbac (see TestForbiddenLists).
	app := map[string]any{"source": source, "allowed_response_headers": []string{"X-Rbac"}}
	if o.allowCrossNamespaceSecrets {
		app["allow_cross_namespace_secrets"] = true
	}
	if o.ingressClass != "" {
		app["ingress_class"] = o.ingressClass
	}
	server := map[string]any{
		"listen":                  []string{fmt.Sprintf("127.0.0.1:%d", c.httpPort), fmt.Sprintf("127.0.0.1:%d", c.httpsPort)},
		"routes":                  []any{map[string]any{"handle": []any{map[string]any{"handler": "ingress"}}}},
		"tls_connection_policies": []any{map[string]any{}},
		"automatic_https":         map[string]any{"disable": true},
		"protocols":               []string{"h1", "h2"},
	}
	if o.clientAuth {
		server["tls_connection_policies"] = []any{
			map[string]any{"match": map[string]any{"ingress_client_auth": map[string]any{}}, "client_authentication": map[string]any{"mode": "request"}},
			map[string]any{},
		}
		server["strict_sni_host"] = false
	}
	admin := map[string]any{"disabled": true}
	if o.admin {
		c.adminPort = freePort(t)
		admin = map[string]any{"listen": fmt.Sprintf("127.0.0.1:%d", c.adminPort)}
	}
	cfg := map[string]any{
		"admin": admin,
		"apps": map[string]any{
			"ingress": app,
			"http": map[string]any{
				"http_port":  c.httpPort,
				"https_port": c.httpsPort,
				"servers": map[string]any{"ingress": server, "ready": map[string]any{
					"listen":          []string{fmt.Sprintf("127.0.0.1:%d", c.readyPort)},
					"routes":          []any{map[string]any{"handle": []any{map[string]any{"handler": "ingress_ready"}}}},
					"automatic_https": map[string]any{"disable": true},
				}},
			},
			"tls": map[string]any{"automation": map[string]any{"policies": []any{
				map[string]any{"get_certificate": []any{map[string]any{"via": "ingress"}}},
			}}},
		},
	}
	if o.configure != nil {
		o.configure(cfg)
	}
	c.config = cfg
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(caddyBin, "run", "--config", path)
	c.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir,
		"POD_NAME="+o.identity, "POD_NAMESPACE="+o.namespace)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			t.Logf("caddy log (%s):\n%s", o.identity, c.log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-c.done:
			return c, fmt.Errorf("caddy exited before it was ready")
		default:
		}
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.httpsPort))
		if err == nil {
			conn.Close()
			// Ready once the caches synced and the routes are applied,
			// as a readiness probe sees it.
			if err = c.ready(); err == nil || (o.unready && strings.Contains(c.log.String(), `"msg":"started"`)) {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			return c, fmt.Errorf("caddy not ready within 30s: %v", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// ready returns nil when the ingress_ready handler answers 200.
func (c *caddyProcess) ready() error {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", c.readyPort))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %d", resp.StatusCode)
	}
	return nil
}

func (c *caddyProcess) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logBuffer collects a process's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines that contain every one of parts.
func (b *logBuffer) lines(parts ...string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// eventually polls check until it returns nil or the deadline passes.
func eventually(t testing.TB, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
