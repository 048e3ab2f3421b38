package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTwoReplicas runs two replicas against one API server: both serve,
// exactly one (the Lease holder) writes status, and when it dies the other
// takes over status within the Lease duration.
func TestTwoReplicas(t *testing.T) {
	ns := newNamespace(t, "replicas")
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "web", "caddy",
		rule("replicas.example.com", path{path: "/", typ: "Prefix", svc: "web", portName: "http"})))

	addrs := map[string]string{"192.0.2.241": "replica-1", "192.0.2.242": "replica-2"}
	replicas := map[string]*caddyProcess{
		"replica-1": startCaddy(t, caddyOptions{namespace: ns, identity: "replica-1", statusAddresses: []string{"192.0.2.241"}}),
		"replica-2": startCaddy(t, caddyOptions{namespace: ns, identity: "replica-2", statusAddresses: []string{"192.0.2.242"}}),
	}
	for name, r := range replicas {
		if got := newClient(r.httpPort, false, nil).expect(t, "replicas.example.com", "/", 200, "a "); got.status != 200 {
			t.Errorf("%s: got %d, want 200", name, got.status)
		}
	}

	status := func() string {
		ing, err := kube().NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1GetOptions)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(statusIPs(ing), ",")
	}
	var leaderAddr string
	eventually(t, "one replica writes status", 20*time.Second, func() error {
		leaderAddr = status()
		if addrs[leaderAddr] == "" {
			return fmt.Errorf("status %q", leaderAddr)
		}
		return nil
	})
	// Only the leader writes: the status does not flip between replicas.
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		if got := status(); got != leaderAddr {
			t.Fatalf("status changed from %s to %s with both replicas up: both write", leaderAddr, got)
		}
	}

	leader := addrs[leaderAddr]
	killed := time.Now()
	replicas[leader].kill()
	eventually(t, "the other replica takes over status", 20*time.Second, func() error {
		if got := status(); got == leaderAddr || addrs[got] == "" {
			return fmt.Errorf("status %q", got)
		}
		return nil
	})
	// The Lease lasts 4s and is retried every 0.5s: take-over within the
	// Lease duration plus one retry and the status write.
	if took := time.Since(killed); took > 4*time.Second+2*time.Second {
		t.Errorf("take-over took %s, want within the 4s Lease duration (+2s)", took)
	}
	for name, r := range replicas {
		if name == leader {
			continue
		}
		newClient(r.httpPort, false, nil).expect(t, "replicas.example.com", "/", 200, "a ")
	}
}
