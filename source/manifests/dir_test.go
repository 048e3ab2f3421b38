package manifests

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// writeFile writes a file below dir, creating its directories.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// load calls d.Load and fails the test on an error.
func load(t *testing.T, d *Dir) (*ingress.Snapshot, []ingress.Problem) {
	t.Helper()
	snapshot, problems, err := d.Load()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return snapshot, problems
}

// objectNames lists the objects of a snapshot as "Kind namespace/name",
// kind by kind, in snapshot order.
func objectNames(s *ingress.Snapshot) []string {
	var names []string
	for _, o := range s.Ingresses {
		names = append(names, objectName("Ingress", o.Namespace, o.Name))
	}
	for _, o := range s.IngressClasses {
		names = append(names, objectName("IngressClass", o.Namespace, o.Name))
	}
	for _, o := range s.Services {
		names = append(names, objectName("Service", o.Namespace, o.Name))
	}
	for _, o := range s.EndpointSlices {
		names = append(names, objectName("EndpointSlice", o.Namespace, o.Name))
	}
	for _, o := range s.Secrets {
		names = append(names, objectName("Secret", o.Namespace, o.Name))
	}
	for _, o := range s.ConfigMaps {
		names = append(names, objectName("ConfigMap", o.Namespace, o.Name))
	}
	return names
}

func problemStrings(problems []ingress.Problem) []string {
	var s []string
	for _, p := range problems {
		s = append(s, p.String())
	}
	return s
}

const service = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
`

// webYAML has a typo in its third document, which starts on line 20:
// "pathtype" on line 30.
const webYAML = `# services for web
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      containers: []
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
  - host: example.com
    http:
      paths:
      - path: /
        pathtype: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
`

func TestLoad(t *testing.T) {
	tests := []struct {
		name         string
		files        map[string]string
		want         []string
		wantProblems []string
	}{
		{
			name: "several kinds in one file",
			files: map[string]string{"app.yaml": `# comment-only documents and empty ones are skipped
---
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  ingressClassName: caddy
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: caddy
  namespace: ignored
spec:
  controller: caddy.io/ingress
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
---
apiVersion: v1
kind: Secret
metadata:
  name: tls
  namespace: shop
type: kubernetes.io/tls
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: headers
  namespace: shop
data:
  X-Shop: "1"
# trailing comment
`},
			want: []string{"Ingress shop/web", "IngressClass caddy", "Service shop/web", "EndpointSlice shop/web-abc", "Secret shop/tls", "ConfigMap shop/headers"},
		},
		{
			name: "other kinds are ignored",
			files: map[string]string{"app.yml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {}
  whatever: is not checked
---
apiVersion: example.com/v1
kind: ConfigMap
metadata:
  name: web
data:
  a: b
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: knative
spec:
  template: {}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
---
- a list
- is not a manifest
---
just a string
---
replicas: 3
`},
		},
		{
			name:  "objects without a namespace are in default",
			files: map[string]string{"svc.yaml": service},
			want:  []string{"Service default/web"},
		},
		{
			name: "list",
			files: map[string]string{"list.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: b
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: ignored
- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata:
    name: a
    namespace: shop
`},
			want: []string{"Ingress shop/a", "Service default/b"},
		},
		{
			name: "numbers are not strings",
			files: map[string]string{"a.yaml": `apiVersion: v1
kind: Service
metadata:
  name: a
  labels:
    version: 1
`},
			wantProblems: []string{`File a.yaml: line 5: Service default/a: metadata.labels: cannot unmarshal number into string`},
		},
		{
			name: "json",
			files: map[string]string{"svc.json": `{
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "web", "namespace": "a\/b"}
}
{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "caddy"}}
`},
			want: []string{"IngressClass caddy", "Service a/b/web"},
		},
		{
			name:         "unknown field names its line",
			files:        map[string]string{"web.yaml": webYAML},
			wantProblems: []string{`File web.yaml: line 30: Ingress default/web: unknown field "spec.rules[0].http.paths[0].pathtype"`},
		},
		{
			name: "wrong type names its line",
			files: map[string]string{"a.yaml": service + `---
apiVersion: v1
kind: Service
metadata:
  name: other
spec:
  ports:
  - port: eighty
`},
			wantProblems: []string{`File a.yaml: line 15: Service default/other: spec.ports.port: cannot unmarshal string into int32`},
		},
		{
			name: "yaml syntax error names its line",
			files: map[string]string{"a.yaml": service + `---
apiVersion: v1
kind: Service
metadata:
  name: other
 labels: {}
