package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// reloadTemplate is caddyfileTemplate with the admin endpoint on
// {{ADMIN}}, for reloads.
var reloadTemplate = strings.Replace(caddyfileTemplate, "admin off", "admin 127.0.0.1:{{ADMIN}}", 1)

// TestConfigReloads reloads the config 20 times through the admin API
// under steady requests (manifest source): every answer is the route's,
// never a 503 of routes not loaded or released, and the goroutine count
// stays level, so every replaced config's routes and connections to
// backends are released.
//
// The clients keep their connections open and speak HTTP/2, as browsers
// do: a reload ends an HTTP/2 connection with GOAWAY, after its streams.
// (Over HTTP/1.1 a keep-alive connection that the old server closes while
// a request is on its way fails that request, a race HTTP/1.1 leaves to
// clients' retries; and Go's http.Server drops a request that it reads
// once its Shutdown began.) Reloads come a quarter of a second apart, as
// frequent reloads do. What is left is the kernel's: Caddy listens with
// SO_REUSEPORT, and a reload closes the old config's socket, which resets
// the connections still queued on it unless net.ipv4.tcp_migrate_req is
// 1. This test runs in the machine's own network namespace, where that
// setting is not the test's to change, so a reset connection is counted
// but not failed; the kube e2e TestConfigReloads, in a namespace of its
// own with tcp_migrate_req on, fails on any failed request.
func TestConfigReloads(t *testing.T) {
	const reloads = 20
	dir := t.TempDir()
	be := startBackend(t, "reload")
	writeManifest(t, dir, "backend.yaml", serviceWithEndpoints("reload", be))
	writeManifest(t, dir, "ingress.yaml", ingressYAML("reload", "", rule{
		host: "reload.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "reload"}},
	}))
	admin := freePort(t)
	c := startCaddyWithConfig(t, dir, strings.ReplaceAll(reloadTemplate, "{{ADMIN}}", fmt.Sprint(admin)))
	adminURL := fmt.Sprintf("http://127.0.0.1:%d", admin)
	config := c.adminGet(t, adminURL+"/config/")

	cl := newInsecureClient().keepAlive()
	var sent, failed, reset atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				switch err := cl.expect(httpsURL(c, "reload.example.com", "/"), http.StatusOK, "reload"); {
				case err == nil:
				case errors.Is(err, syscall.ECONNRESET):
					reset.Add(1)
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	var baseline int
	for i := range reloads {
		req, err := http.NewRequest("POST", adminURL+"/load", bytes.NewReader(config))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cache-Control", "must-revalidate") // reload the same config
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload %d: got %d %s", i, resp.StatusCode, body)
		}
		if i == 4 {
			baseline = c.goroutines(t, adminURL)
		}
		time.Sleep(250 * time.Millisecond) // pacing, see above
	}
	final := c.goroutines(t, adminURL)
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("failed requests: got %d of %d (first: %v), want 0", n, sent.Load(), firstErr.Load())
	}
	if final > baseline+30 {
		t.Errorf("goroutines: got %d after %d reloads, %d after 5, want about as many", final, reloads, baseline)
	}
	t.Logf("%d requests (%d connections reset by the kernel); goroutines %d after 5 reloads, %d after %d", sent.Load(), reset.Load(), baseline, final, reloads)
}

func (c *caddyProcess) adminGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d %v", url, resp.StatusCode, err)
	}
	return body
}

// goroutines returns the process's goroutine count from pprof.
func (c *caddyProcess) goroutines(t *testing.T, adminURL string) int {
	t.Helper()
	line, _ := bufio.NewReader(bytes.NewReader(c.adminGet(t, adminURL+"/debug/pprof/goroutine?debug=1"))).ReadString('\n')
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total ")))
	if err != nil {
		t.Fatalf("goroutine profile %q: %v", line, err)
	}
	return n
}
