package caddyingress

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// Request metrics per Ingress path. Each path (and default backend) of
// the route table gets its handler wrapped when it is built, with its
// label values resolved then: a request finds its series through two
// pointers and an atomic load, builds no label strings and allocates
// nothing. The series of a status class are made on the first request
// with that class, so an idle path exports nothing. A path's series are
// shared by every table built while its labels stay in the result, and
// deleted once no handler of the current table has those labels.

// routeLabelNames are the labels of the request metrics, in order; the
// status class comes last.
var routeLabelNames = []string{"namespace", "ingress", "host", "path", "service", "status"}

// statusClasses are the values of the status label, by status/100; 0
// stands for a status outside 100-599.
var statusClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// requestMetrics are the metric vectors of the request metrics and the
// series of the paths in service. series is used by the updater only
// (under App.mu).
type requestMetrics struct {
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	requestSize     *prometheus.HistogramVec
	responseSize    *prometheus.HistogramVec
	upstreamLatency *prometheus.HistogramVec

	series map[routeLabels]*routeSeries
	// unused are series whose last handler went in the current build;
	// those still unused when it ends are deleted (see sweep).
	unused []*routeSeries
}

// routeLabels are the label values of a path, without the status class.
type routeLabels [5]string

// newRequestMetrics makes the vectors and registers them in reg.
func newRequestMetrics(reg prometheus.Registerer) (*requestMetrics, error) {
	const ns, sub = "caddy", "ingress"
	timeBuckets := prometheus.DefBuckets
	sizeBuckets := prometheus.ExponentialBuckets(64, 4, 10) // 64 B to 16 MiB
	m := &requestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Requests served by the paths of Ingresses, by status class.",
		}, routeLabelNames),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time from Caddy reading the request to the end of the response.",
			Buckets: timeBuckets,
		}, routeLabelNames),
		requestSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_size_bytes",
			Help:    "Approximate request size: request line, headers and declared body length.",
			Buckets: sizeBuckets,
		}, routeLabelNames),
		responseSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "response_size_bytes",
			Help:    "Response body bytes written to the client.",
			Buckets: sizeBuckets,
		}, routeLabelNames),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "upstream_header_duration_seconds",
			Help:    "Time until the backend's response header arrived (the last try's), for requests proxied to a backend.",
			Buckets: timeBuckets,
		}, routeLabelNames),
		series: make(map[routeLabels]*routeSeries),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.requestSize, m.responseSize, m.upstreamLatency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// labelsOf returns the label values of act.
func labelsOf(act *ingress.Action) routeLabels {
	ns, name, _ := strings.Cut(act.Ingress, "/")
	if act.Ingress == "" {
		ns = act.Backend.Namespace // the configured default backend
	}
	l := routeLabels{ns, name, act.Host, act.IngressPath, act.Backend.Name}
	for i, v := range l {
		// Manifests are read as they are; a label must be UTF-8.
		l[i] = strings.ToValidUTF8(v, "\uFFFD")
	}
	return l
}

// observe returns next wrapped to count the requests of act, holding a
// reference to the series of its labels until forget.
func (m *requestMetrics) observe(next caddyhttp.Handler, act *ingress.Action) caddyhttp.Handler {
	l := labelsOf(act)
	s := m.series[l]
	if s == nil {
		s = &routeSeries{m: m, labels: l}
		m.series[l] = s
	}
	s.refs++
	return &observed{next: next, series: s}
}

// forget drops the references of the handlers made for ht, a hostTable
// that left the table, to their series.
func (m *requestMetrics) forget(ht *hostTable) {
	for _, s := range ht.series {
		if s.refs--; s.refs == 0 {
			m.unused = append(m.unused, s)
		}
	}
}

// sweep deletes the series that no handler uses after a build. Requests
// still served by a draining table count into series no longer exported.
func (m *requestMetrics) sweep() {
	for _, s := range m.unused {
		if s.refs == 0 && m.series[s.labels] == s {
			delete(m.series, s.labels)
			s.delete()
		}
	}
	m.unused = m.unused[:0]
}

// routeSeries are the series of one path's labels, one set per status
// class, made when first used.
type routeSeries struct {
	m      *requestMetrics
	labels routeLabels
	// refs counts the handlers of the current table with these labels
	// (updater only).
	refs    int
	classes [len(statusClasses)]atomic.Pointer[classSeries]
	// mu guards making and deleting the series of a class; dead is set
	// once they are deleted, after which none are made.
	mu   sync.Mutex
	dead bool
}

// classSeries are the series of one path and status class.
type classSeries struct {
	requests                                          prometheus.Counter
	duration, requestSize, responseSize, upstreamTime prometheus.Observer
}

// detached counts what requests of deleted series do: it is registered
// nowhere.
var detached = &classSeries{
	requests:     prometheus.NewCounter(prometheus.CounterOpts{Name: "detached"}),
	duration:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "detached"}),
	requestSize:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "detached"}),
	responseSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "detached"}),
	upstreamTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "detached"}),
}

