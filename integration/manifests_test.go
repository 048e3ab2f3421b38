package integration

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeManifest replaces dir/name atomically, as kubectl-style tooling or
// a ConfigMap update would: the watcher never sees half a file. The
// temporary file is hidden, so the manifest source skips it.
func writeManifest(t *testing.T, dir, name, content string) {
	t.Helper()
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func removeManifest(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// rule is one Ingress rule; its paths go to port 80 of their Service.
type rule struct {
	host  string
	paths []ingressPath
}

type ingressPath struct {
	path     string
	pathType string
	service  string
}

// ingressYAML is an Ingress of class caddy in namespace default. If
// secret is not empty, it terminates TLS for all rule hosts with it.
func ingressYAML(name, secret string, rules ...rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %s
  namespace: default
spec:
  ingressClassName: caddy
`, name)
	if secret != "" {
		b.WriteString("  tls:\n  - hosts:\n")
		for _, r := range rules {
			fmt.Fprintf(&b, "    - %q\n", r.host)
		}
		fmt.Fprintf(&b, "    secretName: %s\n", secret)
	}
	b.WriteString("  rules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "  - host: %q\n    http:\n      paths:\n", r.host)
		for _, p := range r.paths {
			fmt.Fprintf(&b, `      - path: %s
        pathType: %s
        backend:
          service:
            name: %s
            port:
              number: 80
`, p.path, p.pathType, p.service)
		}
	}
	return b.String()
}

// serviceYAML is a Service with one unnamed port 80, in namespace default.
func serviceYAML(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: default
spec:
  ports:
  - port: 80
`, name)
}

// endpointSliceYAML is the EndpointSlice of a Service: one endpoint on
// 127.0.0.1 at port, ready or not.
func endpointSliceYAML(service string, port int, ready bool) string {
	return fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-1
  namespace: default
  labels:
    kubernetes.io/service-name: %s
addressType: IPv4
ports:
- port: %d
  protocol: TCP
endpoints:
- addresses: ["127.0.0.1"]
  conditions:
    ready: %t
`, service, service, port, ready)
}

// serviceWithEndpoints is a Service and its EndpointSlice pointing at a
// backend, as one multi-document file.
func serviceWithEndpoints(service string, b *backend) string {
	return serviceYAML(service) + "---\n" + endpointSliceYAML(service, b.port, true)
}

// secretYAML is a kubernetes.io/tls Secret in namespace default.
func secretYAML(name string, kp keyPair) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %s
  namespace: default
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
`, name, base64.StdEncoding.EncodeToString(kp.certPEM), base64.StdEncoding.EncodeToString(kp.keyPEM))
}
