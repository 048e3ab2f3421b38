package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConfigReloads reloads Caddy's config 50 times through the admin
// API under steady requests, alternately the same config (forced) and a
// changed one: no request fails, the goroutine count stays level, and the
// cluster is not listed or watched again (the watches are shared across
// config loads).
//
// The clients keep connections open and speak HTTP/2, as browsers do,
// and reloads come a quarter of a second apart: see TestConfigReloads in
// package integration for what new connections at every request can meet
// in a reload (Caddy's SO_REUSEPORT sockets, Go's http.Server shutdown).
func TestConfigReloads(t *testing.T) {
	const reloads = 50
	ns := newNamespace(t, "reload")
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "web", "caddy",
		rule("reload.example.com", path{path: "/", typ: "Prefix", svc: "web", portName: "http"})))
	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "reload-1", admin: true})
	c := newClient(caddy.httpsPort, true, nil).keepAlive()
	c.expect(t, "reload.example.com", "/", 200, "a ")
	listsBefore := listsAndWatches(t)

	load := &steadyLoad{get: func() error {
		r, err := c.get("reload.example.com", "/")
		if err == nil && (r.status != 200 || !strings.HasPrefix(r.body, "a ")) {
			err = fmt.Errorf("got %d %q", r.status, r.body)
		}
		return err
	}}
	reload := func(i int) {
		cfg := caddy.config
		if i%2 == 1 {
			cfg = withIdleTimeout(caddy.config, fmt.Sprintf("%ds", 60+i))
		}
		caddy.load(t, cfg)
		time.Sleep(250 * time.Millisecond) // pacing, see above
	}
	// Goroutines are counted with no request in flight and no client
	// connection open, once the count has settled.
	load.start(4)
	for i := range 5 {
		reload(i)
	}
	load.stop()
	c.http.CloseIdleConnections()
	baseline := caddy.settledGoroutines(t)
	load.start(4)
	for i := 5; i < reloads; i++ {
		reload(i)
	}
	load.stop()
	c.http.CloseIdleConnections()
	final := caddy.settledGoroutines(t)
	listsAfter := listsAndWatches(t)
	sent, failed := load.sent.Load(), load.failed.Load()

	if failed != 0 {
		t.Errorf("failed requests: got %d of %d (first: %v), want 0", failed, sent, load.firstErr.Load())
	}
	if sent < reloads {
		t.Errorf("requests during the reloads: got %d, want at least %d", sent, reloads)
	}
	if n := len(caddy.log.lines(`"logger":"ingress"`, `"msg":"started"`)); n != reloads+1 {
		t.Errorf("ingress app starts: got %d, want %d", n, reloads+1)
	}
	// A leak of the source's goroutines (informers, leader election, the
	// worker) would be a dozen per reload, one of a backend connection
	// two.
	if final > baseline+20 {
		t.Errorf("goroutines: got %d after %d reloads, %d after 5, want about as many", final, reloads, baseline)
	}
	t.Logf("%d requests; goroutines %d after 5 reloads, %d after %d", sent, baseline, final, reloads)
	for _, resource := range []string{"ingresses", "ingressclasses", "services", "endpointslices", "secrets"} {
		if got := listsAfter[resource] - listsBefore[resource]; got != 0 {
			t.Errorf("%s listed or watched %v more times during the reloads, want 0", resource, got)
		}
	}
}

// steadyLoad sends requests from a few goroutines, one after the other
// on each, and counts the failures.
type steadyLoad struct {
	get          func() error
	sent, failed atomic.Int64
	firstErr     atomic.Value
	done         chan struct{}
	wg           sync.WaitGroup
}

func (l *steadyLoad) start(clients int) {
	l.done = make(chan struct{})
	for range clients {
		l.wg.Go(func() {
			for {
				select {
				case <-l.done:
					return
				default:
				}
				l.sent.Add(1)
				if err := l.get(); err != nil {
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
}

func (l *steadyLoad) stop() {
	close(l.done)
	l.wg.Wait()
}

// settledGoroutines returns the goroutine count of the Caddy process once
// two counts 200ms apart agree (connections closing take a moment).
func (c *caddyProcess) settledGoroutines(t testing.TB) int {
	t.Helper()
	last := c.goroutines(t)
	for range 25 {
		time.Sleep(200 * time.Millisecond)
		n := c.goroutines(t)
		if n == last {
			return n
		}
		last = n
	}
	return last
}

// withIdleTimeout returns a copy of cfg whose ingress server has another
// idle_timeout: a changed config that does not change the ingress app.
func withIdleTimeout(cfg map[string]any, timeout string) map[string]any {
	var out map[string]any
	data, _ := json.Marshal(cfg)
	_ = json.Unmarshal(data, &out)
	out["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)["ingress"].(map[string]any)["idle_timeout"] = timeout
	return out
}

// load posts cfg to the admin API's /load, forcing a reload when cfg is
// the running config.
func (c *caddyProcess) load(t testing.TB, cfg map[string]any) {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/load", c.adminPort), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cache-Control", "must-revalidate")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /load: got %d %s", resp.StatusCode, body)
	}
}

// goroutines returns the number of goroutines of the Caddy process, from
// the admin API's pprof endpoint.
func (c *caddyProcess) goroutines(t testing.TB) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/goroutine?debug=1", c.adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// "goroutine profile: total 123"
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total ")))
	if err != nil {
		t.Fatalf("goroutine profile: %q: %v", line, err)
	}
	return n
}

// listsAndWatches returns, by resource, how many LIST and WATCH requests
// the API server has answered, from its apiserver_request_total metric.
func listsAndWatches(t testing.TB) map[string]float64 {
	t.Helper()
	data, err := kube().CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") ||
			!(strings.Contains(line, `verb="LIST"`) || strings.Contains(line, `verb="WATCH"`)) {
			continue
		}
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, "apiserver_request_total"), "} ")
		if !ok {
			continue
		}
		_, resource, ok := strings.Cut(labels, `resource="`)
		if !ok {
			continue
		}
		resource, _, _ = strings.Cut(resource, `"`)
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[resource] += v
	}
	if len(out) == 0 {
		t.Fatal("the API server's metrics have no LIST or WATCH requests")
	}
	return out
}
