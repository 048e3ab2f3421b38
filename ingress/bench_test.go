package ingress_test

import (
	"fmt"
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
			snap.Secrets = append(snap.Secrets, selfSignedSecret(b, ns, "wildcard", "*."+ns+".example.com", testNow.Add(-time.Hour), testNow.Add(24*time.Hour)))
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

// BenchmarkIncrementalOneChange changes one Ingress (a path) on top of
// n and translates incrementally; the cost should not grow with n.
func BenchmarkIncrementalOneChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("one-of-%d", n), func(b *testing.B) {
			base := benchSnapshot(b, n)
			var in ingress.Incremental
			in.Translate(base, benchOptions)
			i := 0
			for b.Loop() {
				snap := *base
				snap.Ingresses = append([]*networkingv1.Ingress(nil), base.Ingresses...)
				changed := snap.Ingresses[i%n].DeepCopy()
				changed.Spec.Rules[0].HTTP.Paths[1].Path = fmt.Sprintf("/healthz-%d", i)
				snap.Ingresses[i%n] = changed
				if res := in.Translate(&snap, benchOptions); res.Hosts.Len() != n {
					b.Fatalf("got %d hosts", res.Hosts.Len())
				}
				i++
			}
		})
	}
}
