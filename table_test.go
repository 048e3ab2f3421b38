package caddyingress

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// marker is a handler that only names the Service its routes proxy to.
type marker string

func (m marker) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	_, err := io.WriteString(w, string(m))
	return err
}

func markerFor(t *testing.T) func(*ingress.Action) caddyhttp.Handler {
	return func(act *ingress.Action) caddyhttp.Handler {
		var routes []struct {
			Handle []struct {
				Upstreams struct {
					Service string `json:"service"`
				} `json:"dynamic_upstreams"`
			} `json:"handle"`
		}
		if err := json.Unmarshal(act.Routes, &routes); err != nil {
			t.Fatal(err)
		}
		last := routes[len(routes)-1].Handle
		return marker(last[len(last)-1].Upstreams.Service)
	}
}

type testPath struct {
	path, typ, service string
}

func testIngress(name, host string, paths ...testPath) *networkingv1.Ingress {
	class := "caddy"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       networkingv1.IngressSpec{IngressClassName: &class},
	}
	rule := networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
	for _, p := range paths {
		pt := networkingv1.PathType(p.typ)
		rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{
			Path: p.path, PathType: &pt,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: p.service, Port: networkingv1.ServiceBackendPort{Number: 80},
			}},
		})
	}
	ing.Spec.Rules = append(ing.Spec.Rules, rule)
	return ing
}

func testService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

func testTable(t *testing.T, ings ...*networkingv1.Ingress) *table {
	t.Helper()
	snap := &ingress.Snapshot{Ingresses: ings}
	seen := map[string]bool{}
	for _, ing := range ings {
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				if name := p.Backend.Service.Name; !seen[name] {
					seen[name] = true
					snap.Services = append(snap.Services, testService(name))
				}
			}
		}
	}
	res := ingress.Translate(snap, ingress.Options{IngressClass: "caddy", Now: time.Now()})
	if len(res.Problems) > 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	return newTable(res, markerFor(t))
}

// TestPathMatching checks the examples table of the Kubernetes Ingress
// documentation, plus case sensitivity and path normalization.
func TestPathMatching(t *testing.T) {
	tests := []struct {
		name  string
		paths []testPath
		req   string
		want  string // service, or "" for no match
	}{
		{"prefix root matches all", []testPath{{"/", "Prefix", "a"}}, "/anything/at/all", "a"},
		{"exact same", []testPath{{"/foo", "Exact", "a"}}, "/foo", "a"},
		{"exact other", []testPath{{"/foo", "Exact", "a"}}, "/bar", ""},
		{"exact no trailing slash match", []testPath{{"/foo", "Exact", "a"}}, "/foo/", ""},
		{"exact with slash vs without", []testPath{{"/foo/", "Exact", "a"}}, "/foo", ""},
		{"exact is case-sensitive", []testPath{{"/foo", "Exact", "a"}}, "/FOO", ""},
		{"prefix /foo matches /foo", []testPath{{"/foo", "Prefix", "a"}}, "/foo", "a"},
		{"prefix /foo matches /foo/", []testPath{{"/foo", "Prefix", "a"}}, "/foo/", "a"},
		{"prefix /foo/ matches /foo", []testPath{{"/foo/", "Prefix", "a"}}, "/foo", "a"},
		{"prefix /foo/ matches /foo/", []testPath{{"/foo/", "Prefix", "a"}}, "/foo/", "a"},
		{"prefix is case-sensitive", []testPath{{"/foo", "Prefix", "a"}}, "/FOO", ""},
		{"prefix is element-wise", []testPath{{"/aaa/bb", "Prefix", "a"}}, "/aaa/bbb", ""},
		{"prefix whole element", []testPath{{"/aaa/bbb", "Prefix", "a"}}, "/aaa/bbb", "a"},
		{"prefix ignores rule trailing slash", []testPath{{"/aaa/bbb/", "Prefix", "a"}}, "/aaa/bbb", "a"},
		{"prefix matches request trailing slash", []testPath{{"/aaa/bbb", "Prefix", "a"}}, "/aaa/bbb/", "a"},
		{"prefix matches subpath", []testPath{{"/aaa/bbb", "Prefix", "a"}}, "/aaa/bbb/ccc", "a"},
		{"prefix not a string prefix", []testPath{{"/aaa/bbb", "Prefix", "a"}}, "/aaa/bbbxyz", ""},
		{"longest prefix /aaa", []testPath{{"/", "Prefix", "root"}, {"/aaa", "Prefix", "aaa"}}, "/aaa/ccc", "aaa"},
		{"longest prefix /aaa/bbb", []testPath{{"/", "Prefix", "root"}, {"/aaa", "Prefix", "aaa"}, {"/aaa/bbb", "Prefix", "bbb"}}, "/aaa/bbb", "bbb"},
		{"falls back to /", []testPath{{"/", "Prefix", "root"}, {"/aaa", "Prefix", "aaa"}, {"/aaa/bbb", "Prefix", "bbb"}}, "/ccc", "root"},
		{"no prefix, no match", []testPath{{"/aaa", "Prefix", "a"}}, "/ccc", ""},
		{"exact beats prefix on a tie", []testPath{{"/foo", "Prefix", "prefix"}, {"/foo", "Exact", "exact"}}, "/foo", "exact"},
		{"prefix when exact does not match", []testPath{{"/foo", "Prefix", "prefix"}, {"/foo", "Exact", "exact"}}, "/foo/", "prefix"},
		{"longer prefix beats shorter exact", []testPath{{"/foo", "Exact", "exact"}, {"/foo/bar", "Prefix", "prefix"}}, "/foo/bar", "prefix"},
		{"implementation specific is prefix", []testPath{{"/impl", "ImplementationSpecific", "a"}}, "/impl/x", "a"},
		{"dot segments resolved before matching", []testPath{{"/public", "Prefix", "public"}, {"/", "Prefix", "root"}}, "/public/../admin", "root"},
		{"repeated slashes merged", []testPath{{"/aaa/bbb", "Prefix", "a"}}, "//aaa//bbb", "a"},
		{"exact after cleaning", []testPath{{"/foo/", "Exact", "a"}}, "/foo/./", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := testTable(t, testIngress("ing", "paths.example.com", tt.paths...))
			got := tbl.lookup("paths.example.com", requestPath(tt.req))
			if got == nil && tt.want == "" {
				return
			}
			if got == nil || got.(marker) != marker(tt.want) {
				t.Errorf("%s: got %v, want %q", tt.req, got, tt.want)
			}
		})
	}
}

