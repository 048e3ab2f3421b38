package manifests

import (
	"bytes"
	"testing"
)

// FuzzDecodeFile decodes any file as YAML and as JSON: no panic; every
// error has a reason and a line inside the file (0 for the file as a
// whole); every object has a kind, a name and a line inside the file.
func FuzzDecodeFile(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  ports:\n  - port: 80\n",
		"---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\nspec: {}\n---\n---\nkind: ConfigMap\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  stringData: {tls.crt: x}\n",
		"kind: Service\nmetadata: {name: [}\n",
		"--- # comment\nkind: Secret\n----\n",
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}} {"kind":"Secret"}`,
		"\t- tab\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  unknownField: 1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		lines := bytes.Count(content, []byte("\n")) + 1
		for _, name := range []string{"f.yaml", "f.json"} {
			objects, errs := decodeFile(name, content)
			for _, e := range errs {
				if e.reason == "" || e.line < 0 || e.line > lines {
					t.Errorf("%s: got error %+v, want a reason and a line in 0..%d", name, e, lines)
				}
			}
			for _, o := range objects {
				if o.kind == "" || o.name == "" || o.line < 1 || o.line > lines {
					t.Errorf("%s: got object %s %s/%s at line %d, want a kind, a name and a line in 1..%d", name, o.kind, o.namespace, o.name, o.line, lines)
				}
			}
		}
	})
}
