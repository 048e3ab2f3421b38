// Package integration runs caddy-ingress end to end: a real Caddy binary
// built from ./cmd/caddy, real backends, manifests on disk and requests
// over real sockets.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// caddyBin is the Caddy binary TestMain builds; buildErr says why there is
// none. Tests that need Caddy fail with buildErr rather than TestMain
// exiting, so the reason shows up where it matters.
var (
	caddyBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "caddy-ingress-e2e-")
	if err != nil {
		buildErr = fmt.Errorf("making build directory: %w", err)
		m.Run()
		return
	}
	defer os.RemoveAll(dir)
	caddyBin, buildErr = buildCaddy(dir)
	m.Run()
}

// buildCaddy builds ./cmd/caddy of the repository this package is in into
// dir and returns the binary's path.
func buildCaddy(dir string) (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	bin := filepath.Join(dir, "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/caddy")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building ./cmd/caddy in %s: %w\n%s", root, err, out)
	}
	return bin, nil
}

// readyTimeout bounds how long a Caddy process may take to start serving.
const readyTimeout = 20 * time.Second

// caddyProcess is one running Caddy, serving the manifests of one
// directory on loopback.
type caddyProcess struct {
	cmd *exec.Cmd
	// home is the process's HOME; data/caddy in it holds Caddy's storage.
	home      string
	httpPort  int
	httpsPort int
	log       *logBuffer
	exited    chan struct{}
	waitErr   error
}

// caddyfileTemplate is examples/local/Caddyfile made fit for a test: no
// admin endpoint, chosen ports, loopback only, a fast poll, and no HTTP/3
// (a UDP listener the tests do not use).
const caddyfileTemplate = `{
	admin off
	http_port {{HTTP}}
	https_port {{HTTPS}}
	servers {
		protocols h1 h2
		strict_sni_host insecure_off
	}
	ingress {
		manifests "{{DIR}}" {
			poll_interval 100ms
		}
	}
}

:{{HTTP}} {
	bind 127.0.0.1
	ingress
}

:{{HTTPS}} {
	bind 127.0.0.1
	ingress
}
`

// startCaddy starts Caddy with caddyfileTemplate, the ingress app reading
// manifestDir.
func startCaddy(t *testing.T, manifestDir string) *caddyProcess {
	t.Helper()
	return startCaddyWithConfig(t, manifestDir, caddyfileTemplate)
}

// startCaddyWithConfig starts Caddy with a Caddyfile template ({{HTTP}},
// {{HTTPS}} and {{DIR}} are replaced by the ports and manifestDir), waits
// until it serves, and stops it when the test ends. Its JSON log is kept
// for the test to search and printed if the test fails. Ports are picked
// free but may be taken before Caddy binds them, so a start that fails for
// that is retried with other ports.
func startCaddyWithConfig(t *testing.T, manifestDir, template string) *caddyProcess {
	t.Helper()
	return startCaddyWithEnv(t, manifestDir, template)
}

