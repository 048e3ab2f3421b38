package ingress

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// annotationCase is one table case of a family test: annotations in, the
// config they give and the problems they cause out.
type annotationCase struct {
	name        string
	annotations map[string]string
	// check, if set, returns "" when the config is as wanted, else what
	// is wrong.
	check func(c *ingressConfig) string
	// wantProblem is a text the only problem must contain; "" wants none.
	wantProblem string
	// wantFail is how the Ingress fails: "" (serves), "ignored" or
	// "denied".
	wantFail string
}

// readFor reads annotations of an Ingress in namespace default, with
// objects (Services and ConfigMaps) in the snapshot.
func readFor(t *testing.T, annotations map[string]string, opts Options, objects ...any) (*ingressConfig, []Problem) {
	t.Helper()
	tr := &translation{
		opts:           opts,
		services:       make(map[string]*corev1.Service),
		secrets:        make(map[string]*corev1.Secret),
		configMaps:     make(map[string]*corev1.ConfigMap),
		backendSecrets: nil,
		prev:           new(Translator),
		prefixes:       annotationPrefixes(&opts),
	}
	for _, o := range objects {
		switch o := o.(type) {
		case *corev1.Service:
			tr.services[o.Namespace+"/"+o.Name] = o
		case *corev1.ConfigMap:
			tr.configMaps[o.Namespace+"/"+o.Name] = o
		default:
			t.Fatalf("readFor: cannot put a %T in the snapshot", o)
		}
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "test", Namespace: "default", Annotations: annotations}}
	c := readAnnotations(tr, ing, tr.reporter(ing))
	return c, tr.problems
}

// runAnnotationCases runs cases with objects (Services and ConfigMaps) in
// the snapshot.
func runAnnotationCases(t *testing.T, cases []annotationCase, objects ...any) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c, problems := readFor(t, tt.annotations, Options{}, objects...)
			switch {
			case tt.wantProblem == "" && len(problems) > 0:
				t.Errorf("got problems %v, want none", problems)
			case tt.wantProblem != "" && (len(problems) != 1 || !strings.Contains(problems[0].Reason, tt.wantProblem)):
				t.Errorf("got problems %v, want one containing %q", problems, tt.wantProblem)
			}
			fail := ""
			switch {
			case c.ignored != "":
				fail = "ignored"
			case c.denied != "":
				fail = "denied"
			}
			if fail != tt.wantFail {
				t.Errorf("got failure %q, want %q", fail, tt.wantFail)
			}
			if tt.check != nil {
				if msg := tt.check(c); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

// is returns a check that the part of the config get reads is want.
func is[T comparable](get func(*ingressConfig) T, want T) func(*ingressConfig) string {
	return func(c *ingressConfig) string {
		if got := get(c); got != want {
			return fmt.Sprintf("got %+v, want %+v", got, want)
		}
		return ""
	}
}

func nginx(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[nginxPrefix+kv[i]] = kv[i+1]
	}
	return m
}

// TestAnnotationPrefixes: ours wins over the configured prefix, which
// wins over the legacy one; a prefix that is not configured is not read.
func TestAnnotationPrefixes(t *testing.T) {
	ann := map[string]string{
		ownPrefix + "upstream-vhost":    "own.example.com",
		"custom.io/upstream-vhost":      "custom.example.com",
		legacyPrefix + "upstream-vhost": "legacy.example.com",
		legacyPrefix + "app-root":       "/legacy",
		nginxPrefix + "use-regex":       "true",
	}
	tests := []struct {
		name        string
		opts        Options
		wantVhost   string
		wantAppRoot string
		wantRegex   bool
	}{
		{name: "defaults", opts: Options{LegacyAnnotations: true}, wantVhost: "own.example.com", wantAppRoot: "/legacy", wantRegex: true},
		{name: "no legacy", opts: Options{}, wantVhost: "own.example.com", wantRegex: true},
		{name: "custom prefix", opts: Options{AnnotationPrefix: "custom.io", LegacyAnnotations: true}, wantVhost: "own.example.com", wantAppRoot: "/legacy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := readFor(t, ann, tt.opts)
			if c.upstream.vhost != tt.wantVhost || c.redirect.appRoot != tt.wantAppRoot || c.rewrite.useRegex != tt.wantRegex {
				t.Errorf("got vhost %q app-root %q regex %v, want %q %q %v", c.upstream.vhost, c.redirect.appRoot, c.rewrite.useRegex, tt.wantVhost, tt.wantAppRoot, tt.wantRegex)
			}
		})
	}
	delete(ann, ownPrefix+"upstream-vhost")
	c, _ := readFor(t, ann, Options{AnnotationPrefix: "custom.io/"})
	if c.upstream.vhost != "custom.example.com" {
		t.Errorf("custom prefix: got vhost %q, want custom.example.com", c.upstream.vhost)
	}
}

// TestAnnotationDocs: every annotation is documented, once.
func TestAnnotationDocs(t *testing.T) {
	seen := make(map[string]bool)
	for _, d := range Annotations() {
		if seen[d.Name] {
			t.Errorf("%s: documented twice", d.Name)
		}
		seen[d.Name] = true
		if d.Doc == "" || !strings.HasSuffix(d.Doc, ".") {
			t.Errorf("%s: doc %q: want a sentence", d.Name, d.Doc)
		}
	}
}

func ingressNamed(ns, name string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}
