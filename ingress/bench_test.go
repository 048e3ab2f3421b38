package ingress_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// BenchSnapshot builds n Ingresses in namespaces of 100, each with its own
// host, two paths and a Service; every namespace has a wildcard TLS
// Secret that its Ingresses use.
func benchSnapshot(b *testing.B, n int) *ingress.Snapshot {
	b.Helper()
	snap := &ingress.Snapshot{}
	class := "caddy"
	prefix := networkingv1.PathTypePrefix
	exact := networkingv1.PathTypeExact
	for i := range n {
		ns := fmt.Sprintf("ns%d", i/100)
		host := fmt.Sprintf("app%d.%s.example.com", i, ns)
		if i%100 == 0 {
			snap.Secrets = append(snap.Secrets, wildcardSecret(b, ns, "*."+ns+".example.com"))
		}
		svc := fmt.Sprintf("svc%d", i)
		snap.Services = append(snap.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		})
		backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: svc, Port: networkingv1.ServiceBackendPort{Name: "http"},
		}}
		snap.Ingresses = append(snap.Ingresses, &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ing%d", i), Namespace: ns},
			Spec: networkingv1.IngressSpec{
				IngressClassName: &class,
				TLS:              []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "wildcard"}},
				Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
					HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
						{Path: "/", PathType: &prefix, Backend: backend},
						{Path: "/healthz", PathType: &exact, Backend: backend},
					}},
				}}},
			},
		})
	}
	return snap
}

func wildcardSecret(b *testing.B, ns, name string) *corev1.Secret {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "wildcard", Namespace: ns},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		},
	}
}

var benchOptions = ingress.Options{IngressClass: "caddy", Controller: "caddy-ingress.io/controller", HTTPSPort: 443, Now: testNow}

// BenchmarkTranslate10k translates 10,000 Ingresses from scratch (every
// certificate parsed) and again with a Translator that has seen them.
func BenchmarkTranslate10k(b *testing.B) {
	snap := benchSnapshot(b, 10000)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			res := ingress.Translate(snap, benchOptions)
			if len(res.Problems) != 0 {
				b.Fatal(res.Problems[0])
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		var tr ingress.Translator
		tr.Translate(snap, benchOptions)
		for b.Loop() {
			tr.Translate(snap, benchOptions)
		}
	})
}
