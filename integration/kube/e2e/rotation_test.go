package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestCertificateRotationUnderLoad replaces the key pair of a TLS
// Ingress's Secret (an Update of the same Secret, with a certificate from
// another CA) while several clients open new TLS connections without a
// pause, each trusting both CAs. No handshake or request may fail, the new
// certificate must be served within a bounded time, and once a client got
// it no later connection may get the old one, nor the self-signed default.
func TestCertificateRotationUnderLoad(t *testing.T) {
	const (
		host    = "rotate.example.com"
		workers = 4
		steady  = 3 * time.Second  // load before the update and after the switch
		maxWait = 10 * time.Second // from the update to the first new certificate
	)
	ns := newNamespace(t, "rotate")
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	ing := ingress(ns, "web", "caddy", rule(host, path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "web-tls"}}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ing)
	oldRoots, newRoots := newRoots(t), newRoots(t)
	secret, oldLeaf := oldRoots.tlsSecret(t, ns, "web-tls", host)
	mustCreate(t, kube().CoreV1().Secrets(ns).Create, secret)
	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "rotate-1"})
	expectCert(t, newClient(caddy.httpsPort, true, oldRoots), host, oldLeaf)

	pool := x509.NewCertPool()
	pool.AddCert(oldRoots.cert)
	pool.AddCert(newRoots.cert)
	load := &rotationLoad{addr: fmt.Sprintf("127.0.0.1:%d", caddy.httpsPort), host: host, pool: pool, oldLeaf: oldLeaf}
	began := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { load.run(stop) })
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()

	time.Sleep(steady) // load before the update, not a wait for a condition
	rotated, newLeaf := newRoots.tlsSecret(t, ns, "web-tls", host)
	current, err := kube().CoreV1().Secrets(ns).Get(ctx, "web-tls", metav1GetOptions)
	if err != nil {
		t.Fatal(err)
	}
	current.Data = rotated.Data
	updated := time.Now()
	mustUpdate(t, kube().CoreV1().Secrets(ns).Update, current)
	eventually(t, "a handshake with the new certificate", maxWait, func() error {
		if load.firstNew().IsZero() {
			return fmt.Errorf("only the old certificate so far")
		}
		return nil
	})
	switched := load.firstNew()
	time.Sleep(steady) // load after the switch
	stopLoad()

	before, after, got := load.results(updated, switched, newLeaf)
	t.Logf("%d handshakes in %s over %d workers: %d opened before the update, %d after the switch; new certificate %s after the update",
		len(load.done), time.Since(began).Round(time.Millisecond), workers,
		before, after, switched.Sub(updated).Round(time.Millisecond))
	if before < 50 || after < 50 {
		t.Errorf("handshakes: got %d before the update and %d after the switch, want at least 50 each", before, after)
	}
	if len(got.failed) > 0 {
		first := got.failed[0]
		t.Errorf("failed handshakes or requests: got %d of %d, want 0; first, opened %s after the update: %v",
			len(got.failed), len(load.done), first.start.Sub(updated).Round(time.Millisecond), first.err)
	}
	if len(got.newTooEarly) > 0 {
		t.Errorf("new certificate on handshakes over before the update: got %d, want 0", len(got.newTooEarly))
	}
	if len(got.oldAfterSwitch) > 0 {
		t.Errorf("old certificate on connections opened after a client got the new one: got %d, want 0; first opened %s after the switch",
			len(got.oldAfterSwitch), got.oldAfterSwitch[0].start.Sub(switched))
	}
	if last := load.done[len(load.done)-1]; !bytes.Equal(last.leaf, newLeaf) {
		t.Errorf("last handshake: got a certificate other than the new one")
	}
	if leaf, err := x509.ParseCertificate(newLeaf); err != nil || leaf.CheckSignatureFrom(newRoots.cert) != nil {
		t.Errorf("new certificate: not signed by the new CA (%v)", err)
	}
	if n := len(caddy.log.lines(`"logger":"ingress"`, `"msg":"started"`)); n != 1 {
		t.Errorf("ingress app starts: got %d, want 1 (no reload)", n)
	}
}

