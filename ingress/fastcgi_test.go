package ingress

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestFastCGIAnnotations(t *testing.T) {
	cms := []any{
		configMap("default", "php", map[string]string{"SCRIPT_FILENAME": "/var/www/html$fastcgi_script_name", "REDIRECT_STATUS": "200", "EMPTY": ""}),
		configMap("default", "dotted", map[string]string{"PHP.VALUE": "1"}),
		configMap("default", "space", map[string]string{"SCRIPT_FILENAME": "/a b"}),
		configMap("default", "placeholder", map[string]string{"X": "{http.request.header.Authorization}"}),
		configMap("default", "docroot", map[string]string{"SCRIPT_FILENAME": "$document_root$fastcgi_script_name"}),
		configMap("other", "php", map[string]string{"SCRIPT_FILENAME": "/index.php"}),
	}
	fcgi := func(kv ...string) map[string]string {
		return nginx(append([]string{"backend-protocol", "FCGI"}, kv...)...)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "protocol alone", annotations: fcgi(), check: fastcgiIs(fastcgiConfig{})},
		{name: "index", annotations: fcgi("fastcgi-index", "index.php"), check: fastcgiIs(fastcgiConfig{index: "index.php"})},
		{name: "invalid index", annotations: fcgi("fastcgi-index", "index.php?x"), wantProblem: "want a file name", wantFail: "ignored"},
		{name: "params", annotations: fcgi("fastcgi-params-configmap", "php"),
			check: fastcgiIs(fastcgiConfig{configMap: "php", params: "EMPTY\x00\nREDIRECT_STATUS\x00200\nSCRIPT_FILENAME\x00/var/www/html$fastcgi_script_name"})},
		{name: "namespace/name", annotations: fcgi("fastcgi-params-configmap", "default/php"),
			check: fastcgiIs(fastcgiConfig{configMap: "default/php", params: "EMPTY\x00\nREDIRECT_STATUS\x00200\nSCRIPT_FILENAME\x00/var/www/html$fastcgi_script_name"})},
		{name: "missing configmap", annotations: fcgi("fastcgi-params-configmap", "gone"), check: fastcgiIs(fastcgiConfig{configMap: "gone"}), wantProblem: "not found", wantFail: "denied"},
		{name: "other namespace", annotations: fcgi("fastcgi-params-configmap", "other/php"), check: fastcgiIs(fastcgiConfig{configMap: "other/php"}), wantProblem: "another namespace", wantFail: "denied"},
		{name: "invalid reference", annotations: fcgi("fastcgi-params-configmap", "a b"), wantProblem: "want namespace/name", wantFail: "ignored"},
		{name: "reference of three parts", annotations: fcgi("fastcgi-params-configmap", "a/b/c"), check: fastcgiIs(fastcgiConfig{configMap: "a/b/c"}), wantFail: "denied", wantProblem: "configmap"},
		{name: "value nginx refuses", annotations: fcgi("fastcgi-params-configmap", "space"), check: fastcgiIs(fastcgiConfig{configMap: "space"}), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "name with a dot", annotations: fcgi("fastcgi-params-configmap", "dotted"), check: fastcgiIs(fastcgiConfig{configMap: "dotted"}), wantProblem: "want letters, digits and _", wantFail: "denied"},
		{name: "braces are not placeholders", annotations: fcgi("fastcgi-params-configmap", "placeholder"), check: fastcgiIs(fastcgiConfig{configMap: "placeholder"}), wantProblem: "{ and }", wantFail: "denied"},
		{name: "document root", annotations: fcgi("fastcgi-params-configmap", "docroot"), check: fastcgiIs(fastcgiConfig{configMap: "docroot"}), wantProblem: "$document_root is not supported", wantFail: "denied"},
		{name: "without FCGI", annotations: nginx("fastcgi-index", "index.php"), check: fastcgiIs(fastcgiConfig{index: "index.php"}), wantProblem: "no effect"},
	}, cms...)
}

// fastcgiIs checks the FastCGI config read (none is wanted of an ignored
// Ingress).
func fastcgiIs(want fastcgiConfig) func(c *ingressConfig) string {
	return func(c *ingressConfig) string {
		if c.ignored == "" && c.fastcgi != want {
			return fmt.Sprintf("got %+v, want %+v", c.fastcgi, want)
		}
		return ""
	}
}

func TestParseFastCGIValue(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        []FastCGIPart
		wantErr     string
	}{
		{name: "empty", value: ""},
		{name: "literal", value: "/var/www/html/index.php", want: []FastCGIPart{{Text: "/var/www/html/index.php"}}},
		{name: "variable after text", value: "/srv$fastcgi_script_name", want: []FastCGIPart{{Text: "/srv"}, {Var: "fastcgi_script_name"}}},
		{name: "braced variable", value: "${uri}.bak", want: []FastCGIPart{{Var: "uri"}, {Text: ".bak"}}},
		{name: "two variables", value: "$request_method$uri", want: []FastCGIPart{{Var: "request_method"}, {Var: "uri"}}},
		{name: "longest name", value: "$uri_x", wantErr: "$uri_x is not supported"},
		{name: "unknown variable", value: "$http_authorization", wantErr: "not supported"},
		{name: "capture", value: "$1", wantErr: "not supported"},
		{name: "lone dollar", value: "/a$", wantErr: "without a variable name"},
		{name: "dollar before slash", value: "$/a", wantErr: "without a variable name"},
		{name: "unclosed brace", value: "${uri", wantErr: "without }"},
		{name: "placeholder", value: "{env.HOME}", wantErr: "{ and }"},
		{name: "closing brace", value: "a}", wantErr: "{ and }"},
		{name: "placeholder in braces", value: "${env.HOME}", wantErr: "not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFastCGIValue(tt.value)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("got error %v, want none", err)
			case !reflect.DeepEqual(got, tt.want):
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseFastCGIValue(f *testing.F) {
	for _, s := range []string{"", "/srv$fastcgi_script_name", "${uri}", "{env.HOME}", "$", "${"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		parts, err := ParseFastCGIValue(v)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, p := range parts {
			if strings.ContainsAny(p.Text, "{}$") {
				t.Errorf("%q: text part %q holds { } or $", v, p.Text)
			}
			if p.Var != "" {
				b.WriteString("${" + p.Var + "}")
			}
			b.WriteString(p.Text)
		}
		if again, err := ParseFastCGIValue(b.String()); err != nil || !reflect.DeepEqual(again, parts) {
			t.Errorf("%q: got %+v, %v on reparsing %q, want %+v", v, again, err, b.String(), parts)
		}
	})
}

// TestFastCGIPlanKey: paths that differ only in their FastCGI settings
// do not share rendered routes.
func TestFastCGIPlanKey(t *testing.T) {
	tr := &translation{routes: make(map[planKey]json.RawMessage), prev: new(Translator)}
	a := plan{proxy: proxyPhase{upstream: UpstreamKey{Namespace: "default", Service: "php"}, resolved: true, backend: backendOptions{protocol: "FCGI"}, fastcgi: fastcgiPlan{params: "A\x00one"}}}
	b := a
	b.proxy.fastcgi.params = "A\x00two"
	c := a
	c.proxy.fastcgi.index = "index.php"
	if string(tr.routesFor(&a)) == string(tr.routesFor(&b)) || string(tr.routesFor(&a)) == string(tr.routesFor(&c)) {
		t.Errorf("got the same routes for plans with different FastCGI settings")
	}
}
