package caddyingress

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// controllerMetrics are the metrics of the app's work: translations,
// problems, the last applied snapshot and the certificates served. They
// are set by the updater (under App.mu) after each snapshot is applied.
type controllerMetrics struct {
	translations        prometheus.Counter
	translationDuration prometheus.Histogram
	lastApplied         prometheus.Gauge
	problems            *prometheus.GaugeVec
	certificates        *prometheus.GaugeVec
	certExpiry          *prometheus.GaugeVec

	// problemCounts and expiries are the series set now, to delete those
	// that go.
	problemCounts map[problemKey]int
	expiries      map[expiryKey]float64
	// certsGen is the App.certsGen of the certificates the series
	// describe, managed the number of managed hosts.
	certsGen uint64
	managed  int
	certsSet bool
}

type problemKey struct{ kind, namespace, name, field string }

type expiryKey struct{ namespace, secret, host string }

func newControllerMetrics(reg prometheus.Registerer) (*controllerMetrics, error) {
	const ns, sub = "caddy", "ingress"
	m := &controllerMetrics{
		translations: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "translations_total",
			Help: "Translations of the cluster's objects into routes and certificates.",
		}),
		translationDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "translation_duration_seconds",
			Help:    "Time to translate a snapshot and build what it serves.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10), // 100 µs to 26 s
		}),
		lastApplied: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "last_applied_timestamp_seconds",
			Help: "When the last snapshot of the cluster's objects was applied, in seconds since 1970.",
		}),
		problems: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "problems",
			Help: "Current problems per object and field (list indices left out); the messages are in the log and the admin API's /ingress/status.",
		}, []string{"kind", "namespace", "name", "field"}),
		certificates: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "certificates",
			Help: "Certificates served: from Secrets (source=\"secret\", the default certificate included when it comes from one) and host names whose certificates Caddy's automation manages (source=\"managed\").",
		}, []string{"source"}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "ssl_expire_time_seconds",
			Help: "NotAfter of the certificate served for a host from a Secret, in seconds since 1970 (host \"_\": the default certificate).",
		}, []string{"namespace", "secret_name", "host"}),
		problemCounts: make(map[problemKey]int),
		expiries:      make(map[expiryKey]float64),
	}
	for _, c := range []prometheus.Collector{m.translations, m.translationDuration, m.lastApplied, m.problems, m.certificates, m.certExpiry} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// applied records an applied snapshot: res is the translation's result
// when it was translated (nil when only endpoints changed), took the time
// it took, problems all current problems, counted again only when
// problemsChanged. certsGen is the App.certsGen of the certificates
// served.
func (m *controllerMetrics) applied(res *ingress.Result, certsGen uint64, took time.Duration, problems []ingress.Problem, problemsChanged bool, now time.Time) {
	m.lastApplied.Set(float64(now.UnixNano()) / 1e9)
	if problemsChanged {
		m.setProblems(problems)
	}
	if res == nil {
		return
	}
	m.translations.Inc()
	m.translationDuration.Observe(took.Seconds())
	m.setCertificates(res, certsGen)
}

func (m *controllerMetrics) setProblems(problems []ingress.Problem) {
	counts := make(map[problemKey]int, len(m.problemCounts))
	for _, p := range problems {
		counts[problemKey{p.Object.Kind, p.Object.Namespace, p.Object.Name, fieldClass(p.Field)}]++
	}
	for k := range m.problemCounts {
		if _, ok := counts[k]; !ok {
			m.problems.DeleteLabelValues(k.kind, k.namespace, k.name, k.field)
		}
	}
	for k, n := range counts {
		if m.problemCounts[k] != n {
			m.problems.WithLabelValues(k.kind, k.namespace, k.name, k.field).Set(float64(n))
		}
	}
	m.problemCounts = counts
}

// fieldClass returns a problem's field without list indices, so that
// "spec.rules[0].host" and "spec.rules[3].host" count together. Manifest
// positions ("line 12") are left out.
func fieldClass(field string) string {
	if strings.HasPrefix(field, "line ") {
		return ""
	}
	if !strings.Contains(field, "[") {
		return field
	}
	var b strings.Builder
	for i := 0; i < len(field); i++ {
		b.WriteByte(field[i])
		if field[i] != '[' {
			continue
		}
		j := i + 1
		for j < len(field) && '0' <= field[j] && field[j] <= '9' {
			j++
		}
		if j > i+1 && j < len(field) && field[j] == ']' {
			i = j - 1 // the digits go; the ']' is written next
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func (m *controllerMetrics) setCertificates(res *ingress.Result, certsGen uint64) {
	if m.certsSet && certsGen == m.certsGen && len(res.Managed) == m.managed {
		return // apply found the certificates the same
	}
	m.certsGen, m.managed, m.certsSet = certsGen, len(res.Managed), true
	expiries := make(map[expiryKey]float64, len(m.expiries))
	add := func(c *ingress.Certificate, hosts []string) {
		if c.KeyPair == nil || c.KeyPair.Leaf == nil {
			return
		}
		ns, name, _ := strings.Cut(c.Secret, "/")
		for _, h := range hosts {
			expiries[expiryKey{ns, name, h}] = float64(c.KeyPair.Leaf.NotAfter.Unix())
		}
	}
	secretCerts := len(res.Certificates)
	for i := range res.Certificates {
		add(&res.Certificates[i], res.Certificates[i].Names)
	}
	if res.DefaultCertificate != nil {
		secretCerts++
		add(res.DefaultCertificate, []string{"_"})
	}
	for k := range m.expiries {
		if _, ok := expiries[k]; !ok {
			m.certExpiry.DeleteLabelValues(k.namespace, k.secret, k.host)
		}
	}
	for k, v := range expiries {
		if old, ok := m.expiries[k]; !ok || old != v {
			m.certExpiry.WithLabelValues(k.namespace, k.secret, k.host).Set(v)
		}
	}
	m.expiries = expiries
	m.certificates.WithLabelValues("secret").Set(float64(secretCerts))
	m.certificates.WithLabelValues("managed").Set(float64(len(res.Managed)))
}
