package ingress_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestNextChange checks that a translation says when it changes by itself:
// when the certificate of a Secret it serves becomes valid or expires.
func TestNextChange(t *testing.T) {
	issued := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	notBefore, notAfter := issued.Add(-time.Hour), issued.AddDate(1, 0, 0)
	class := "caddy"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "shop"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: "shop", Port: networkingv1.ServiceBackendPort{Number: 80}}},
		},
	}
	snap := &ingress.Snapshot{Ingresses: []*networkingv1.Ingress{ing}, Secrets: []*corev1.Secret{selfSignedSecret(t, "web", "shop-tls", "shop.example.com", notBefore, notAfter)}}
	tests := []struct {
		name     string
		now      time.Time
		want     time.Time
		served   bool
		problems int
	}{
		{name: "not valid yet", now: notBefore.Add(-time.Minute), want: notBefore, problems: 1},
		{name: "valid from now", now: notBefore, want: notAfter.Add(time.Second), served: true},
		{name: "valid", now: issued, want: notAfter.Add(time.Second), served: true},
		{name: "expired", now: notAfter.Add(time.Second), problems: 1},
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
