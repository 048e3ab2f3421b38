package caddyingress

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestControllerMetrics: translations count, the last applied time, the
// problems per object and field, and the certificates with their expiry
// follow the applied snapshots; what goes is deleted.
func TestControllerMetrics(t *testing.T) {
	app := runApp(t)
	snap, leaf := statusSnapshot(t)
	value := func(name, labels string) (float64, bool) {
		t.Helper()
		m, ok := series(t, app, name)[labels]
		if !ok {
			return 0, false
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		default:
			return m.GetGauge().GetValue(), true
		}
	}
	translations, _ := value("caddy_ingress_translations_total", "")
	before := float64(time.Now().Unix())
	app.update(snap, nil)
	if got, _ := value("caddy_ingress_translations_total", ""); got != translations+1 {
		t.Errorf("translations_total: got %v, want %v", got, translations+1)
	}
	if got, _ := value("caddy_ingress_translation_duration_seconds", ""); got != translations+1 {
		t.Errorf("translation_duration_seconds: got %v samples, want %v", got, translations+1)
	}
	if got, _ := value("caddy_ingress_last_applied_timestamp_seconds", ""); got < before || got > float64(time.Now().Unix())+1 {
		t.Errorf("last_applied_timestamp_seconds: got %v, want about %v", got, before)
	}
	problemB := "field=spec.tls[].secretName,kind=Ingress,name=b,namespace=default"
	if got, ok := value("caddy_ingress_problems", problemB); !ok || got != 1 {
		t.Errorf("problems{%s}: got %v (present %t), want 1", problemB, got, ok)
	}
	expiryA := "host=a.example.com,namespace=default,secret_name=a-tls"
	if got, ok := value("caddy_ingress_ssl_expire_time_seconds", expiryA); !ok || got != float64(leaf.NotAfter.Unix()) {
		t.Errorf("ssl_expire_time_seconds{%s}: got %v (present %t), want %d", expiryA, got, ok, leaf.NotAfter.Unix())
	}
	if got, _ := value("caddy_ingress_certificates", "source=secret"); got != 1 {
		t.Errorf("certificates{source=secret}: got %v, want 1", got)
	}

	// An endpoint-only change: applied, not translated.
	translations, _ = value("caddy_ingress_translations_total", "")
	endpoints := *snap
	endpoints.EndpointSlices = append(endpoints.EndpointSlices, loopbackSlice("svc-a", 8080))
	app.update(&endpoints, nil)
	if got, _ := value("caddy_ingress_translations_total", ""); got != translations {
		t.Errorf("after an endpoint change: translations_total: got %v, want %v", got, translations)
	}

	// Ingress b's problem and Ingress a's certificate go.
	next := endpoints
	next.Ingresses = []*networkingv1.Ingress{testIngress("a", "a.example.com", testPath{"/", "Prefix", "svc-a"})}
	next.Secrets = nil
	app.update(&next, nil)
	if got, ok := value("caddy_ingress_problems", problemB); ok {
		t.Errorf("problems{%s}: got %v once fixed, want no series", problemB, got)
	}
	if got, ok := value("caddy_ingress_ssl_expire_time_seconds", expiryA); ok {
		t.Errorf("ssl_expire_time_seconds{%s}: got %v once not served, want no series", expiryA, got)
	}
	if got, _ := value("caddy_ingress_certificates", "source=secret"); got != 0 {
		t.Errorf("certificates{source=secret}: got %v, want 0", got)
	}

	// Source problems count too.
	app.update(&next, []ingress.Problem{{Object: ingress.ObjectRef{Kind: "File", Name: "bad.yaml"}, Field: "line 3", Reason: "does not parse"}})
	if got, ok := value("caddy_ingress_problems", "field=,kind=File,name=bad.yaml,namespace="); !ok || got != 1 {
		t.Errorf("problems of a file: got %v (present %t), want 1", got, ok)
	}
}

// tlsSecret returns a kubernetes.io/tls Secret with a certificate for
// names, and the certificate.
func tlsSecret(t *testing.T, name string, names ...string) (*corev1.Secret, *x509.Certificate) {
	t.Helper()
	pair := newTestCA(t, "ca").issue(t, name, x509.ExtKeyUsageServerAuth, names...)
	key, err := x509.MarshalPKCS8PrivateKey(pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pair.Certificate[0]}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		},
	}, pair.Leaf
}

// statusSnapshot has Ingress a with TLS from Secret a-tls, and Ingress b
// whose Secret is missing (a problem).
func statusSnapshot(t *testing.T) (*ingress.Snapshot, *x509.Certificate) {
	t.Helper()
	secret, leaf := tlsSecret(t, "a-tls", "a.example.com")
	ingA := testIngress("a", "a.example.com", testPath{"/api/", "Prefix", "svc-a"}, testPath{"/health", "Exact", "svc-a"})
	ingA.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}, SecretName: "a-tls"}}
	ingB := testIngress("b", "b.example.com", testPath{"/", "Prefix", "svc-b"})
	ingB.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"b.example.com"}, SecretName: "missing"}}
	return &ingress.Snapshot{
		Ingresses: []*networkingv1.Ingress{ingA, ingB},
		Services:  []*corev1.Service{testService("svc-a"), testService("svc-b")},
		Secrets:   []*corev1.Secret{secret},
	}, leaf
}