func (s *routeSeries) class(i int) *classSeries {
	if c := s.classes[i].Load(); c != nil {
		return c
	}
	return s.makeClass(i)
}

func (s *routeSeries) makeClass(i int) *classSeries {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.classes[i].Load(); c != nil {
		return c
	}
	if s.dead {
		return detached
	}
	values := append(s.labels[:], statusClasses[i])
	m := s.m
	c := &classSeries{
		requests:     m.requests.WithLabelValues(values...),
		duration:     m.duration.WithLabelValues(values...),
		requestSize:  m.requestSize.WithLabelValues(values...),
		responseSize: m.responseSize.WithLabelValues(values...),
		upstreamTime: m.upstreamLatency.WithLabelValues(values...),
	}
	s.classes[i].Store(c)
	return c
}

// delete removes the series from the vectors.
func (s *routeSeries) delete() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = true
	for i := range s.classes {
		if s.classes[i].Swap(nil) == nil {
			continue
		}
		values := append(s.labels[:], statusClasses[i])
		s.m.requests.DeleteLabelValues(values...)
		s.m.duration.DeleteLabelValues(values...)
		s.m.requestSize.DeleteLabelValues(values...)
		s.m.responseSize.DeleteLabelValues(values...)
		s.m.upstreamLatency.DeleteLabelValues(values...)
	}
}

// observed is the handler of one path, counting its requests.
type observed struct {
	next   caddyhttp.Handler
	series *routeSeries
}

// errAborted stands for a handler that panicked (reverse_proxy aborts a
// response whose backend failed mid-body so).
var errAborted = caddyhttp.Error(http.StatusBadGateway, errors.New("response aborted"))

func (o *observed) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	// The server noted when it read the request (one clock read saved,
	// and the time spent before the path's handler counted, as nginx's
	// request_time counts it).
	start, ok := caddyhttp.GetVar(r.Context(), startTimeVar).(time.Time)
	if !ok {
		start = time.Now()
	}
	ow := writerPool.Get().(*observedWriter)
	ow.ResponseWriter = w
	done := false
	defer func() {
		if !done { // panicking: count it, and let the writer go
			o.record(ow, r, errAborted, start)
		}
	}()
	err := o.next.ServeHTTP(ow, r)
	done = true
	o.record(ow, r, err, start)
	if !ow.unwrapped {
		*ow = observedWriter{}
		writerPool.Put(ow)
	}
	return err
}

// startTimeVar is the request variable in which Caddy's server notes
// when it read the request (caddyhttp.PrepareRequest).
const startTimeVar = "start_time"

// upstreamLatencyVar is the replacer variable in which reverse_proxy
// leaves the time until the backend's response header.
const upstreamLatencyVar = "http.reverse_proxy.upstream.latency"

func (o *observed) record(ow *observedWriter, r *http.Request, err error, start time.Time) {
	status := ow.status
	if status == 0 {
		status = http.StatusOK // what the server sends for an empty answer
		if err != nil {
			status = http.StatusInternalServerError
			var he caddyhttp.HandlerError
			if errors.As(err, &he) && he.StatusCode != 0 {
				status = he.StatusCode
			}
		}
	}
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	c := o.series.class(class)
	c.duration.Observe(time.Since(start).Seconds())
	c.requestSize.Observe(float64(requestSize(r)))
	c.responseSize.Observe(float64(ow.written))
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if v, ok := repl.Get(upstreamLatencyVar); ok {
			if d, ok := v.(time.Duration); ok {
				c.upstreamTime.Observe(d.Seconds())
			}
		}
	}
	// The count comes last: a scrape that sees the request counted sees
	// its other samples too.
	c.requests.Inc()
}

// requestSize approximates the size of r as it came: request line,
// headers and the declared body length (as Caddy's own metrics, without
// building the URL again).
func requestSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + len(r.Host)
	for name, values := range r.Header {
		n += len(name)
		for _, v := range values {
			n += len(v)
		}
	}
	if r.ContentLength > 0 {
		n += int(r.ContentLength)
	}
	return n
}

// observedWriter notes the status and body size of a response. It is
// pooled; one whose underlying writer was taken (Unwrap, as
// http.ResponseController does to hijack) is left to the garbage
// collector, as its user may keep it.
type observedWriter struct {
	http.ResponseWriter
	status    int
	written   int64
	unwrapped bool
}

var writerPool = sync.Pool{New: func() any { return new(observedWriter) }}

func (w *observedWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *observedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *observedWriter) Unwrap() http.ResponseWriter {
	w.unwrapped = true
	return w.ResponseWriter
}

// Flush implements http.Flusher for handlers that assert it. The
// writer stays pooled: flushing keeps no reference to it.
func (w *observedWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// ReadFrom implements io.ReaderFrom with the server's writer's, so that
// file responses are still sent with sendfile.
func (w *observedWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.written += n
	return n, err
}
