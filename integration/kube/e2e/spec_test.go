package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestSpecBehaviour checks the Ingress spec's observable behaviour over
// real sockets: hosts, paths, default backends, load spread, classes.
func TestSpecBehaviour(t *testing.T) {
	ns := newNamespace(t, "spec")
	backends := map[string]*backend{}
	for _, name := range []string{"exact", "sub", "root", "wild", "nohost", "dflt"} {
		b := startBackend(t, name)
		backends[name] = b
		mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, name, port("http", 80)))
		mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, name, "http", b))
	}
	first := startBackend(t, "spread-1")
	spread := []*backend{first, startBackendOn(t, "spread-2", first.port), startBackendOn(t, "spread-3", first.port)}
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "spread", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "spread", "http", spread...))

	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "rules", "caddy",
		rule("exact.example.com",
			path{path: "/foo", typ: "Exact", svc: "exact", portName: "http"},
			path{path: "/foo/bar", typ: "Prefix", svc: "sub", port: 80},
			path{path: "/", typ: "Prefix", svc: "root", portName: "http"}),
		rule("*.wild.example.com", path{path: "/", typ: "Prefix", svc: "wild", port: 80}),
		rule("", path{path: "/nohost", typ: "Prefix", svc: "nohost", port: 80}),
		rule("spread.example.com", path{path: "/", typ: "Prefix", svc: "spread", port: 80}),
	))
	catchAll := ingress(ns, "catch-all", "caddy")
	dflt := backendTo("dflt", 80, "")
	catchAll.Spec.DefaultBackend = &dflt
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, catchAll)
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "other-class", "someone-else",
		rule("other.example.com", path{path: "/", typ: "Prefix", svc: "exact", port: 80})))

	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "spec-1", statusAddresses: []string{"192.0.2.250"}})
	c := newClient(caddy.httpPort, false, nil)
	c.expect(t, "exact.example.com", "/foo", 200, "exact ")

	tests := []struct{ host, path, want string }{
		{"exact.example.com", "/foo", "exact"},
		{"exact.example.com", "/foo/", "root"},
		{"exact.example.com", "/FOO", "root"},
		{"exact.example.com", "/foo/bar", "sub"},
		{"exact.example.com", "/foo/bar/", "sub"},
		{"exact.example.com", "/foo/bar/baz", "sub"},
		{"exact.example.com", "/foo/barbaz", "root"},
		{"Exact.Example.com", "/foo", "exact"},
		{"a.wild.example.com", "/x", "wild"},
		{"a.b.wild.example.com", "/x", "dflt"},
		{"wild.example.com", "/x", "dflt"},
		{"a.b.wild.example.com", "/nohost/x", "nohost"},
		{"anything.example.org", "/nohost", "nohost"},
		{"anything.example.org", "/nohostx", "dflt"},
		{"other.example.com", "/", "dflt"},
	}
	for _, tt := range tests {
		r, err := c.get(tt.host, tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(r.body); r.status != 200 || len(got) == 0 || got[0] != tt.want {
			t.Errorf("%s%s: got %d %q, want 200 from %s", tt.host, tt.path, r.status, r.body, tt.want)
		}
	}

	seen := map[string]int{}
	for range 60 {
		r, err := c.get("spread.example.com", "/")
		if err != nil {
			t.Fatal(err)
		}
		seen[strings.Fields(r.body)[0]]++
	}
	for _, b := range spread {
		if seen[b.name] == 0 {
			t.Errorf("load spread: got %v, want every endpoint of the Service to answer", seen)
		}
	}

	// Our Ingresses get the status address; the other class's stays empty.
	eventually(t, "status of our Ingress", 15*time.Second, func() error {
		ing, err := kube().NetworkingV1().Ingresses(ns).Get(ctx, "rules", metav1GetOptions)
		if err != nil {
			return err
		}
		if got := statusIPs(ing); fmt.Sprint(got) != "[192.0.2.250]" {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
	other, err := kube().NetworkingV1().Ingresses(ns).Get(ctx, "other-class", metav1GetOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got := statusIPs(other); len(got) != 0 {
		t.Errorf("status of the other class's Ingress: got %v, want none", got)
	}
}

func statusIPs(ing *networkingv1.Ingress) []string {
	var out []string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		out = append(out, lb.IP+lb.Hostname)
	}
	return out
}
