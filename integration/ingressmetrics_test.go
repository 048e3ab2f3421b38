package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// TestIngressMetrics: requests to two Ingresses show up on the admin
// endpoint's /metrics (and the metrics handler's) under caddy_ingress_*
// with their namespace, Ingress, host, path as written, Service and
// status class; the controller metrics are there; and once an Ingress is
// removed its series are gone.
func TestIngressMetrics(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	b := startBackend(t, "backend-b")
	dir := t.TempDir()
	writeManifest(t, dir, "svc-a.yaml", serviceWithEndpoints("svc-a", a))
	writeManifest(t, dir, "svc-b.yaml", serviceWithEndpoints("svc-b", b))
	ingA := routingIngress{name: "a", host: "a.example.com", paths: []ingressPath{{path: "/api", pathType: "Prefix", service: "svc-a"}}}
	ingB := routingIngress{name: "b", host: "b.example.com", paths: root("svc-b")}
	writeIngresses(t, dir, ingA, ingB)
	admin, metricsPort := freePort(t), freePort(t)
	c := startCaddyWithConfig(t, dir, strings.NewReplacer("{{ADMIN}}", fmt.Sprint(admin), "{{METRICS}}", fmt.Sprint(metricsPort)).Replace(metricsTemplate))
	adminMetrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", admin)
	cl := newClient(nil)
	for i := range 3 {
		if err := cl.expect(httpURL(c, "a.example.com", fmt.Sprintf("/api/items/%d", i)), http.StatusOK, a.name); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := cl.expect(httpURL(c, "b.example.com", "/missing?status=404"), http.StatusNotFound, b.name); err != nil {
			t.Fatal(err)
		}
	}

	seriesA := map[string]string{"namespace": "default", "ingress": "a", "host": "a.example.com", "path": "/api", "service": "svc-a", "status": "2xx"}
	seriesB := map[string]string{"namespace": "default", "ingress": "b", "host": "b.example.com", "path": "/", "service": "svc-b", "status": "4xx"}
	// A request is counted once its handler returned, which may be after
	// the client read the answer: poll.
	eventually(t, "the requests of both Ingresses counted", func() error {
		fams, err := scrape(adminMetrics)
		if err != nil {
			return err
		}
		for _, want := range []struct {
			labels map[string]string
			n      float64
		}{{seriesA, 3}, {seriesB, 2}} {
			m := find(fams["caddy_ingress_requests_total"], want.labels)
			if m == nil {
				return fmt.Errorf("caddy_ingress_requests_total%v: no series", want.labels)
			}
			if got := m.GetCounter().GetValue(); got != want.n {
				return fmt.Errorf("caddy_ingress_requests_total%v: got %v, want %v", want.labels, got, want.n)
			}
		}
		return nil
	})
	for _, url := range []string{adminMetrics, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)} {
		fams, err := scrape(url)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"caddy_ingress_request_duration_seconds", "caddy_ingress_upstream_header_duration_seconds", "caddy_ingress_request_size_bytes", "caddy_ingress_response_size_bytes"} {
			for _, labels := range []map[string]string{seriesA, seriesB} {
				m := find(fams[name], labels)
				want := uint64(3)
				if labels["ingress"] == "b" {
					want = 2
				}
				if got := m.GetHistogram().GetSampleCount(); got != want {
					t.Errorf("%s: %s%v: got %d samples, want %d", url, name, labels, got, want)
				}
			}
		}
		if got := fams["caddy_ingress_translations_total"].GetMetric(); len(got) != 1 || got[0].GetCounter().GetValue() < 1 {
			t.Errorf("%s: caddy_ingress_translations_total: got %v, want at least 1", url, got)
		}
		if got := fams["caddy_ingress_last_applied_timestamp_seconds"].GetMetric(); len(got) != 1 || got[0].GetGauge().GetValue() <= 0 {
			t.Errorf("%s: caddy_ingress_last_applied_timestamp_seconds: got %v, want a time", url, got)
		}
	}

	// Ingress b goes, and its series with it; a's stay.
	removeManifest(t, dir, "ingress-b.yaml")
	eventually(t, "Ingress b's series gone", func() error {
		fams, err := scrape(adminMetrics)
		if err != nil {
			return err
		}
		if m := find(fams["caddy_ingress_requests_total"], seriesB); m != nil {
			return fmt.Errorf("caddy_ingress_requests_total%v: still there", seriesB)
		}
		if m := find(fams["caddy_ingress_requests_total"], seriesA); m == nil || m.GetCounter().GetValue() != 3 {
			return fmt.Errorf("caddy_ingress_requests_total%v: got %v, want 3", seriesA, m)
		}
		return nil
	})
}

// find returns the metric of fam with all of labels, or nil.
func find(fam *dto.MetricFamily, labels map[string]string) *dto.Metric {
	for _, m := range fam.GetMetric() {
		ok := true
		for name, value := range labels {
			if label(m, name) != value {
				ok = false
				break
			}
		}
		if ok {
			return m
		}
	}
	return nil
}
