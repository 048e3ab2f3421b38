package ingress

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestOpenTelemetryAnnotations(t *testing.T) {
	want := func(want tracingConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) tracingConfig { return c.tracing }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "on", annotations: nginx("enable-opentelemetry", "true"), check: want(tracingConfig{set: true, on: true})},
		{name: "off", annotations: nginx("enable-opentelemetry", "false"), check: want(tracingConfig{set: true})},
		{name: "all three", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-trust-incoming-span", "false", "opentelemetry-operation-name", "my_op-1"),
			check: want(tracingConfig{set: true, on: true, trustSet: true, operationName: "my_op-1"})},
		{name: "empty operation name is the default", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-operation-name", ""),
			check: want(tracingConfig{set: true, on: true})},
		{name: "invalid enable keeps the default", annotations: nginx("enable-opentelemetry", "yes"), wantProblem: `invalid value "yes"`, check: want(tracingConfig{})},
		{name: "invalid trust keeps the default", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-trust-incoming-span", "maybe"),
			wantProblem: `invalid value "maybe"`, check: want(tracingConfig{set: true, on: true})},
		{name: "placeholder in the operation name ignores the Ingress", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-operation-name", "{env.HOME}"),
			wantProblem: "want letters, digits, _ and - only", wantFail: "ignored"},
		{name: "nginx variable in the operation name ignores the Ingress", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-operation-name", "$request_uri"),
			wantProblem: "want letters, digits, _ and - only", wantFail: "ignored"},
		{name: "space in the operation name ignores the Ingress", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-operation-name", "GET /"),
			wantProblem: "want letters, digits, _ and - only", wantFail: "ignored"},
		{name: "companions of an untraced Ingress", annotations: nginx("opentelemetry-operation-name", "op"), wantProblem: "no effect: the Ingress is not traced",
			check: want(tracingConfig{operationName: "op"})},
	})
}