`},
			// The parser names the line of the mapping it was in.
			wantProblems: []string{`File a.yaml: line 12: did not find expected key`},
		},
		{
			name: "duplicate yaml key",
			files: map[string]string{"a.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: a
data:
  a: YQ==
  a: Yg==
`},
			wantProblems: []string{`File a.yaml: line 7: Secret default/a: key "a" already set in map`},
		},
		{
			name:         "bad document separator",
			files:        map[string]string{"a.yaml": service + "--- oops\n" + service},
			wantProblems: []string{`File a.yaml: line 8: invalid Yaml document separator: oops`},
		},
		{
			name:         "json syntax error",
			files:        map[string]string{"a.json": "{\n  \"kind\": \"Service\",\n  \"apiVersion\": \"v1\"\n  \"metadata\": {}\n}\n"},
			wantProblems: []string{`File a.json: line 4: invalid character '"' after object key:value pair`},
		},
		{
			name:         "json duplicate key",
			files:        map[string]string{"a.json": "{\n  \"kind\": \"Service\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {\"name\": \"a\"},\n  \"kind\": \"Service\"\n}\n"},
			wantProblems: []string{`File a.json: line 5: Service default/a: duplicate field "kind"`},
		},
		{
			name: "old apiVersion",
			files: map[string]string{
				"a.yaml": "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata:\n  name: old\n",
				"b.yaml": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: older\n---\n" + service,
				"c.yaml": "kind: Service\nmetadata:\n  name: c\n",
			},
			wantProblems: []string{
				`File a.yaml: line 1: Ingress default/old: apiVersion networking.k8s.io/v1beta1 is not supported, use networking.k8s.io/v1`,
				`File b.yaml: line 1: Ingress default/older: apiVersion extensions/v1beta1 is not supported, use networking.k8s.io/v1`,
				`File c.yaml: line 1: Service default/c: apiVersion is missing, use v1`,
			},
		},
		{
			name:         "missing name fails the whole file",
			files:        map[string]string{"a.yaml": service + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  namespace: x\n"},
			wantProblems: []string{`File a.yaml: line 9: Secret: metadata.name is required`},
		},
		{
			name: "list item problems",
			files: map[string]string{"a.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: a
  spek: {}
`},
			wantProblems: []string{`File a.yaml: line 8: items[0]: Service default/a: unknown field "spek"`},
		},
		{
			name: "duplicates",
			files: map[string]string{
				"a.yaml":     service,
				"b/b.yaml":   "# the same Service again\n" + service + "---\n" + service,
				"c.yaml":     "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: other\n",
				"d/e/f.json": `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}}`,
			},
			want: []string{"Service default/web", "Service other/web"},
			wantProblems: []string{
				"File b/b.yaml: line 1: duplicate Service default/web, first defined in a.yaml:1",
				"File b/b.yaml: line 10: duplicate Service default/web, first defined in a.yaml:1",
				"File d/e/f.json: line 1: duplicate Service default/web, first defined in a.yaml:1",
			},
		},
		{
			name: "duplicate configmaps",
			files: map[string]string{
				"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: headers\ndata:\n  X-A: a\n",
				"b.json": `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "headers", "namespace": "default"}}`,
			},
			want:         []string{"ConfigMap default/headers"},
			wantProblems: []string{"File b.json: line 1: duplicate ConfigMap default/headers, first defined in a.yaml:1"},
		},
		{
			name: "configmap problems",
			files: map[string]string{
				"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  X-A: a\nspec: {}\n",
				"b.yaml": "apiVersion: v1beta1\nkind: ConfigMap\nmetadata:\n  name: b\n",
				"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  n: 1\n",
			},
			wantProblems: []string{
				`File a.yaml: line 7: ConfigMap default/a: unknown field "spec"`,
				`File b.yaml: line 1: ConfigMap default/b: apiVersion v1beta1 is not supported, use v1`,
				`File c.yaml: line 5: ConfigMap default/c: data: cannot unmarshal number into string`,
			},
		},
		{
			name: "hidden and other files are skipped",
			files: map[string]string{
				".hidden.yaml":     "not: [valid",
				".git/config.yaml": "not: [valid",
				"README.md":        "not: [valid",
				"svc.yaml.bak":     "not: [valid",
				"svc.YAML":         service,
			},
			want: []string{"Service default/web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			snapshot, problems := load(t, New(dir))
			if got := objectNames(snapshot); !slices.Equal(got, tt.want) {
				t.Errorf("objects: got %q, want %q", got, tt.want)
			}
			if got := problemStrings(problems); !slices.Equal(got, tt.wantProblems) {
				t.Errorf("problems: got %q, want %q", got, tt.wantProblems)
			}
		})
	}
}

func TestLoadNormalizesObjects(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", `apiVersion: v1
kind: Secret
metadata:
  name: tls
