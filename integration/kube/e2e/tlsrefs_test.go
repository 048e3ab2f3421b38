package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const nginxAnnotationPrefix = "nginx.ingress.kubernetes.io/"

// secretChangeWait bounds the time from a write of a referenced Secret to
// the first request served according to it.
const secretChangeWait = 10 * time.Second

// TestReferencedSecrets: Secrets named by annotations (auth-tls-secret,
// proxy-ssl-secret) are Opaque Secrets with ca.crt, watched like the TLS
// Secrets of spec.tls: creating or updating one applies without a reload,
// a missing one or one in another namespace refuses the Ingress (503) and
// is reported as a Warning Event.
func TestReferencedSecrets(t *testing.T) {
	t.Run("client CA created then rotated", testClientCASecret)
	t.Run("backend CA rotated", testBackendCASecret)
	t.Run("client CA in another namespace", testCrossNamespaceClientCA)
}

// testClientCASecret: auth-tls-secret names a Secret that does not exist
// yet, then is created with CA1, then updated to CA2.
func testClientCASecret(t *testing.T) {
	const host = "mtls.example.com"
	ns := newNamespace(t, "clientca")
	serverRoots, ca1, ca2 := newRoots(t), newRoots(t), newRoots(t)
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	serving, _ := serverRoots.tlsSecret(t, ns, "web-tls", host)
	mustCreate(t, kube().CoreV1().Secrets(ns).Create, serving)
	ing := ingress(ns, "web", "caddy", rule(host, path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	ing.Annotations = map[string]string{nginxAnnotationPrefix + "auth-tls-secret": ns + "/client-ca"}
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "web-tls"}}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ing)
	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "clientca-1", clientAuth: true})

	noCert := newClient(caddy.httpsPort, true, serverRoots)
	cert1 := withClientCert(newClient(caddy.httpsPort, true, serverRoots), ca1.clientCert(t, "client of CA1"))
	cert2 := withClientCert(newClient(caddy.httpsPort, true, serverRoots), ca2.clientCert(t, "client of CA2"))

	// The Secret is missing: refused, whatever the client presents. Caddy's
	// start waits for the first snapshot to be applied, so this holds from
	// the first request on.
	expectNow(t, noCert, host, 503, "missing Secret, no client certificate")
	expectNow(t, cert1, host, 503, "missing Secret, client certificate of CA1")
	annotation := "metadata.annotations[" + nginxAnnotationPrefix + "auth-tls-secret]"
	expectWarningEvent(t, ns, "web", annotation, fmt.Sprintf("secret %s/client-ca not found", ns))

	// Created with CA1: a CA1 certificate passes, none or a CA2 one does not.
	secret := mustCreate(t, kube().CoreV1().Secrets(ns).Create, caSecret(ns, "client-ca", ca1))
	created := time.Now()
	cert1.expectWithin(t, host, "/", 200, "a ", secretChangeWait)
	t.Logf("client CA Secret created: CA1 client certificate accepted after %s", time.Since(created).Round(time.Millisecond))
	expectNow(t, noCert, host, 400, "CA1 in the Secret, no client certificate")
	expectNow(t, cert2, host, 400, "CA1 in the Secret, client certificate of CA2")

	// Updated to CA2: from the first request a CA2 certificate passes, a
	// CA1 one never does again. Both CAs have the same subject (newRoots),
	// so only the keys tell them apart.
	secret.Data = caSecret(ns, "client-ca", ca2).Data
	mustUpdate(t, kube().CoreV1().Secrets(ns).Update, secret)
	updated := time.Now()
	cert2.expectWithin(t, host, "/", 200, "a ", secretChangeWait)
	t.Logf("client CA Secret updated: CA2 client certificate accepted after %s", time.Since(updated).Round(time.Millisecond))
	expectNow(t, cert1, host, 400, "CA2 in the Secret, client certificate of CA1")
	expectNow(t, noCert, host, 400, "CA2 in the Secret, no client certificate")

	if n := len(caddy.log.lines(`"logger":"ingress"`, `"msg":"started"`)); n != 1 {
		t.Errorf("ingress app starts: got %d, want 1 (no reload)", n)
	}
}

