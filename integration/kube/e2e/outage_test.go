package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAPIServerOutage stops the API server for a while under steady
// requests: existing routes keep answering, and after it returns, a change
// converges with no restart of Caddy.
func TestAPIServerOutage(t *testing.T) {
	ns := newNamespace(t, "outage")
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	ing := mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "web", "caddy",
		rule("outage.example.com", path{path: "/", typ: "Prefix", svc: "web", portName: "http"})))
	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "outage-1"})
	c := newClient(caddy.httpPort, false, nil)
	c.expect(t, "outage.example.com", "/", 200, "a ")

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			sent.Add(1)
			r, err := c.get("outage.example.com", "/")
			if err == nil && r.status != 200 {
				err = fmt.Errorf("status %d", r.status)
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}
	}()

	if err := cluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // the outage under test, not a wait for a condition
	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	ing.Spec.Rules[0].HTTP.Paths = append(ing.Spec.Rules[0].HTTP.Paths, rule("", path{path: "/after", typ: "Exact", svc: "web", portName: "http"}).HTTP.Paths...)
	var err error
	eventually(t, "update after the outage", 30*time.Second, func() error {
		latest, gerr := kube().NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1GetOptions)
		if gerr != nil {
			return gerr
		}
		latest.Spec = ing.Spec
		_, err = kube().NetworkingV1().Ingresses(ns).Update(ctx, latest, metav1UpdateOptions)
		return err
	})
	c.expect(t, "outage.example.com", "/after", 200, "a ")
	close(stop)
	wg.Wait()

	if sent.Load() < 100 {
		t.Errorf("requests during the test: got %d, want at least 100", sent.Load())
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("failed requests: got %d of %d (first: %v), want 0", n, sent.Load(), firstErr.Load())
	}
	if n := len(caddy.log.lines(`"logger":"ingress"`, `"msg":"started"`)); n != 1 {
		t.Errorf("ingress app starts: got %d, want 1", n)
	}
}