// startCaddyWithEnv is startCaddyWithConfig with env ("NAME=value")
// added to the process's environment.
func startCaddyWithEnv(t *testing.T, manifestDir, template string, env ...string) *caddyProcess {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	for attempt := 1; ; attempt++ {
		c, err := launchCaddy(t, manifestDir, template, env...)
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

// launchCaddy starts one Caddy process and waits until it serves. The
// process is killed when the test ends.
func launchCaddy(t *testing.T, manifestDir, template string, env ...string) (*caddyProcess, error) {
	c, err := spawnCaddy(t, manifestDir, template, env...)
	if err != nil {
		return c, err
	}
	return c, c.waitReady()
}

// spawnCaddy starts one Caddy process, with env added to its
// environment, without waiting for it to serve. The process is killed
// when the test ends.
func spawnCaddy(t *testing.T, manifestDir, template string, env ...string) (*caddyProcess, error) {
	home := t.TempDir()
	c := &caddyProcess{
		home:      home,
		httpPort:  freePort(t),
		httpsPort: freePort(t),
		log:       new(logBuffer),
		exited:    make(chan struct{}),
	}
	config := strings.NewReplacer(
		"{{HTTP}}", fmt.Sprint(c.httpPort),
		"{{HTTPS}}", fmt.Sprint(c.httpsPort),
		"{{DIR}}", manifestDir,
	).Replace(template)
	configPath := filepath.Join(home, "Caddyfile")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return c, err
	}

	cmd := exec.Command(caddyBin, "run", "--config", configPath)
	cmd.Dir = home
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout = c.log
	cmd.Stderr = c.log
	if err := cmd.Start(); err != nil {
		return c, fmt.Errorf("starting caddy: %w", err)
	}
	c.cmd = cmd
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
		if t.Failed() {
			t.Logf("caddy log (ports %d, %d):\n%s", c.httpPort, c.httpsPort, c.log)
		}
	})
	return c, nil
}

// exitsWithin waits up to d for the process to exit and reports whether
// it did.
func (c *caddyProcess) exitsWithin(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-c.exited:
		return true
	case <-timer.C:
		return false
	}
}

// waitReady waits until both ports accept connections and the ingress app
// has started (it applies its first snapshot before it says so).
func (c *caddyProcess) waitReady() error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for c.countLog(isIngressStarted) == 0 || !canDial(c.httpPort) || !canDial(c.httpsPort) {
		select {
		case <-c.exited:
			return fmt.Errorf("caddy exited before serving: %v", c.waitErr)
		case <-deadline.C:
			return fmt.Errorf("caddy not serving on ports %d and %d after %v", c.httpPort, c.httpsPort, readyTimeout)
		case <-tick.C:
		}
	}
	return nil
}

// canDial reports whether something accepts connections on the loopback
// port.
func canDial(port int) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// freePort returns a loopback TCP port and keeps it reserved until the
// test ends: a socket bound to it with SO_REUSEPORT, never listening. Caddy
// listens with SO_REUSEPORT too, so it can bind the port; but no other
// process picks it as a free port meanwhile (as it could once a probe
// listener is closed), and two Caddy processes of concurrent test runs
// never share one port, which SO_REUSEPORT would allow silently, handing
// each some of the other's connections. A bound socket that does not
// listen receives no connections.
func freePort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

// logEntry is one JSON line of Caddy's log.
type logEntry map[string]any

func (e logEntry) str(key string) string {
	s, _ := e[key].(string)
	return s
}

// isIngressStarted matches the line the ingress app logs each time it
// starts, so once per config load.
func isIngressStarted(e logEntry) bool {
	return e.str("logger") == "ingress" && e.str("msg") == "started"
}

// countLog returns how many log entries match.
func (c *caddyProcess) countLog(match func(logEntry) bool) int {
	n := 0
	for _, e := range c.log.entries() {
		if match(e) {
			n++
		}
	}
	return n
}

// waitForLog waits until a log entry matches and returns it.
func (c *caddyProcess) waitForLog(t *testing.T, what string, match func(logEntry) bool) logEntry {
	t.Helper()
	var found logEntry
	eventually(t, "log line "+what, func() error {
		for _, e := range c.log.entries() {
			if match(e) {
				found = e
				return nil
			}
		}
		return errors.New("not logged")
	})
	return found
}

// logBuffer collects a process's output; safe for concurrent use.
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

// entries parses the complete lines written so far that are JSON objects.
func (b *logBuffer) entries() []logEntry {
	var out []logEntry
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var e logEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// changeTimeout bounds how long a change on disk may take to show.
const changeTimeout = 10 * time.Second

// eventually polls check until it returns nil, failing the test with the
// last error once changeTimeout has passed.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: still failing after %v: %v", what, changeTimeout, err)
		case <-tick.C:
		}
	}
}