// TestOpenTelemetryPlan: the annotation turns tracing on or off over the
// app's option; trust and span name come from the annotations, else the
// app's options, else trust and the Ingress path.
func TestOpenTelemetryPlan(t *testing.T) {
	appOn := OpenTelemetry{Enabled: true}
	for _, tt := range []struct {
		name        string
		annotations map[string]string
		app         OpenTelemetry
		path        string
		want        tracePhase
	}{
		{name: "off by default", path: "/"},
		{name: "annotation on", annotations: nginx("enable-opentelemetry", "true"), path: "/api", want: tracePhase{on: true, span: "/api"}},
		{name: "app on", app: appOn, path: "/api", want: tracePhase{on: true, span: "/api"}},
		{name: "annotation off over the app's on", app: appOn, annotations: nginx("enable-opentelemetry", "false"), path: "/"},
		{name: "default backend is /", annotations: nginx("enable-opentelemetry", "1"), want: tracePhase{on: true, span: "/"}},
		{name: "braces of a path are not placeholders", app: appOn, path: "/id/[0-9]{2,3}", want: tracePhase{on: true, span: `/id/[0-9]\{2,3\}`}},
		{name: "operation name", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-operation-name", "checkout"), path: "/", want: tracePhase{on: true, span: "checkout"}},
		{name: "app's operation name", app: OpenTelemetry{Enabled: true, OperationName: "edge"}, path: "/", want: tracePhase{on: true, span: "edge"}},
		{name: "annotation's operation name wins", app: OpenTelemetry{Enabled: true, OperationName: "edge"},
			annotations: nginx("opentelemetry-operation-name", "mine"), path: "/", want: tracePhase{on: true, span: "mine"}},
		{name: "untrusted", annotations: nginx("enable-opentelemetry", "true", "opentelemetry-trust-incoming-span", "false"), path: "/", want: tracePhase{on: true, span: "/", untrusted: true}},
		{name: "app untrusted", app: OpenTelemetry{Enabled: true, DistrustIncomingSpan: true}, path: "/", want: tracePhase{on: true, span: "/", untrusted: true}},
		{name: "annotation trusts over the app", app: OpenTelemetry{Enabled: true, DistrustIncomingSpan: true},
			annotations: nginx("opentelemetry-trust-incoming-span", "true"), path: "/", want: tracePhase{on: true, span: "/"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{OpenTelemetry: tt.app}
			c, problems := readFor(t, tt.annotations, opts)
			if len(problems) > 0 {
				t.Fatalf("got problems %v, want none", problems)
			}
			var p plan
			planFor(c, &site{path: tt.path, opts: &opts}, &p)
			if p.trace != tt.want {
				t.Errorf("got %+v, want %+v", p.trace, tt.want)
			}
		})
	}
}

// TestOpenTelemetryRendered: the tracing handler comes first, so that its
// span covers the whole request; when incoming spans are not trusted, the
// trace context headers are removed before it. A denied path is traced
// too.
func TestOpenTelemetryRendered(t *testing.T) {
	p := plan{
		trace:   tracePhase{on: true, span: "op", untrusted: true},
		logSkip: true,
		access:  accessPhase{allow: "10.0.0.0/8"},
		proxy:   proxyPhase{upstream: UpstreamKey{Namespace: "default", Service: "web"}, resolved: true},
	}
	handlers := func(p *plan) []map[string]any {
		t.Helper()
		var routes []route
		if err := json.Unmarshal(render(p), &routes); err != nil {
			t.Fatal(err)
		}
		var hs []map[string]any
		for _, r := range routes {
			hs = append(hs, r.Handle...)
		}
		return hs
	}
	hs := handlers(&p)
	var order []string
	for _, h := range hs {
		order = append(order, h["handler"].(string))
	}
	if got, want := strings.Join(order, ","), HeadersModule+","+TracingModule+",vars,"+AccessModule+",reverse_proxy"; got != want {
		t.Errorf("handlers: got %s, want %s", got, want)
	}
	var deleted []string
	for _, op := range hs[0]["ops"].([]any) {
		op := op.(map[string]any)
		if op["op"] != "req-del" {
			t.Errorf("got op %v, want req-del", op)
		}
		deleted = append(deleted, op["name"].(string))
	}
	for _, h := range []string{"traceparent", "tracestate", "b3", "x-b3-traceid", "uber-trace-id"} {
		if !strings.Contains(strings.Join(deleted, ","), h) {
			t.Errorf("%s is not removed; removed: %v", h, deleted)
		}
	}
	if want := map[string]any{"handler": TracingModule, "span": "op"}; !reflect.DeepEqual(hs[1], want) {
		t.Errorf("tracing handler: got %v, want %v", hs[1], want)
	}

	p.trace.untrusted = false
	if hs := handlers(&p); hs[0]["handler"] != TracingModule {
		t.Errorf("trusted: first handler %v, want the tracing handler", hs[0])
	}

	c := &ingressConfig{tracing: tracingConfig{set: true, on: true}, denied: "test"}
	planFor(c, &site{path: "/x", opts: &Options{}}, &p)
	if hs := handlers(&p); hs[0]["handler"] != TracingModule {
		t.Errorf("denied: first handler %v, want the tracing handler", hs[0])
	}
}

// FuzzParseOperationName: an accepted operation name holds nothing that
// Caddy or nginx would expand.
func FuzzParseOperationName(f *testing.F) {
	for _, seed := range []string{"op", "my_op-1", "{env.HOME}", "$uri", "a b", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := ParseOperationName(v)
		if err != nil {
			return
		}
		if got != v || strings.ContainsAny(got, "{}$\\ \t\n") {
			t.Errorf("%q: accepted as %q", v, got)
		}
	})
}

// TestOpenTelemetryPlanKey: plans that differ only in tracing do not
// share their rendered routes.
func TestOpenTelemetryPlanKey(t *testing.T) {
	tr := &translation{}
	plain := plan{proxy: proxyPhase{resolved: true}}
	traced := plain
	traced.trace = tracePhase{on: true, span: "/"}
	untrusted := traced
	untrusted.trace.untrusted = true
	if tr.key(&plain) == tr.key(&traced) || tr.key(&traced) == tr.key(&untrusted) {
		t.Error("plans that differ in tracing have the same key")
	}
}
