package ingress

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func configMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func TestCustomHeaders(t *testing.T) {
	cms := []*corev1.ConfigMap{
		configMap("default", "security", map[string]string{"x-frame-options": "DENY", "X-Content-Type-Options": "nosniff"}),
		configMap("default", "sneaky", map[string]string{"Set-Cookie": "admin=1"}),
		configMap("default", "variable", map[string]string{"X-Host": "$host"}),
		configMap("other", "security", map[string]string{"X-Frame-Options": "DENY"}),
	}
	opts := Options{Headers: Headers{AllowedResponse: []string{"X-Frame-Options", "x-content-type-options"}}}
	for _, tt := range []struct {
		name, value, wantOps, wantProblem string
	}{
		{name: "allowed headers", value: "security", wantOps: "set|X-Content-Type-Options|nosniff;set|X-Frame-Options|DENY"},
		{name: "namespace/name", value: "default/security", wantOps: "set|X-Content-Type-Options|nosniff;set|X-Frame-Options|DENY"},
		{name: "header not allowed fails closed", value: "sneaky", wantProblem: "Set-Cookie is not in the app's allowed_response_headers"},
		{name: "variable fails closed", value: "variable", wantProblem: "want printable text without $"},
		{name: "missing fails closed", value: "gone", wantProblem: "configmap default/gone not found"},
		{name: "other namespace fails closed", value: "other/security", wantProblem: "another namespace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := &translation{opts: opts, configMaps: make(map[string]*corev1.ConfigMap), prev: new(Translator), prefixes: annotationPrefixes(&opts),
				allowedResponse: canonicalNames(opts.Headers.AllowedResponse)}
			for _, cm := range cms {
				tr.configMaps[cm.Namespace+"/"+cm.Name] = cm
			}
			ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "test", Namespace: "default", Annotations: nginx("custom-headers", tt.value)}}
			c := readAnnotations(tr, ing, tr.reporter(ing))
			got := strings.NewReplacer("\x00", "|", "\n", ";").Replace(string(c.customOps))
			if got != tt.wantOps {
				t.Errorf("ops: got %q, want %q", got, tt.wantOps)
			}
			switch {
			case tt.wantProblem == "" && len(tr.problems) > 0:
				t.Errorf("problems: %v", tr.problems)
			case tt.wantProblem != "" && (len(tr.problems) != 1 || !strings.Contains(tr.problems[0].Reason, tt.wantProblem) || c.denied == ""):
				t.Errorf("got problems %v, denied %q; want one containing %q, denied", tr.problems, c.denied, tt.wantProblem)
			}
		})
	}
}

func TestGlobalHeaders(t *testing.T) {
	snap := &Snapshot{ConfigMaps: []*corev1.ConfigMap{
		configMap("caddy-ingress", "add", map[string]string{"X-Served-By": "caddy"}),
		configMap("caddy-ingress", "proxy", map[string]string{"X-Cluster": "eu-1"}),
	}}
	class := "caddy"
	snap.Ingresses = []*networkingv1.Ingress{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}
	res := Translate(snap, Options{IngressClass: "caddy", Headers: Headers{Add: "caddy-ingress/add", ProxySet: "caddy-ingress/proxy"}})
	if res.Default == nil {
		t.Fatalf("no default: problems %v", res.Problems)
	}
	routes := string(res.Default.Routes)
	for _, want := range []string{`{"name":"X-Served-By","op":"set","value":"caddy"}`, `{"name":"X-Cluster","op":"req-set","value":"eu-1"}`} {
		if !strings.Contains(routes, want) {
			t.Errorf("catch-all routes %s: want %s", routes, want)
		}
	}
	res = Translate(&Snapshot{}, Options{Headers: Headers{Add: "caddy-ingress/add"}})
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Reason, "configmap caddy-ingress/add not found") {
		t.Errorf("missing ConfigMap: got problems %v", res.Problems)
	}
}
