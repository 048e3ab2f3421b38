package ingress

import (
	"fmt"
	"regexp"
	"strings"
)

// TracingModule (http.handlers.<name>) is Caddy's own tracing handler: it
// starts a span for each request with the tracer provider that all its
// instances share, exported as the OTEL_* environment variables say, and
// sends the trace context on to the backend.
const TracingModule = "tracing"

// traceContextHeaders are the request headers from which the propagators
// that Caddy's tracing handler can be configured with (OTEL_PROPAGATORS:
// tracecontext, b3, b3multi, jaeger, xray, ottrace) take a parent span.
// They are removed before the span starts when incoming spans are not
// trusted. Baggage headers carry no parent and are left alone.
var traceContextHeaders = []string{
	"traceparent", "tracestate",
	"b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags",
	"uber-trace-id",
	"x-amzn-trace-id",
	"ot-tracer-traceid", "ot-tracer-spanid", "ot-tracer-sampled",
}

// operationNamePattern is what ingress-nginx accepts as
// opentelemetry-operation-name. It admits no placeholder brace.
var operationNamePattern = regexp.MustCompile(`^[A-Za-z0-9_\-]*$`)

// ParseOperationName checks an OpenTelemetry operation name (the span
// name): letters, digits, "_" and "-", as ingress-nginx allows.
func ParseOperationName(v string) (string, error) {
	if !operationNamePattern.MatchString(v) {
		return "", fmt.Errorf("invalid value %s: want letters, digits, _ and - only", quoted(v))
	}
	return v, nil
}

// OpenTelemetry are the app-wide tracing settings, as ingress-nginx's
// ConfigMap keys of the same names set them.
type OpenTelemetry struct {
	// Enabled traces the requests of every Ingress that does not turn it
	// off with enable-opentelemetry.
	Enabled bool
	// DistrustIncomingSpan starts a new trace for each request rather
	// than continue the one the client's trace context names, on
	// Ingresses without opentelemetry-trust-incoming-span.
	DistrustIncomingSpan bool
	// OperationName is the span name of Ingresses without
	// opentelemetry-operation-name; "" is the Ingress path. It must be
	// valid for ParseOperationName.
	OperationName string
}

// tracingConfig is what the opentelemetry annotations of an Ingress say.
type tracingConfig struct {
	// set says enable-opentelemetry is given, on is its value.
	set, on bool
	// trustSet says opentelemetry-trust-incoming-span is given, trust
	// is its value.
	trustSet, trust bool
	// operationName is the span name, checked; "" is the default.
	operationName string
}

// tracePhase, when on, makes a span of each request of the path.
type tracePhase struct {
	on bool
	// span is the span name, with no placeholder in it.
	span string
	// untrusted removes the client's trace context headers first, so
	// that the span has no parent from the client.
	untrusted bool
}

// tracingOn says whether the requests of an Ingress with c are traced.
func tracingOn(c *ingressConfig, opts *Options) bool {
	if c.tracing.set {
		return c.tracing.on
	}
	return opts.OpenTelemetry.Enabled
}

// literalSpanName escapes the braces of a span name that is not an
// operation name (an Ingress path), so that Caddy's tracing handler,
// which expands placeholders in span names, names the span with it
// unchanged.
var literalSpanName = strings.NewReplacer(`{`, `\{`, `}`, `\}`)

var openTelemetryFamily = family{
	annotations: []annotationSpec{
		{name: "enable-opentelemetry", fails: keepDefault,
			doc:     "\"true\" makes an OpenTelemetry span of each request of the Ingress, with Caddy's tracing handler, and sends the trace context (traceparent) to the backend; \"false\" turns it off. Default: the app's enable_opentelemetry option (off). The exporter is configured with the OTEL_* environment variables of the Caddy process (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, …).",
			differs: "The collector, service name and sampler are the OTEL_* environment variables of the Caddy process rather than ConfigMap keys (otlp-collector-host, otel-service-name, otel-sampler, …); the span covers the whole request, access checks included."},
		{name: "opentelemetry-trust-incoming-span", fails: keepDefault,
			doc:     "\"false\" starts a new trace for each request: the client's trace context headers (traceparent, tracestate and those of the b3, jaeger, xray and ottrace propagators) are removed before the span starts, so its trace is a new one and the backend gets only the trace context of that span. Default: the app's opentelemetry_trust_incoming_span option (true).",
			differs: "ingress-nginx reads it only with enable-opentelemetry set on the Ingress; here it applies whenever the Ingress is traced, as ingress-nginx's documentation describes. Untrusted trace headers are removed rather than overwritten, and baggage is passed on."},
		{name: "opentelemetry-operation-name", fails: ignoreIngress,
			doc:     "The name of the request spans: letters, digits, _ and - only. Default: the app's opentelemetry_operation_name, else the Ingress path (as nginx names a span after its location).",
			differs: "Read whenever the Ingress is traced, not only with enable-opentelemetry set on it."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if on, ok := r.parseBool("enable-opentelemetry"); ok {
			c.tracing.set, c.tracing.on = true, on
		}
		if trust, ok := r.parseBool("opentelemetry-trust-incoming-span"); ok {
			c.tracing.trustSet, c.tracing.trust = true, trust
		}
		if v, ok := r.value("opentelemetry-operation-name"); ok {
			name, err := ParseOperationName(v)
			if err != nil {
				r.invalid("opentelemetry-operation-name", err)
				return
			}
			c.tracing.operationName = name
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) {
		if tracingOn(c, &t.opts) {
			return
		}
		for _, name := range []string{"opentelemetry-trust-incoming-span", "opentelemetry-operation-name"} {
			if r.has(name) {
				r.warn(name, "no effect: the Ingress is not traced (enable-opentelemetry, or the app's enable_opentelemetry)")
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		if !tracingOn(c, s.opts) {
			return
		}
		trust := !s.opts.OpenTelemetry.DistrustIncomingSpan
		if c.tracing.trustSet {
			trust = c.tracing.trust
		}
		span := c.tracing.operationName
		if span == "" {
			span = s.opts.OpenTelemetry.OperationName
		}
		if span == "" {
			span = literalSpanName.Replace(s.path)
		}
		if span == "" {
			span = "/" // a default backend, nginx's location /
		}
		p.trace = tracePhase{on: true, span: span, untrusted: !trust}
	},
}

// tracingHandlers renders a tracePhase: Caddy's tracing handler, after
// one that removes the client's trace context when it is not trusted.
func tracingHandlers(t *tracePhase) []map[string]any {
	var hs []map[string]any
	if t.untrusted {
		var ops headerOps
		for _, name := range traceContextHeaders {
			ops = ops.with("req-del", name, "")
		}
		hs = append(hs, handler{"handler": HeadersModule, "ops": renderOps(ops)})
	}
	return append(hs, handler{"handler": TracingModule, "span": t.span})
}
