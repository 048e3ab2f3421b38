package integration

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback: every span of
// every export request it decodes goes to spans.
type otlpReceiver struct {
	srv   *httptest.Server
	spans chan *tracepb.Span
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{spans: make(chan *tracepb.Span, 1000)}
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if r.URL.Path != "/v1/traces" || err != nil {
			t.Errorf("OTLP receiver: %s %s: %v", r.Method, r.URL.Path, err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					select {
					case rcv.spans <- s:
					default:
						t.Errorf("OTLP receiver: span %q dropped, the test reads too few", s.Name)
					}
				}
			}
		}
		resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
	}))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

// env is the environment that has Caddy's tracing handler export to the
// receiver quickly.
func (rcv *otlpReceiver) env() []string {
	return []string{
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=" + rcv.srv.URL + "/v1/traces",
		"OTEL_BSP_SCHEDULE_DELAY=20",
		"OTEL_TRACES_SAMPLER=parentbased_always_on",
		"OTEL_PROPAGATORS=tracecontext,baggage",
		"OTEL_SERVICE_NAME=caddy-ingress-test",
	}
}

// await returns the first span named name, and every span received
// before it; it fails the test after a bounded wait.
func (rcv *otlpReceiver) await(t *testing.T, name string) (*tracepb.Span, []*tracepb.Span) {
	t.Helper()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	var before []*tracepb.Span
	for {
		select {
		case s := <-rcv.spans:
			if s.Name == name {
				return s, before
			}
			before = append(before, s)
		case <-timer.C:
			t.Fatalf("no span %q exported within 15 s; got %d others", name, len(before))
		}
	}
}

// TestOpenTelemetry: Caddy's tracing handler exports a span, named by
// opentelemetry-operation-name (else the Ingress path), for each request
// of a traced Ingress and none for others; the client's traceparent is
// the span's parent unless opentelemetry-trust-incoming-span is "false";
// the backend gets the span's traceparent.
func TestOpenTelemetry(t *testing.T) {
	t.Parallel()
	rcv := startOTLPReceiver(t)
	be := startBackend(t, "backend")
	dir := t.TempDir()
	writeIngresses(t, dir,
		routingIngress{name: "traced", host: "traced.example.com", paths: root("svc"),
			annotations: nginxAnnotations("enable-opentelemetry", "true", "opentelemetry-operation-name", "traced-op")},
		routingIngress{name: "untrusted", host: "untrusted.example.com", paths: root("svc"),
			annotations: nginxAnnotations("enable-opentelemetry", "true", "opentelemetry-trust-incoming-span", "false", "opentelemetry-operation-name", "untrusted-op")},
		routingIngress{name: "path-named", host: "path-named.example.com", paths: []ingressPath{{path: "/shop", pathType: "Prefix", service: "svc"}},
			annotations: nginxAnnotations("enable-opentelemetry", "true")},
		routingIngress{name: "plain", host: "plain.example.com", paths: root("svc")},
	)
	writeManifest(t, dir, "svc.yaml", serviceWithEndpoints("svc", be))
	c := startCaddyWithEnv(t, dir, caddyfileTemplate, rcv.env()...)
	cl := newClient(nil)

	// get sends a request with the client's trace context of traceID and
	// returns the traceparent the backend got; tracestate the tracestate.
	var tracestate string
	get := func(t *testing.T, host, path, traceID string) string {
		t.Helper()
		req, err := http.NewRequest("GET", httpURL(c, host, path), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Traceparent", "00-"+traceID+"-"+clientSpanID+"-01")
		req.Header.Set("Tracestate", "client=1")
		resp, err := cl.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "backend" {
			t.Fatalf("%s: got %d from %q, want 200 from the backend", host, resp.StatusCode, resp.Header.Get("X-Backend"))
		}
		tracestate = resp.Header.Get("X-Seen-Header-Tracestate")
		return resp.Header.Get("X-Seen-Header-Traceparent")
	}

	// The untraced request goes first: a span of it would be exported
	// before the traced one's.
	plainTrace := traceID(1)
	if got := get(t, "plain.example.com", "/", plainTrace); got != "00-"+plainTrace+"-"+clientSpanID+"-01" {
		t.Errorf("plain: the backend got traceparent %q, want the client's", got)
	}
	tracedTrace := traceID(2)
	seen := get(t, "traced.example.com", "/", tracedTrace)
	span, before := rcv.await(t, "traced-op")
	for _, s := range before {
		if hex.EncodeToString(s.TraceId) == plainTrace {
			t.Errorf("a span %q was exported for the Ingress without enable-opentelemetry", s.Name)
		}
	}
	if got := hex.EncodeToString(span.TraceId); got != tracedTrace {
		t.Errorf("traced: span of trace %s, want the client's %s", got, tracedTrace)
	}
	if got := hex.EncodeToString(span.ParentSpanId); got != clientSpanID {
		t.Errorf("traced: span's parent %q, want the client's span %s", got, clientSpanID)
	}
	if want := "00-" + tracedTrace + "-" + hex.EncodeToString(span.SpanId) + "-01"; seen != want {
		t.Errorf("traced: the backend got traceparent %q, want the span's %q", seen, want)
	}
	if tracestate != "client=1" {
		t.Errorf("traced: the backend got tracestate %q, want the client's", tracestate)
	}
	if span.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("traced: span kind %v, want server", span.Kind)
	}

	untrustedTrace := traceID(3)
	seen = get(t, "untrusted.example.com", "/", untrustedTrace)
	span, _ = rcv.await(t, "untrusted-op")
	if got := hex.EncodeToString(span.TraceId); got == untrustedTrace || len(span.ParentSpanId) != 0 {
		t.Errorf("untrusted: span of trace %s with parent %x, want a new trace without parent", got, span.ParentSpanId)
	}
	if want := "00-" + hex.EncodeToString(span.TraceId) + "-" + hex.EncodeToString(span.SpanId) + "-01"; seen != want {
		t.Errorf("untrusted: the backend got traceparent %q, want the span's %q", seen, want)
	}
	if tracestate != "" {
		t.Errorf("untrusted: the backend got the client's tracestate %q, want none", tracestate)
	}

	get(t, "path-named.example.com", "/shop/cart", traceID(4))
	if span, _ = rcv.await(t, "/shop"); hex.EncodeToString(span.TraceId) != traceID(4) {
		t.Errorf("path-named: span of trace %x, want %s", span.TraceId, traceID(4))
	}
}

// clientSpanID is the parent span of the client's trace context.
const clientSpanID = "00f067aa0ba902b7"

// traceID returns a distinct trace ID for n.
func traceID(n int) string {
	return fmt.Sprintf("4bf92f3577b34da6a3ce929d%08x", n)
}
