package ingress_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// tlsSecretOf is a kubernetes.io/tls Secret web/name holding c.
func tlsSecretOf(t *testing.T, name string, c *tls.Certificate) *corev1.Secret {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
			"tls.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		},
	}
}

// selfSignedFor is a self-signed certificate for host, valid from
// notBefore to notAfter.
func selfSignedFor(t *testing.T, host string, notBefore, notAfter time.Time) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestNextChange checks that a translation says when it changes by itself:
// when the certificate of a Secret it serves becomes valid or expires.
func TestNextChange(t *testing.T) {
	issued := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	cert := selfSignedFor(t, "shop.example.com", issued.Add(-time.Hour), issued.AddDate(1, 0, 0))
	leaf := cert.Leaf
	class := "caddy"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "shop"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{leaf.DNSNames[0]}, SecretName: "shop-tls"}},
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: "shop", Port: networkingv1.ServiceBackendPort{Number: 80}}},
		},
	}
	snap := &ingress.Snapshot{Ingresses: []*networkingv1.Ingress{ing}, Secrets: []*corev1.Secret{tlsSecretOf(t, "shop-tls", cert)}}
	tests := []struct {
		name     string
		now      time.Time
		want     time.Time
		served   bool
		problems int
	}{
		{name: "not valid yet", now: leaf.NotBefore.Add(-time.Minute), want: leaf.NotBefore, problems: 1},
		{name: "valid from now", now: leaf.NotBefore, want: leaf.NotAfter.Add(time.Second), served: true},
		{name: "valid", now: issued, want: leaf.NotAfter.Add(time.Second), served: true},
		{name: "expired", now: leaf.NotAfter.Add(time.Second), problems: 1},
	}
	tr := new(ingress.Translator)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One translator for all: a memoized parse must not hide a
			// change of time.
			res := tr.Translate(snap, ingress.Options{IngressClass: "caddy", Now: tt.now})
			if !res.NextChange.Equal(tt.want) {
				t.Errorf("got next change %v, want %v", res.NextChange, tt.want)
			}
			if got := len(res.Certificates) == 1; got != tt.served {
				t.Errorf("got certificate served %v, want %v", got, tt.served)
			}
			var secretProblems int
			for _, p := range res.Problems {
				if p.Field == "spec.tls[0].secretName" {
					secretProblems++
				}
			}
			if secretProblems != tt.problems {
				t.Errorf("got problems %v, want %d for spec.tls[0].secretName", res.Problems, tt.problems)
			}
		})
	}
}