// testBackendCASecret: proxy-ssl-secret holds the CA of an HTTPS backend;
// replacing it with another CA makes new backend connections fail (502)
// and restoring it makes them work again.
//
// Caddy's transport pools backend connections, and a connection keeps the
// verification it was made with (as the transport's documentation says):
// with keep-alives on, a pooled connection kept answering 200 for as long
// as it was used (40 requests over 4s, in a trial run) after the update
// to another CA. The backend here closes every connection after one
// response (keep-alives off, HTTP/1.1 only), so every proxied request is a
// new TLS handshake, which the backend counts.
func testBackendCASecret(t *testing.T) {
	const host = "backend-tls.example.com"
	ns := newNamespace(t, "backendca")
	caB, caX := newRoots(t), newRoots(t)
	b := startTLSBackend(t, "b", caB, "web."+ns+".svc")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("https", 443)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "https", b.backend))
	secret := mustCreate(t, kube().CoreV1().Secrets(ns).Create, caSecret(ns, "backend-ca", caB))
	ing := ingress(ns, "web", "caddy", rule(host, path{path: "/", typ: "Prefix", svc: "web", portName: "https"}))
	ing.Annotations = map[string]string{
		nginxAnnotationPrefix + "backend-protocol": "HTTPS",
		nginxAnnotationPrefix + "proxy-ssl-secret": ns + "/backend-ca",
	}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ing)
	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "backendca-1"})
	plain := newClient(caddy.httpPort, false, nil)

	plain.expect(t, host, "/", 200, "b ")
	before := b.handshakes.Load()
	expectNow(t, plain, host, 200, "CA-B in the Secret")
	if got := b.handshakes.Load(); got <= before {
		t.Fatalf("backend handshakes: got %d after another request, want more than %d (a new connection per request)", got, before)
	}

	// Another CA: the backend's certificate is not trusted any more.
	secret.Data = caSecret(ns, "backend-ca", caX).Data
	secret = mustUpdate(t, kube().CoreV1().Secrets(ns).Update, secret)
	updated := time.Now()
	plain.expectWithin(t, host, "/", 502, "", secretChangeWait)
	t.Logf("backend CA Secret updated to another CA: 502 after %s", time.Since(updated).Round(time.Millisecond))
	before = b.handshakes.Load()
	expectNow(t, plain, host, 502, "another CA in the Secret")
	if got := b.handshakes.Load(); got <= before {
		t.Errorf("backend handshakes: got %d after the 502, want more than %d (the 502 comes from a new connection)", got, before)
	}
	untrusted := fmt.Sprintf("backend certificate of %s:%d (Ingress %s/web) not trusted", b.ip, b.port, ns)
	if lines := caddy.log.lines(untrusted); len(lines) == 0 {
		t.Errorf("caddy log: no line containing %q", untrusted)
	}

	// CA-B again: served again.
	secret.Data = caSecret(ns, "backend-ca", caB).Data
	mustUpdate(t, kube().CoreV1().Secrets(ns).Update, secret)
	restored := time.Now()
	plain.expectWithin(t, host, "/", 200, "b ", secretChangeWait)
	t.Logf("backend CA Secret restored: 200 after %s", time.Since(restored).Round(time.Millisecond))

	if n := len(caddy.log.lines(`"logger":"ingress"`, `"msg":"started"`)); n != 1 {
		t.Errorf("ingress app starts: got %d, want 1 (no reload)", n)
	}
}