// handshake is the outcome of one new TLS connection and the request on it.
type handshake struct {
	start, end time.Time
	leaf       []byte // DER of the certificate served, when there was one
	err        error  // of the handshake, its verification or the request
}

// rotationLoad opens new TLS connections to addr for host, one after the
// other in each worker, and records every outcome.
type rotationLoad struct {
	addr, host string
	pool       *x509.CertPool
	oldLeaf    []byte

	mu   sync.Mutex
	done []handshake
	// newAt is the end of the first successful handshake with a
	// certificate other than oldLeaf.
	newAt time.Time
}

func (l *rotationLoad) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		h := l.once()
		l.mu.Lock()
		l.done = append(l.done, h)
		if h.err == nil && !bytes.Equal(h.leaf, l.oldLeaf) && l.newAt.IsZero() {
			l.newAt = h.end
		}
		l.mu.Unlock()
	}
}

// once opens a connection with SNI host, verifies the certificate served
// against the pool (itself, so as to record which certificate it was),
// and sends one request that closes the connection.
func (l *rotationLoad) once() (h handshake) {
	h.start = time.Now()
	defer func() { h.end = time.Now() }()
	cfg := &tls.Config{
		ServerName:         l.host,
		InsecureSkipVerify: true, // verified in VerifyConnection, which records the leaf first
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("no certificate")
			}
			leaf := cs.PeerCertificates[0]
			h.leaf = leaf.Raw
			intermediates := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				intermediates.AddCert(c)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: l.host, Roots: l.pool, Intermediates: intermediates}); err != nil {
				return fmt.Errorf("certificate %q issued by %q: %w", leaf.Subject, leaf.Issuer, err)
			}
			return nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dialer := &tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
	conn, err := dialer.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		h.err = err
		return h
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	req, err := http.NewRequest(http.MethodGet, "https://"+l.host+"/", nil)
	if err != nil {
		h.err = err
		return h
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		h.err = fmt.Errorf("sending the request: %w", err)
		return h
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		h.err = fmt.Errorf("reading the response: %w", err)
		return h
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		h.err = fmt.Errorf("reading the body: %w", err)
	case resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "a "):
		h.err = fmt.Errorf("got %d %q, want 200 from backend a", resp.StatusCode, body)
	}
	return h
}

// firstNew is when a handshake first ended with a certificate other than
// the old one; zero until then.
func (l *rotationLoad) firstNew() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.newAt
}

// rotationFaults are the handshakes that broke a rule of the rotation.
type rotationFaults struct {
	failed         []handshake // an error, or a certificate neither old nor new
	newTooEarly    []handshake // the new certificate, over before the update
	oldAfterSwitch []handshake // the old certificate, opened after switched
}

// results counts the handshakes opened before updated and after
// switched, and sorts out the faults. Call it once the load stopped.
func (l *rotationLoad) results(updated, switched time.Time, newLeaf []byte) (before, after int, f rotationFaults) {
	for _, h := range l.done {
		if h.start.Before(updated) {
			before++
		}
		if h.start.After(switched) {
			after++
		}
		switch {
		case h.err != nil:
			f.failed = append(f.failed, h)
		case bytes.Equal(h.leaf, newLeaf):
			if h.end.Before(updated) {
				f.newTooEarly = append(f.newTooEarly, h)
			}
		case bytes.Equal(h.leaf, l.oldLeaf):
			if h.start.After(switched) {
				f.oldAfterSwitch = append(f.oldAfterSwitch, h)
			}
		default:
			h.err = fmt.Errorf("a certificate neither old nor new")
			f.failed = append(f.failed, h)
		}
	}
	return before, after, f
}
