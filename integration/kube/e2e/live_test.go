package e2e

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLiveChanges creates, updates and deletes an Ingress, a Service, an
// EndpointSlice and a Secret; each change takes effect with no restart.
func TestLiveChanges(t *testing.T) {
	ns := newNamespace(t, "live")
	roots := newRoots(t)
	a, b := startBackend(t, "a"), startBackend(t, "b")
	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "live-1"})
	plain := newClient(caddy.httpPort, false, nil)
	secure := newClient(caddy.httpsPort, true, roots)
	host := "live.example.com"

	// Ingress create: the Service is missing (503), then created (200 from a).
	ing := mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "web", "caddy",
		rule(host, path{path: "/", typ: "Prefix", svc: "web", portName: "http"})))
	plain.expect(t, host, "/", 503, "")
	svc := mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("other", 81)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	plain.expect(t, host, "/", 503, "") // the Service has no port "http" yet
	svc.Spec.Ports = append(svc.Spec.Ports, port("http", 80))
	svc = mustUpdate(t, kube().CoreV1().Services(ns).Update, svc)
	plain.expect(t, host, "/", 200, "a ")

	// EndpointSlice update and delete.
	slice, err := kube().DiscoveryV1().EndpointSlices(ns).Get(ctx, "web-httpslice", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	updated := endpointSlice(ns, "web", "http", b)
	updated.ResourceVersion = slice.ResourceVersion
	mustUpdate(t, kube().DiscoveryV1().EndpointSlices(ns).Update, updated)
	plain.expect(t, host, "/", 200, "b ")
	if err := kube().DiscoveryV1().EndpointSlices(ns).Delete(ctx, "web-httpslice", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	plain.expect(t, host, "/", 503, "")
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	plain.expect(t, host, "/", 200, "a ")

	// Secret create, update, delete; TLS on the Ingress redirects HTTP.
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: "web-tls"}}
	ing = mustUpdate(t, kube().NetworkingV1().Ingresses(ns).Update, ing)
	plain.expect(t, host, "/x", 308, "")
	secret, leaf1 := roots.tlsSecret(t, ns, "web-tls", host)
	mustCreate(t, kube().CoreV1().Secrets(ns).Create, secret)
	expectCert(t, secure, host, leaf1)
	secret2, leaf2 := roots.tlsSecret(t, ns, "web-tls", host)
	mustUpdate(t, kube().CoreV1().Secrets(ns).Update, secret2)
	expectCert(t, secure, host, leaf2)
	if err := kube().CoreV1().Secrets(ns).Delete(ctx, "web-tls", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the default certificate after the Secret is deleted", 15*time.Second, func() error {
		r, err := newClient(caddy.httpsPort, true, nil).get(host, "/")
		if err != nil {
			return err
		}
		if bytes.Equal(r.cert, leaf2) {
			return fmt.Errorf("still the deleted Secret's certificate")
		}
		return nil
	})

	// Ingress update and delete.
	ing.Spec.TLS = nil
	ing.Spec.Rules = []networkingv1.IngressRule{rule(host, path{path: "/only", typ: "Exact", svc: "web", portName: "http"})}
	mustUpdate(t, kube().NetworkingV1().Ingresses(ns).Update, ing)
	plain.expect(t, host, "/", 404, "")
	plain.expect(t, host, "/only", 200, "a ")
	if err := kube().NetworkingV1().Ingresses(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	plain.expect(t, host, "/only", 404, "")

	// Service delete: the route stays (recreated Ingress) but answers 503.
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "web", "caddy",
		rule(host, path{path: "/", typ: "Prefix", svc: "web", portName: "http"})))
	plain.expect(t, host, "/", 200, "a ")
	if err := kube().CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	plain.expect(t, host, "/", 503, "")

	if n := len(caddy.log.lines(`"logger":"ingress"`, `"msg":"started"`)); n != 1 {
		t.Errorf("ingress app starts: got %d, want 1 (no reload)", n)
	}
}

func expectCert(t testing.TB, c *client, host string, want []byte) {
	t.Helper()
	eventually(t, "the new certificate for "+host, 15*time.Second, func() error {
		r, err := c.get(host, "/")
		if err != nil {
			return err
		}
		if !bytes.Equal(r.cert, want) {
			return fmt.Errorf("a different certificate")
		}
		return nil
	})
}

// BenchmarkChangeLatency measures the time from an API write (an Ingress
// update that moves its path) to the first correct response on the new
// path. loaded=N serves N other Ingresses besides, each its own host, all
// pointing at one Service; they exist before Caddy starts, so what is
// measured is one change on top of a loaded state, not the loading.
// Changes come one at a time, 100 ms apart (twice the source's default
// debounce), as a person's or a deploy job's do; changes closer together
// make a burst, which the source coalesces. Run it with -benchtime=100x;
// it reports the median, p99 and max.
func BenchmarkChangeLatency(b *testing.B) {
	for _, loaded := range []int{1, 10000} {
		b.Run(fmt.Sprintf("loaded=%d", loaded), func(b *testing.B) { benchmarkChangeLatency(b, loaded) })
	}
}

func benchmarkChangeLatency(b *testing.B, loaded int) {
	requireSetup(b)
	ns := newNamespace(b, "latency")
	backend := startBackend(b, "a")
	mustCreate(b, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(b, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", backend))
	ing := mustCreate(b, kube().NetworkingV1().Ingresses(ns).Create, ingress(ns, "web", "caddy",
		rule("latency.example.com", path{path: "/v0", typ: "Exact", svc: "web", portName: "http"})))
	start := time.Now()
	createLoad(b, ns, loaded)
	b.Logf("created %d Ingresses in %v", loaded, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	caddy := startCaddy(b, caddyOptions{namespace: ns, identity: "latency-1"})
	c := newClient(caddy.httpPort, false, nil)
	c.expect(b, loadedHost(loaded-1), "/", 200, "a ")
	c.expect(b, "latency.example.com", "/v0", 200, "a ")
	b.Logf("caddy served them %v after its start", time.Since(start).Round(time.Millisecond))

	var durations []time.Duration
	i := 0
	for b.Loop() {
		i++
		time.Sleep(100 * time.Millisecond)
		p := fmt.Sprintf("/v%d", i)
		ing.Spec.Rules[0].HTTP.Paths[0].Path = p
		start := time.Now()
		ing = mustUpdate(b, kube().NetworkingV1().Ingresses(ns).Update, ing)
		for {
			r, err := c.get("latency.example.com", p)
			if err == nil && r.status == 200 {
				break
			}
			if time.Since(start) > 15*time.Second {
				b.Fatalf("change %d not served within 15s", i)
			}
			time.Sleep(time.Millisecond)
		}
		durations = append(durations, time.Since(start))
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[(len(durations)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(slices.Max(durations).Microseconds())/1000, "max-ms")
}

// createLoad creates n Ingresses in ns, each for host loadedHost(i) and
// Service web, with a bounded number of creates in flight.
func createLoad(t testing.TB, ns string, n int) {
	t.Helper()
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range next {
				ing := ingress(ns, fmt.Sprintf("app-%d", i), "caddy",
					rule(loadedHost(i), path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
				if _, err := kube().NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
					select {
					case errs <- fmt.Errorf("ingress %s/%s: %w", ns, ing.Name, err):
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// loadedHost is the host of the i-th Ingress createLoad creates.
func loadedHost(i int) string { return fmt.Sprintf("app-%d.loaded.example.com", i) }