data:
  kept: a2VwdA==
  replaced: b2xk
stringData:
  replaced: new
  added: plain
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: caddy
  namespace: shop
`)
	snapshot, problems := load(t, New(dir))
	if len(problems) != 0 {
		t.Fatalf("problems: got %v, want none", problems)
	}
	if got := len(snapshot.Secrets); got != 1 {
		t.Fatalf("secrets: got %d, want 1", got)
	}
	secret := snapshot.Secrets[0]
	wantData := map[string]string{"kept": "kept", "replaced": "new", "added": "plain"}
	if got := len(secret.Data); got != len(wantData) {
		t.Errorf("data keys: got %d, want %d", got, len(wantData))
	}
	for k, want := range wantData {
		if got := string(secret.Data[k]); got != want {
			t.Errorf("data[%s]: got %q, want %q", k, got, want)
		}
	}
	if secret.StringData != nil {
		t.Errorf("stringData: got %v, want nil", secret.StringData)
	}
	if got := secret.Namespace; got != "default" {
		t.Errorf("secret namespace: got %q, want %q", got, "default")
	}
	if got := snapshot.IngressClasses[0].Namespace; got != "" {
		t.Errorf("ingress class namespace: got %q, want %q", got, "")
	}
}

// TestLoadConfigMaps checks that ConfigMaps are delivered with their
// data, named by an Ingress or not, and without their binaryData.
func TestLoadConfigMaps(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "headers.yaml", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/custom-headers: headers
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: headers
  namespace: shop
data:
  X-Shop: "1"
  X-Empty: ""
binaryData:
  blob: AAE=
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: unnamed
immutable: true
`)
	snapshot, problems := load(t, New(dir))
	if len(problems) != 0 {
		t.Fatalf("problems: got %v, want none", problems)
	}
	if got, want := objectNames(snapshot), []string{"Ingress shop/web", "ConfigMap default/unnamed", "ConfigMap shop/headers"}; !slices.Equal(got, want) {
		t.Fatalf("objects: got %q, want %q", got, want)
	}
	headers := snapshot.ConfigMaps[1]
	if want := map[string]string{"X-Shop": "1", "X-Empty": ""}; !maps.Equal(headers.Data, want) {
		t.Errorf("data: got %q, want %q", headers.Data, want)
	}
	if headers.BinaryData != nil {
		t.Errorf("binaryData: got %v, want nil", headers.BinaryData)
	}
	if got, want := ingress.ConfigMapRefs(snapshot.Ingresses, &ingress.Options{}), []string{"shop/headers"}; !slices.Equal(got, want) {
		t.Errorf("configmap refs: got %q, want %q", got, want)
	}
}

// TestLoadSecretsOfAnyType checks that Secrets of every type are
// delivered with all their data: annotations refer to Opaque Secrets too,
// and what a Secret means is the translator's business.
func TestLoadSecretsOfAnyType(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "secrets.yaml", `apiVersion: v1
kind: Secret
metadata:
  name: ca
  namespace: shop
type: Opaque
stringData:
  ca.crt: |
    -----BEGIN CERTIFICATE-----
  ca.crl: crl
---
apiVersion: v1
kind: Secret
metadata:
  name: proxy
  namespace: shop
data:
  ca.crt: Y2E=
  tls.crt: Y2VydA==
stringData:
  tls.key: key
---
apiVersion: v1
kind: Secret
metadata:
  name: token
  namespace: shop
type: kubernetes.io/service-account-token
stringData:
  token: t
`)
	snapshot, problems := load(t, New(dir))
	if len(problems) != 0 {
		t.Fatalf("problems: got %v, want none", problems)
	}
	tests := []struct {
		name string
		typ  corev1.SecretType
		data map[string]string
	}{
		{"ca", corev1.SecretTypeOpaque, map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\n", "ca.crl": "crl"}},
		{"proxy", corev1.SecretTypeOpaque, map[string]string{"ca.crt": "ca", "tls.crt": "cert", "tls.key": "key"}},
		{"token", corev1.SecretTypeServiceAccountToken, map[string]string{"token": "t"}},
	}
	if got := len(snapshot.Secrets); got != len(tests) {
		t.Fatalf("secrets: got %d, want %d", got, len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := snapshot.Secrets[i]
			if secret.Name != tt.name {
				t.Fatalf("name: got %q, want %q", secret.Name, tt.name)
			}
			if secret.Type != tt.typ {
				t.Errorf("type: got %q, want %q", secret.Type, tt.typ)
			}
			got := make(map[string]string, len(secret.Data))
			for k, v := range secret.Data {
				got[k] = string(v)
			}
			if !maps.Equal(got, tt.data) {
				t.Errorf("data: got %q, want %q", got, tt.data)
			}
			if secret.StringData != nil {
				t.Errorf("stringData: got %v, want nil", secret.StringData)
			}
		})
	}
}

