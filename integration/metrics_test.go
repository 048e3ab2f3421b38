package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsTemplate is caddyfileTemplate with Caddy's metrics on: the admin
// endpoint on {{ADMIN}} (its /metrics) and a metrics handler site on
// {{METRICS}}, the http app's request metrics per host (the Ingress hosts
// are no host matchers of Caddy's, hence observe_catchall_hosts).
var metricsTemplate = strings.Replace(strings.Replace(caddyfileTemplate, "admin off", `admin 127.0.0.1:{{ADMIN}}
	metrics {
		per_host
		observe_catchall_hosts
	}`, 1), ":{{HTTP}} {", `:{{METRICS}} {
	bind 127.0.0.1
	metrics
}

:{{HTTP}} {`, 1)

// clusterIPService is a Service whose cluster IP is loopback, with one
// port: service-upstream proxies to it.
func clusterIPService(name string, port int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: default
spec:
  clusterIP: 127.0.0.1
  ports:
  - port: %d
`, name, port)
}

// TestProxyMetrics: the reverse_proxy handlers of the routes that the
// ingress app compiles at run time report to the metrics Caddy serves,
// and a change to one Ingress resets neither another Ingress's request
// counters nor its upstream's health gauge.
//
// The Ingresses use service-upstream: Caddy's upstreams_healthy gauge
// covers static upstreams only (the cluster IP here), not the endpoints
// chosen per request.
func TestProxyMetrics(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	b := startBackend(t, "backend-b")
	dir := t.TempDir()
	writeManifest(t, dir, "svc-a.yaml", clusterIPService("svc-a", a.port))
	writeManifest(t, dir, "svc-b.yaml", clusterIPService("svc-b", b.port))
	ingA := routingIngress{name: "a", host: "a.example.com", annotations: nginxAnnotations("service-upstream", "true"), paths: root("svc-a"), port: a.port}
	ingB := routingIngress{name: "b", host: "b.example.com", annotations: nginxAnnotations("service-upstream", "true"), paths: root("svc-b"), port: b.port}
	writeIngresses(t, dir, ingA, ingB)
	admin, metricsPort := freePort(t), freePort(t)
	c := startCaddyWithConfig(t, dir, strings.NewReplacer("{{ADMIN}}", fmt.Sprint(admin), "{{METRICS}}", fmt.Sprint(metricsPort)).Replace(metricsTemplate))
	endpoints := []string{
		fmt.Sprintf("http://127.0.0.1:%d/metrics", admin),
		fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort),
	}
	cl := newClient(nil)
	hostA := fmt.Sprintf("a.example.com:%d", c.httpPort)
	upstreamA := fmt.Sprintf("127.0.0.1:%d", a.port)
	upstreamB := fmt.Sprintf("127.0.0.1:%d", b.port)

	send := func(host, backend string, n int) {
		t.Helper()
		for range n {
			if err := cl.expect(httpURL(c, host, "/"), http.StatusOK, backend); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("a.example.com", a.name, 3)
	send("b.example.com", b.name, 2)

	// The server counts a request once its handler returned, which may be
	// after the client read the answer: poll for the count.
	waitRequests := func(host string, want float64) {
		t.Helper()
		eventually(t, "caddy_http_requests_total of "+host, func() error {
			fams, err := scrape(endpoints[0])
			if err != nil {
				return err
			}
			if got := sum(fams["caddy_http_requests_total"], "host", host); got != want {
				return fmt.Errorf("got %v, want %v", got, want)
			}
			return nil
		})
	}
	waitRequests(hostA, 3)
	waitRequests(fmt.Sprintf("b.example.com:%d", c.httpPort), 2)
	for _, url := range endpoints {
		fams, err := scrape(url)
		if err != nil {
			t.Fatal(err)
		}
		for _, up := range []string{upstreamA, upstreamB} {
			if got, ok := gauge(fams["caddy_reverse_proxy_upstreams_healthy"], "upstream", up); !ok || got != 1 {
				t.Errorf("%s: caddy_reverse_proxy_upstreams_healthy{upstream=%q}: got %v (present %t), want 1", url, up, got, ok)
			}
		}
	}

	// Change Ingress b: its routes are compiled and provisioned anew.
	ingB.annotations = nginxAnnotations("service-upstream", "true", "upstream-vhost", "changed.example.com")
	writeIngresses(t, dir, ingB)
	eventually(t, "the change to Ingress b served", func() error {
		r, err := cl.get(httpURL(c, "b.example.com", "/"))
		if err != nil {
			return err
		}
		if got := r.header.Get("X-Seen-Host"); got != "changed.example.com" {
			return fmt.Errorf("backend saw Host %q, want changed.example.com", got)
		}
		return nil
	})
	// Once the new routes serve, Ingress a's upstream is in the gauge
	// again, without waiting for reverse_proxy's own 10 s refresh.
	fams, err := scrape(endpoints[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, up := range []string{upstreamA, upstreamB} {
		if got, ok := gauge(fams["caddy_reverse_proxy_upstreams_healthy"], "upstream", up); !ok || got != 1 {
			t.Errorf("after the change: caddy_reverse_proxy_upstreams_healthy{upstream=%q}: got %v (present %t), want 1", up, got, ok)
		}
	}
	// Ingress a's requests keep counting from where they were.
	send("a.example.com", a.name, 2)
	waitRequests(hostA, 5)
}

// scrape gets a metrics endpoint and parses its text format.
func scrape(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: got %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return fams, nil
}

// sum adds up the counters of a family whose label name has value.
func sum(fam *dto.MetricFamily, name, value string) float64 {
	var n float64
	for _, m := range fam.GetMetric() {
		if label(m, name) == value {
			n += m.GetCounter().GetValue()
		}
	}
	return n
}

// gauge returns the gauge of a family whose label name has value, and
// whether there is one.
func gauge(fam *dto.MetricFamily, name, value string) (float64, bool) {
	for _, m := range fam.GetMetric() {
		if label(m, name) == value {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
