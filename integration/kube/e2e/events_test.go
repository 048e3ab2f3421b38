package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEvents: problems become Warning Events on the Ingress; a fixed
// problem stops being reported, and comes back if it recurs.
func TestEvents(t *testing.T) {
	ns := newNamespace(t, "events")
	roots := newRoots(t)
	a := startBackend(t, "a")
	ing := ingress(ns, "web", "caddy", rule("events.example.com", path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"events.example.com"}, SecretName: "web-tls"}}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ing)
	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "events-1"})

	missingSecret := fmt.Sprintf("secret %s/web-tls not found", ns)
	missingService := fmt.Sprintf("service %s/web not found", ns)
	eventually(t, "Warning Events for the missing Secret and Service", 20*time.Second, func() error {
		for _, msg := range []string{missingSecret, missingService} {
			if observations(t, ns, msg) == 0 {
				return fmt.Errorf("no event %q among %s", msg, describeEvents(t, ns))
			}
		}
		return nil
	})

	// Fix both; then a steady state: no new reports of either.
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	secret, _ := roots.tlsSecret(t, ns, "web-tls", "events.example.com")
	mustCreate(t, kube().CoreV1().Secrets(ns).Create, secret)
	newClient(caddy.httpsPort, true, roots).expect(t, "events.example.com", "/", 200, "a ")
	before := map[string]int{missingSecret: observations(t, ns, missingSecret), missingService: observations(t, ns, missingService)}
	time.Sleep(3 * time.Second) // a steady state to watch for repeats
	for msg, n := range before {
		if got := observations(t, ns, msg); got != n {
			t.Errorf("%q after the fix: got %d observations, want still %d", msg, got, n)
		}
	}

	// The problem comes back: it is reported again.
	if err := kube().CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the recurring problem reported again", 20*time.Second, func() error {
		if got := observations(t, ns, missingService); got <= before[missingService] {
			return fmt.Errorf("got %d observations, want more than %d", got, before[missingService])
		}
		return nil
	})
}

// observations counts how often Warning Events on Ingress web in ns carry
// a message containing msg (an aggregated Event counts each repeat).
func observations(t testing.TB, ns, msg string) int {
	t.Helper()
	list, err := kube().CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		if e.Type != corev1.EventTypeWarning || e.InvolvedObject.Kind != "Ingress" || e.InvolvedObject.Name != "web" || !strings.Contains(e.Message, msg) {
			continue
		}
		count := max(int(e.Count), 1)
		if e.Series != nil {
			count = max(count, int(e.Series.Count))
		}
		n += count
	}
	return n
}

func describeEvents(t testing.TB, ns string) string {
	list, err := kube().CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range list.Items {
		fmt.Fprintf(&b, "\n  %s %s %s/%s %q count=%d", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message, e.Count)
	}
	return fmt.Sprintf("%d events:%s", len(list.Items), b.String())
}