func TestLoadProblemsHideSecretData(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{name: "invalid base64", content: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  key: s3cr3t!!\n"},
		{name: "string data of the wrong type", content: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  key: [s3cr3t]\n"},
		{name: "unknown field", content: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndatta:\n  key: s3cr3t\n"},
		{name: "map key that is a list", content: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  ? [s3cr3t]\n  : s3cr3t\n"},
		{name: "map key that is a map", content: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  ? {k: s3cr3t}\n  : s3cr3t\n"},
		{name: "syntax error", content: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  key: \"s3cr3t\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "secret.yaml", tt.content)
			_, problems := load(t, New(dir))
			if len(problems) != 1 {
				t.Fatalf("problems: got %v, want one", problems)
			}
			if got := problems[0].String(); strings.Contains(got, "s3cr3t") {
				t.Errorf("problem: got %q, want no secret data", got)
			}
		})
	}
}

func TestLoadKeepsLastGoodVersion(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	writeFile(t, dir, "b.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n")
	d := New(dir)
	good, _ := load(t, d)

	writeFile(t, dir, "a.yaml", service+"  - port: [\n")
	broken, problems := load(t, d)
	wantProblems := []string{"File a.yaml: line 8: did not find expected node content"}
	if got := problemStrings(problems); !slices.Equal(got, wantProblems) {
		t.Errorf("problems: got %q, want %q", got, wantProblems)
	}
	if !broken.Same(good) {
		t.Errorf("objects while broken: got %v, want the last good ones %v", objectNames(broken), objectNames(good))
	}

	writeFile(t, dir, "a.yaml", service)
	fixed, problems := load(t, d)
	if len(problems) != 0 {
		t.Errorf("problems when fixed: got %v, want none", problems)
	}
	if !fixed.Same(good) {
		t.Errorf("objects back to the good content: got other pointers, want the same")
	}
}

func TestLoadReusesUnchangedObjects(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	writeFile(t, dir, "b.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n")
	d := New(dir)
	first, _ := load(t, d)

	// Rewriting the same content changes nothing.
	writeFile(t, dir, "a.yaml", service)
	second, _ := load(t, d)
	if !first.Same(second) {
		t.Fatalf("unchanged files: got other pointers, want the same")
	}

	writeFile(t, dir, "a.yaml", strings.Replace(service, "port: 80", "port: 81", 1))
	third, problems := load(t, d)
	if len(problems) != 0 {
		t.Fatalf("problems: got %v, want none", problems)
	}
	if third.Services[0] == first.Services[0] {
		t.Errorf("changed service: got the same pointer, want a new one")
	}
	if got := third.Services[0].Spec.Ports[0].Port; got != 81 {
		t.Errorf("changed service port: got %d, want 81", got)
	}
	if third.Secrets[0] != first.Secrets[0] {
		t.Errorf("unchanged secret: got a new pointer, want the same")
	}
}

func TestLoadDeletedFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	writeFile(t, dir, "sub/b.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n")
	d := New(dir)
	before, _ := load(t, d)
	if got, want := objectNames(before), []string{"Service default/web", "Secret default/b"}; !slices.Equal(got, want) {
		t.Fatalf("before: got %q, want %q", got, want)
	}

	if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	after, _ := load(t, d)
	if got, want := objectNames(after), []string{"Service default/web"}; !slices.Equal(got, want) {
		t.Errorf("after: got %q, want %q", got, want)
	}
}

func TestLoadTooLarge(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	d := New(dir)
	good, _ := load(t, d)

	writeFile(t, dir, "a.yaml", service+"#"+strings.Repeat("x", maxFileSize)+"\n")
	snapshot, problems := load(t, d)
	want := []string{"File a.yaml: file is larger than 8 MiB"}
	if got := problemStrings(problems); !slices.Equal(got, want) {
		t.Errorf("problems: got %q, want %q", got, want)
	}
	if !snapshot.Same(good) {
		t.Errorf("objects: got %v, want the last good ones", objectNames(snapshot))
	}
}

func TestLoadConfigMapLayout(t *testing.T) {
	// The layout of a mounted ConfigMap: the files live in a timestamped
	// directory, "..data" points to it, and each key is a top-level
	// symlink through "..data". kubelet updates it by swapping "..data".
	dir := t.TempDir()
	writeFile(t, dir, "..2024_01_01_00_00_00.1/svc.yaml", service)
	writeFile(t, dir, "..2024_01_01_00_00_00.1/secret.yml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n")
	symlink(t, "..2024_01_01_00_00_00.1", filepath.Join(dir, "..data"))
	symlink(t, "..data/svc.yaml", filepath.Join(dir, "svc.yaml"))
	symlink(t, "..data/secret.yml", filepath.Join(dir, "secret.yml"))

	d := New(dir)
	first, problems := load(t, d)
	if len(problems) != 0 {
		t.Errorf("problems: got %v, want none (each file read once)", problems)
	}
	if got, want := objectNames(first), []string{"Service default/web", "Secret default/s"}; !slices.Equal(got, want) {
		t.Fatalf("objects: got %q, want %q", got, want)
	}

	writeFile(t, dir, "..2024_01_02_00_00_00.2/svc.yaml", strings.Replace(service, "name: web", "name: api", 1))
	writeFile(t, dir, "..2024_01_02_00_00_00.2/secret.yml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n")
	symlink(t, "..2024_01_02_00_00_00.2", filepath.Join(dir, "..data_tmp"))
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	second, _ := load(t, d)
	if got, want := objectNames(second), []string{"Service default/api", "Secret default/s"}; !slices.Equal(got, want) {
		t.Errorf("objects after the swap: got %q, want %q", got, want)
	}
	if second.Secrets[0] != first.Secrets[0] {
		t.Errorf("unchanged secret after the swap: got a new pointer, want the same")
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSymlinkedRoot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "real/a.yaml", service)
	symlink(t, "real", filepath.Join(dir, "link"))
	snapshot, problems := load(t, New(filepath.Join(dir, "link")))
	if len(problems) != 0 {
		t.Errorf("problems: got %v, want none", problems)
	}
	if got, want := objectNames(snapshot), []string{"Service default/web"}; !slices.Equal(got, want) {
		t.Errorf("objects: got %q, want %q", got, want)
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "file.yaml", service)
	tests := []struct {
		name string
		path string
	}{
		{name: "missing", path: filepath.Join(dir, "missing")},
		{name: "not a directory", path: filepath.Join(dir, "file.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snapshot, problems, err := New(tt.path).Load()
			if err == nil {
				t.Fatalf("error: got nil, want one")
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error: got %q, want it to name %s", err, tt.path)
			}
			if snapshot != nil || problems != nil {
				t.Errorf("result: got %v, %v, want nil, nil", snapshot, problems)
			}
		})
	}
}

// TestLoadUnreadableKeepsLastGood replaces a good file with a symlink
// loop, which cannot be read even by root.
func TestLoadUnreadableKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	d := New(dir)
	good, _ := load(t, d)

	path := filepath.Join(dir, "a.yaml")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.yaml", path); err != nil {
		t.Fatal(err)
	}
	snapshot, problems := load(t, d)
	got := problemStrings(problems)
	if len(got) != 1 || !strings.HasPrefix(got[0], "File a.yaml: cannot read") {
		t.Errorf("problems: got %q, want one that a.yaml cannot be read", got)
	}
	if !snapshot.Same(good) {
		t.Errorf("objects: got %v, want the last good ones %v", objectNames(snapshot), objectNames(good))
	}
}

// TestLoadEmptiedFileWaitsForSecondRead: a file truncated for an in-place
// rewrite keeps its objects for one read; one that stays empty loses them.
func TestLoadEmptiedFileWaitsForSecondRead(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	d := New(dir)
	good, _ := load(t, d)
	if len(good.Services) != 1 {
		t.Fatalf("services: got %d, want 1", len(good.Services))
	}
	writeFile(t, dir, "a.yaml", "")
	if snapshot, _ := load(t, d); !snapshot.Same(good) {
		t.Errorf("first read of the emptied file: got %v, want the previous objects %v", objectNames(snapshot), objectNames(good))
	}
	if snapshot, _ := load(t, d); len(snapshot.Services) != 0 {
		t.Errorf("second read of the emptied file: got %v, want no objects", objectNames(snapshot))
	}
}
