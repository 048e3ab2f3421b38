package caddyingress

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// tlsServer is Caddy running in this process with the ingress app (fed by
// hand), a TLS app that holds static's certificate in its own cache, and
// an HTTPS server on loopback whose certificates come from that cache or,
// failing it, from the ingress certificate manager. Every request gets a
// static 200, so that handshakes are all that differs.
type tlsServer struct {
	app  *App
	addr string
	// tls is the server's TLS config, as its listener uses it.
	tls *tls.Config
}

func runTLSServer(tb testing.TB, static benchCert) *tlsServer {
	tb.Helper()
	port := freePort(tb)
	cfg := map[string]any{
		"admin":   map[string]any{"disabled": true, "config": map[string]any{"persist": false}},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
		"storage": map[string]any{"module": "file_system", "root": tb.TempDir()},
		"apps": map[string]any{
			"ingress": map[string]any{"source": map[string]any{"source": "by_hand"}},
			"tls": map[string]any{
				"certificates": map[string]any{"load_pem": []any{map[string]any{
					"certificate": string(static.certPEM), "key": string(static.keyPEM),
				}}},
				"automation": map[string]any{"policies": []any{
					map[string]any{"subjects": []string{static.leaf.DNSNames[0]}},
					map[string]any{"get_certificate": []any{map[string]any{"via": "ingress"}}},
				}},
			},
			"http": map[string]any{"servers": map[string]any{"bench": map[string]any{
				"listen":                  []string{fmt.Sprintf("127.0.0.1:%d", port)},
				"protocols":               []string{"h1"},
				"automatic_https":         map[string]any{"disable": true},
				"tls_connection_policies": []any{map[string]any{}},
				"routes": []any{map[string]any{"handle": []any{map[string]any{
					"handler": "static_response", "status_code": 200, "body": "ok",
				}}}},
			}}},
		},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := caddy.Load(raw, true); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = caddy.Stop() })
	ctx := caddy.ActiveContext()
	app, err := ctx.App("ingress")
	if err != nil {
		tb.Fatal(err)
	}
	httpApp, err := ctx.App("http")
	if err != nil {
		tb.Fatal(err)
	}
	return &tlsServer{
		app:  app.(*App),
		addr: fmt.Sprintf("127.0.0.1:%d", port),
		tls:  httpApp.(*caddyhttp.App).Servers["bench"].TLSConnPolicies.TLSConfig(ctx),
	}
}

// TestSecretCertificatesNotStapled serves a Secret certificate that names
// an OCSP responder and an issuer URL: the handshake carries no staple,
// and by the time it completed neither URL (a tenant's) was asked, while
// for the same kind of certificate loaded into Caddy's own cache certmagic
// fetched them when it was loaded. This is the documented OCSP decision
// (README, TLS termination).
func TestSecretCertificatesNotStapled(t *testing.T) {
	// Each certificate's URLs are under a path of its own, so that a
	// late fetch for the cached one never counts as the Secret's.
	var askedStatic, asked atomic.Int32
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/secret/") {
			asked.Add(1)
		} else {
			askedStatic.Add(1)
		}
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer responder.Close()

	static := benchKeyPair(t, "static.test", responder.URL+"/static")
	srv := runTLSServer(t, static)
	if got := askedStatic.Load(); got == 0 {
		t.Fatalf("the URLs of a certificate in Caddy's cache were asked %d times, want at least 1 (the test's server is not reached)", got)
	}

	snap, leaf := secretsSnapshot(t, 1, responder.URL+"/secret")
	srv.app.update(snap, nil)
	conn, err := tls.Dial("tcp", srv.addr, &tls.Config{ServerName: "app0.test", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	state := conn.ConnectionState()
	if !state.PeerCertificates[0].Equal(leaf) {
		t.Fatalf("got certificate %q, want the Secret's", state.PeerCertificates[0].Subject)
	}
	if len(state.OCSPResponse) != 0 {
		t.Errorf("got an OCSP staple of %d bytes, want none", len(state.OCSPResponse))
	}
	if got := asked.Load(); got != 0 {
		t.Errorf("the Secret certificate's OCSP and issuer URLs were asked %d times, want 0", got)
	}
}

// benchCert is a self-signed ECDSA P-256 certificate for one name.
type benchCert struct {
	certPEM, keyPEM []byte
	leaf            *x509.Certificate
}

// benchKeyPair returns a certificate for name; with ocsp, it names URLs
// under it as its OCSP responder and its issuer's certificate.
func benchKeyPair(tb testing.TB, name, ocsp string) benchCert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := certTemplate(tb, name)
	tmpl.DNSNames = []string{name}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if ocsp != "" {
		tmpl.OCSPServer = []string{ocsp + "/ocsp"}
		tmpl.IssuingCertificateURL = []string{ocsp + "/issuer"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return benchCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		leaf:    leaf,
	}
}

// secretsSnapshot returns n Ingresses, each with its own host
// (app<i>.test) and TLS Secret (certificates with ocsp as responder, if
// set), and the leaf of app0.test.
func secretsSnapshot(tb testing.TB, n int, ocsp string) (*ingress.Snapshot, *x509.Certificate) {
	tb.Helper()
	snap := &ingress.Snapshot{Services: []*corev1.Service{testService("web")}}
	var first *x509.Certificate
	for i := range n {
		host := fmt.Sprintf("app%d.test", i)
		kp := benchKeyPair(tb, host, ocsp)
		if i == 0 {
			first = kp.leaf
		}
		secret := fmt.Sprintf("tls%d", i)
		snap.Secrets = append(snap.Secrets, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: secret, Namespace: "default"},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: kp.certPEM, corev1.TLSPrivateKeyKey: kp.keyPEM},
		})
		ing := testIngress(fmt.Sprintf("ing%d", i), host, testPath{"/", "Prefix", "web"})
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: secret}}
		snap.Ingresses = append(snap.Ingresses, ing)
	}
	return snap, first
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