func TestHostMatching(t *testing.T) {
	tbl := testTable(t,
		testIngress("exact", "foo.example.com", testPath{"/", "Prefix", "exact"}),
		testIngress("wild", "*.example.com", testPath{"/", "Prefix", "wild"}),
		testIngress("any", "", testPath{"/only-any", "Prefix", "any"}),
	)
	tests := []struct {
		host, path, want string
	}{
		{"foo.example.com", "/", "exact"},
		{"FOO.Example.COM:8443", "/", "exact"},
		{"foo.example.com.", "/", "exact"},
		{"bar.example.com", "/", "wild"},
		{"baz.bar.example.com", "/only-any", "any"},
		{"baz.bar.example.com", "/", ""},
		{"example.com", "/", ""},
		{"example.com", "/only-any", "any"},
		{"other.org", "/only-any/x", "any"},
		{"127.0.0.1:8080", "/only-any", "any"},
		{"[::1]:8443", "/only-any", "any"},
		{"foo.example.com", "/only-any", "exact"},
		{"evil{env.HOME}.example.com", "/only-any", "any"},
	}
	for _, tt := range tests {
		got := tbl.lookup(requestHost(tt.host), requestPath(tt.path))
		if got == nil && tt.want == "" {
			continue
		}
		if got == nil || got.(marker) != marker(tt.want) {
			t.Errorf("%s%s: got %v, want %q", tt.host, tt.path, got, tt.want)
		}
	}
}

// TestUnmatchedRedirect: on a host that redirects to HTTPS, plain-HTTP
// requests that match no path are redirected; HTTPS ones go on to the
// catch-all.
func TestUnmatchedRedirect(t *testing.T) {
	res := &ingress.Result{
		Hosts: ingress.NewHostList([]*ingress.Host{{
			Host:     "tls.example.com",
			TLS:      true,
			Paths:    []ingress.Path{{Path: "/api", Type: ingress.PathPrefix, Action: ingress.Action{Routes: []byte("api")}}},
			Redirect: &ingress.Redirect{HTTPS: true},
		}}),
		Default: &ingress.Action{Routes: []byte("catch-all")},
	}
	tbl := newTable(res, func(act *ingress.Action) caddyhttp.Handler { return marker(act.Routes) })
	tests := []struct {
		url          string
		wantStatus   int
		wantBody     string
		wantLocation string
	}{
		{url: "http://tls.example.com/api/x", wantStatus: 200, wantBody: "api"},
		{url: "https://tls.example.com/api/x", wantStatus: 200, wantBody: "api"},
		{url: "http://tls.example.com/other/", wantStatus: 308, wantLocation: "https://tls.example.com/other"},
		{url: "https://tls.example.com/other", wantStatus: 200, wantBody: "catch-all"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.url, nil)
		w := httptest.NewRecorder()
		if err := tbl.lookup("tls.example.com", requestPath(r.URL.Path)).ServeHTTP(w, r); err != nil {
			t.Fatal(err)
		}
		if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody || w.Header().Get("Location") != tt.wantLocation {
			t.Errorf("%s: got %d %q Location %q, want %d %q Location %q", tt.url, w.Code, w.Body, w.Header().Get("Location"), tt.wantStatus, tt.wantBody, tt.wantLocation)
		}
	}
}

// loopbackSlice is an EndpointSlice of Service default/svc with one ready
// endpoint, 127.0.0.1:port.
func loopbackSlice(svc string, port int32) *discoveryv1.EndpointSlice {
	ready := true
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: &port}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
}