// testCrossNamespaceClientCA: auth-tls-secret names a Secret that exists
// in another namespace, which the controller watches too. Without
// allow_cross_namespace_secrets the Ingress is refused; a second Caddy
// with it on serves the same objects with the client check, which shows
// that the refusal comes from the option and not from the Secret.
func testCrossNamespaceClientCA(t *testing.T) {
	const host = "cross.example.com"
	ns, other := newNamespace(t, "cross"), newNamespace(t, "crossca")
	serverRoots, ca := newRoots(t), newRoots(t)
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	serving, _ := serverRoots.tlsSecret(t, ns, "web-tls", host)
	mustCreate(t, kube().CoreV1().Secrets(ns).Create, serving)
	mustCreate(t, kube().CoreV1().Secrets(other).Create, caSecret(other, "client-ca", ca))
	ing := ingress(ns, "web", "caddy", rule(host, path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	ing.Annotations = map[string]string{nginxAnnotationPrefix + "auth-tls-secret": other + "/client-ca"}
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "web-tls"}}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ing)
	caddy := startCaddy(t, caddyOptions{namespace: ns, alsoWatch: []string{other}, identity: "cross-1", clientAuth: true})
	clientCert := ca.clientCert(t, "client of the other namespace's CA")

	withCert := withClientCert(newClient(caddy.httpsPort, true, serverRoots), clientCert)
	expectNow(t, withCert, host, 503, "Secret in another namespace, client certificate of its CA")
	expectNow(t, newClient(caddy.httpsPort, true, serverRoots), host, 503, "Secret in another namespace, no client certificate")
	expectWarningEvent(t, ns, "web", "metadata.annotations["+nginxAnnotationPrefix+"auth-tls-secret]",
		fmt.Sprintf("secret %s/client-ca", other), "allow_cross_namespace_secrets")

	allowed := startCaddy(t, caddyOptions{namespace: ns, alsoWatch: []string{other}, identity: "cross-2",
		leaseName: "caddy-ingress-" + ns + "-allowed", clientAuth: true, allowCrossNamespaceSecrets: true})
	expectNow(t, withClientCert(newClient(allowed.httpsPort, true, serverRoots), clientCert), host, 200, "allow_cross_namespace_secrets on, client certificate of the CA")
	expectNow(t, newClient(allowed.httpsPort, true, serverRoots), host, 400, "allow_cross_namespace_secrets on, no client certificate")
	expectNow(t, withCert, host, 503, "allow_cross_namespace_secrets off, still")
}

// expectNow sends one request and checks its status: for states that must
// hold at once, without polling.
func expectNow(t testing.TB, c *client, host string, status int, what string) {
	t.Helper()
	r, err := c.get(host, "/")
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.status != status {
		t.Fatalf("%s: got %d %q, want %d", what, r.status, r.body, status)
	}
}

// expectWarningEvent waits for a Warning Event on Ingress ns/name whose
// message contains every one of parts.
func expectWarningEvent(t testing.TB, ns, name string, parts ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("a Warning Event on Ingress %s/%s with %q", ns, name, parts), 20*time.Second, func() error {
		list, err := kube().CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Type != corev1.EventTypeWarning || e.InvolvedObject.Kind != "Ingress" || e.InvolvedObject.Name != name {
				continue
			}
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(e.Message, p)
			}
			if ok {
				return nil
			}
		}
		return fmt.Errorf("none among %s", describeEvents(t, ns))
	})
}

// withClientCert makes c present cert to servers that ask for one.
func withClientCert(c *client, cert tls.Certificate) *client {
	c.http.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	return c
}

// caSecret is an Opaque Secret whose ca.crt is the roots' certificate.
func caSecret(ns, name string, r *tlsRoots) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.cert.Raw})},
	}
}

// clientCert issues a client certificate (client authentication only).
func (r *tlsRoots) clientCert(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	der, key := r.leaf(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsBackend is an HTTPS backend that closes each connection after one
// response, so that every proxied request is a new TLS handshake.
type tlsBackend struct {
	*backend
	handshakes atomic.Int64 // ClientHellos received
}

// startTLSBackend starts an HTTPS backend on a new 192.0.2.x address with
// a certificate for serverName from roots. It speaks HTTP/1.1 only.
func startTLSBackend(t testing.TB, name string, roots *tlsRoots, serverName string) *tlsBackend {
	t.Helper()
	secret, _ := roots.tlsSecret(t, "", "", serverName)
	cert, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		t.Fatal(err)
	}
	ip := backendIP()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	b := &tlsBackend{backend: &backend{name: name, ip: ip, port: int32(l.Addr().(*net.TCPAddr).Port)}}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			b.handshakes.Add(1)
			return nil, nil
		},
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s", name, ip)
		}),
		// Handshakes that Caddy aborts are expected; they are counted.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv.SetKeepAlivesEnabled(false)
	go func() { _ = srv.Serve(tls.NewListener(l, cfg)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}
