package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// withSharedSessionTickets returns a configure function for caddyOptions:
// Caddy's distributed session ticket keys (tls.stek.distributed), kept in
// the Kubernetes storage in ns, as the README's "Session resumption across
// replicas" shows.
func withSharedSessionTickets(ns string) func(map[string]any) {
	return func(cfg map[string]any) {
		tlsApp := cfg["apps"].(map[string]any)["tls"].(map[string]any)
		tlsApp["session_tickets"] = map[string]any{"key_source": map[string]any{
			"provider": "distributed",
			"storage":  map[string]any{"module": "kubernetes", "namespace": ns, "kubeconfig": cluster.Kubeconfig(), "lease_duration": "3s"},
		}}
	}
}

// TestSessionResumptionAcrossReplicas runs two replicas that keep their
// session ticket keys in the Kubernetes storage of one namespace: a TLS
// 1.3 session ticket that one issued resumes on the other, both ways. A
// third replica with Caddy's default keys (made per process) is the
// control: it resumes its own tickets, and tickets of the others make full
// handshakes there, as its tickets do on them. A fourth, with
// session_tickets disabled (ingress-nginx's ssl-session-tickets "false"),
// resumes nothing, not even on itself.
func TestSessionResumptionAcrossReplicas(t *testing.T) {
	const host = "resume.example.com"
	ns := newNamespace(t, "resume")
	roots := newRoots(t)
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	secret, _ := roots.tlsSecret(t, ns, "web-tls", host)
	mustCreate(t, kube().CoreV1().Secrets(ns).Create, secret)
	ing := ingress(ns, "web", "caddy", rule(host, path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "web-tls"}}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ing)

	shared := withSharedSessionTickets(ns)
	replicas := []*caddyProcess{
		startCaddy(t, caddyOptions{namespace: ns, identity: "replica-1", configure: shared}),
		startCaddy(t, caddyOptions{namespace: ns, identity: "replica-2", configure: shared}),
	}
	own := startCaddy(t, caddyOptions{namespace: ns, identity: "own-keys"})
	off := startCaddy(t, caddyOptions{namespace: ns, identity: "tickets-off", configure: func(cfg map[string]any) {
		cfg["apps"].(map[string]any)["tls"].(map[string]any)["session_tickets"] = map[string]any{"disabled": true}
	}})
	for _, c := range append(replicas, own, off) {
		newClient(c.httpsPort, true, roots).expect(t, host, "/", 200, "a ")
	}
	if stek := storedValues(t, ns)["stek/stek.bin"]; len(stek) == 0 {
		t.Errorf("no stek/stek.bin in the storage of %s", ns)
	}

	for _, tt := range []struct {
		name       string
		from, to   *caddyProcess
		wantResume bool
	}{
		{"replica-1 to replica-2", replicas[0], replicas[1], true},
		{"replica-2 to replica-1", replicas[1], replicas[0], true},
		{"replica-1 to its own keys", replicas[0], own, false},
		{"own keys to replica-1", own, replicas[0], false},
		{"own keys to itself", own, own, true},
		{"tickets off, to itself", off, off, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: roots.pool, ServerName: host, MinVersion: tls.VersionTLS13,
				ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			// The first connection has no ticket; its answer brings one.
			if resumed, err := resumedRequest(tt.from.httpsPort, host, cfg); err != nil || resumed {
				t.Fatalf("first connection: got resumed %v, %v; want a full handshake", resumed, err)
			}
			resumed, err := resumedRequest(tt.to.httpsPort, host, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if resumed != tt.wantResume {
				t.Errorf("second connection: got resumed %v, want %v", resumed, tt.wantResume)
			}
		})
	}
}

// resumedRequest makes one TLS connection to the loopback port with cfg
// (and its session cache), sends one request for host, reads the answer
// (and with it the session ticket sent before it) and reports whether the
// connection resumed a session.
func resumedRequest(port int, host string, cfg *tls.Config) (bool, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	conn, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return false, err
	}
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		return false, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET https://%s/ on port %d: got %d, want 200", host, port, resp.StatusCode)
	}
	return conn.(*tls.Conn).ConnectionState().DidResume, nil
}
