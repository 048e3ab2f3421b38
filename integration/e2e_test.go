package integration

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// defaultCertCN is the CommonName of the certificate Caddy presents for
// server names no Ingress covers.
const defaultCertCN = "caddy-ingress default certificate"

// TestExample serves examples/local/manifests as shipped, with the
// EndpointSlice pointed at a test backend instead of 127.0.0.1:9001.
func TestExample(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "my-backend-service")
	src := filepath.Join("..", "examples", "local", "manifests")
	dir := t.TempDir()
	files, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	const examplePort = "- port: 9001\n"
	rewritten := 0
	for _, f := range files {
		content, err := os.ReadFile(filepath.Join(src, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := string(content)
		rewritten += strings.Count(text, examplePort)
		text = strings.ReplaceAll(text, examplePort, fmt.Sprintf("- port: %d\n", be.port))
		writeManifest(t, dir, f.Name(), text)
	}
	if rewritten != 1 {
		t.Fatalf("EndpointSlice ports %q in %s: got %d, want 1", examplePort, src, rewritten)
	}
	secretDER := secretCertificate(t, filepath.Join(src, "secret.yaml"))
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join("..", "examples", "local", "myapp.example.com.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("examples/local/myapp.example.com.crt holds no certificate")
	}

	c := startCaddy(t, dir)
	secure := newClient(roots)
	insecure := newInsecureClient()
	const host = "myapp.example.com"

	tests := []struct {
		name         string
		client       *client
		url          string
		wantStatus   int
		wantBody     string
		wantLocation string
		// wantLeaf is the DER of the certificate the server must present.
		wantLeaf []byte
		// wantCN is the CommonName of the certificate the server must
		// present.
		wantCN string
	}{
		{
			name:       "https serves the backend with the Secret's certificate",
			client:     secure,
			url:        httpsURL(c, host, "/hello?x=1"),
			wantStatus: http.StatusOK,
			wantBody:   be.name,
			wantLeaf:   secretDER,
		},
		{
			name:         "http redirects to https",
			client:       secure,
			url:          httpURL(c, host, "/path?query=1&b=two"),
			wantStatus:   http.StatusPermanentRedirect,
			wantLocation: fmt.Sprintf("https://%s:%d/path?query=1&b=two", host, c.httpsPort),
		},
		{
			name:       "unknown host over http",
			client:     secure,
			url:        httpURL(c, "unknown.example.com", "/"),
			wantStatus: http.StatusNotFound,
		},
		{
			name:       "unknown host over https gets the default certificate",
			client:     insecure,
			url:        httpsURL(c, "unknown.example.com", "/"),
			wantStatus: http.StatusNotFound,
			wantCN:     defaultCertCN,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.client.get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", r.status, tt.wantStatus)
			}
			if tt.wantBody != "" && r.body != tt.wantBody {
				t.Errorf("body: got %q, want %q", r.body, tt.wantBody)
			}
			if got := r.header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location: got %q, want %q", got, tt.wantLocation)
			}
			if tt.wantLeaf != nil && (r.leaf == nil || !bytes.Equal(r.leaf.Raw, tt.wantLeaf)) {
				t.Errorf("certificate: got %s, want the one from my-tls-secret", describeCert(r.leaf))
			}
			if tt.wantCN != "" && (r.leaf == nil || r.leaf.Subject.CommonName != tt.wantCN) {
				t.Errorf("certificate: got %s, want CN %q", describeCert(r.leaf), tt.wantCN)
			}
		})
	}
}

// secretCertificate returns the DER of the first certificate of a
// kubernetes.io/tls Secret manifest.
func secretCertificate(t *testing.T, path string) []byte {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	if err := yaml.Unmarshal(content, &secret); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	block, _ := pem.Decode(secret.Data[corev1.TLSCertKey])
	if block == nil {
		t.Fatalf("%s: no PEM certificate in %s", path, corev1.TLSCertKey)
	}
	return block.Bytes
}

func describeCert(c *x509.Certificate) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("CN %q serial %s", c.Subject.CommonName, c.SerialNumber)
}

// TestLiveChanges changes routes, certificates and endpoints on disk while
// a WebSocket-style connection and a streaming response are open through
// Caddy, and checks that each change takes effect without a config reload
// and without disturbing them.
func TestLiveChanges(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	b := startBackend(t, "backend-b")
	fresh := startBackend(t, "backend-new")
	ca := newCA(t, "caddy-ingress e2e test CA", nil)
	const host = "myapp.example.com"
	firstCert := ca.issue(t, host)
	secondCert := ca.issue(t, host)

	root := ingressPath{path: "/", pathType: "Prefix", service: "app"}
	dir := t.TempDir()
	writeManifest(t, dir, "ingress.yaml", ingressYAML("my-ingress", "my-tls-secret", rule{host: host, paths: []ingressPath{root}}))
	writeManifest(t, dir, "app.yaml", serviceWithEndpoints("app", a))
	writeManifest(t, dir, "new.yaml", serviceWithEndpoints("new", fresh))
	writeManifest(t, dir, "secret.yaml", secretYAML("my-tls-secret", firstCert))

	c := startCaddy(t, dir)
	cl := newClient(ca.pool)

	r, err := cl.get(httpsURL(c, host, "/"))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || r.body != a.name {
		t.Fatalf("before the changes: got %d %q, want %d %q", r.status, r.body, http.StatusOK, a.name)
	}
	if !bytes.Equal(r.leaf.Raw, firstCert.der) {
		t.Fatalf("before the changes: got certificate %s, want the first one", describeCert(r.leaf))
	}

	ws := dialUpgrade(t, c, cl, host, "/ws")
	if ws.backend != a.name {
		t.Errorf("upgraded connection backend: got %q, want %q", ws.backend, a.name)
	}
	if err := ws.echo("before the changes"); err != nil {
		t.Fatal(err)
	}

	// The slow request must outlast the changes; it checks that it did.
	const slowFor = 6 * time.Second
	slowResp, err := cl.http.Get(httpsURL(c, host, "/slow?for="+slowFor.String()))
	if err != nil {
		t.Fatal(err)
	}
	if slowResp.StatusCode != http.StatusOK {
		t.Fatalf("/slow status: got %d, want %d", slowResp.StatusCode, http.StatusOK)
	}
	type slowResult struct {
		body  string
		err   error
		ended time.Time
	}
	slowDone := make(chan slowResult, 1)
	go func() {
		defer slowResp.Body.Close()
		body, err := io.ReadAll(slowResp.Body)
		slowDone <- slowResult{body: string(body), err: err, ended: time.Now()}
	}()

	t.Run("add path", func(t *testing.T) {
		added := ingressPath{path: "/new", pathType: "Exact", service: "new"}
		writeManifest(t, dir, "ingress.yaml", ingressYAML("my-ingress", "my-tls-secret", rule{host: host, paths: []ingressPath{root, added}}))
		eventually(t, "GET /new", func() error {
			return cl.expect(httpsURL(c, host, "/new"), http.StatusOK, fresh.name)
		})
		if err := cl.expect(httpsURL(c, host, "/newer"), http.StatusOK, a.name); err != nil {
			t.Error(err)
		}
	})

	t.Run("replace certificate", func(t *testing.T) {
		writeManifest(t, dir, "secret.yaml", secretYAML("my-tls-secret", secondCert))
		eventually(t, "new certificate", func() error {
			r, err := cl.get(httpsURL(c, host, "/"))
			if err != nil {
				return err
			}
			if !bytes.Equal(r.leaf.Raw, secondCert.der) {
				return fmt.Errorf("got certificate %s, want %s", describeCert(r.leaf), describeCert(mustParse(t, secondCert.der)))
			}
			return nil
		})
	})

	t.Run("move endpoints", func(t *testing.T) {
		writeManifest(t, dir, "app.yaml", serviceWithEndpoints("app", b))
		eventually(t, "answers from backend B", func() error {
			return cl.expect(httpsURL(c, host, "/"), http.StatusOK, b.name)
		})
	})

	t.Run("delete ingress", func(t *testing.T) {
		removeManifest(t, dir, "ingress.yaml")
		eventually(t, "404 once the Ingress is gone", func() error {
			return cl.expect(httpURL(c, host, "/"), http.StatusNotFound, "")
		})
	})
	changesDone := time.Now()

	t.Run("upgraded connection still echoes", func(t *testing.T) {
		if err := ws.echo("after the changes"); err != nil {
			t.Error(err)
		}
	})

	t.Run("slow request completes", func(t *testing.T) {
		var res slowResult
		select {
		case res = <-slowDone:
		case <-time.After(slowFor + changeTimeout):
			t.Fatalf("/slow did not end %v after it started", slowFor+changeTimeout)
		}
		if res.err != nil {
			t.Errorf("reading /slow: %v", res.err)
		}
		if want := slowChunks(slowFor); res.body != want {
			t.Errorf("/slow body: got %d bytes ending %q, want %d bytes ending %q", len(res.body), tail(res.body), len(want), tail(want))
		}
		if res.ended.Before(changesDone) {
			t.Errorf("/slow ended before the changes were done; make slowFor longer than %v", slowFor)
		}
	})

	t.Run("no reload", func(t *testing.T) {
		if got := c.countLog(isIngressStarted); got != 1 {
			t.Errorf(`log lines {"logger":"ingress","msg":"started"}: got %d, want 1`, got)
		}
	})
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// tail is the end of s, for messages about long bodies.
func tail(s string) string {
	if len(s) > 24 {
		return s[len(s)-24:]
	}
	return s
}

// isProblem matches the warning the ingress app logs for a problem of a
// manifest file at a line.
func isProblem(file string, line int) func(logEntry) bool {
	return func(e logEntry) bool {
		return e.str("level") == "warn" && e.str("logger") == "ingress" && e.str("msg") == "problem" &&
			e.str("object") == "File "+file && e.str("field") == fmt.Sprintf("line %d", line)
	}
}

// TestBrokenManifests checks that manifests that do not parse are
// reported with file and line and change nothing that is served.
func TestBrokenManifests(t *testing.T) {
	t.Parallel()
	good := startBackend(t, "backend-good")
	const host = "good.example.com"
	dir := t.TempDir()
	goodIngress := ingressYAML("good", "", rule{host: host, paths: []ingressPath{{path: "/", pathType: "Prefix", service: "good"}}})
	writeManifest(t, dir, "good-ingress.yaml", goodIngress)
	writeManifest(t, dir, "good-service.yaml", serviceWithEndpoints("good", good))

	broken := []struct {
		name       string
		file       string
		content    string
		wantLine   int
		wantReason string
	}{
		{
			name:       "invalid YAML",
			file:       "tab.yaml",
			content:    "apiVersion: v1\nkind: Service\nmetadata:\n\tname: tabbed\n",
			wantLine:   4,
			wantReason: "cannot start any token",
		},
		{
			name: "unknown field in second document",
			file: "typo.yaml",
			content: serviceYAML("first") + "---\n" +
				"apiVersion: v1\nkind: Service\nmetadata:\n  name: typo\nspec:\n  ports:\n  - port: 80\n  selectr:\n    app: typo\n",
			wantLine:   17,
			wantReason: `unknown field "spec.selectr"`,
		},
	}
	for _, bf := range broken {
		writeManifest(t, dir, bf.file, bf.content)
	}

	c := startCaddy(t, dir)
	cl := newClient(nil)

	for _, bf := range broken {
		t.Run(bf.name, func(t *testing.T) {
			e := c.waitForLog(t, fmt.Sprintf("problem in %s at line %d", bf.file, bf.wantLine), isProblem(bf.file, bf.wantLine))
			if !strings.Contains(e.str("reason"), bf.wantReason) {
				t.Errorf("reason: got %q, want it to contain %q", e.str("reason"), bf.wantReason)
			}
		})
	}

	t.Run("good routes serve", func(t *testing.T) {
		if err := cl.expect(httpURL(c, host, "/"), http.StatusOK, good.name); err != nil {
			t.Error(err)
		}
	})

	// The broken version would only route /other: if any of it were
	// applied, / would answer 404.
	other := ingressYAML("good", "", rule{host: host, paths: []ingressPath{{path: "/other", pathType: "Prefix", service: "good"}}})
	t.Run("broken update keeps the last good version", func(t *testing.T) {
		writeManifest(t, dir, "good-ingress.yaml", other+"  bogus: true\n")
		line := strings.Count(other, "\n") + 1
		e := c.waitForLog(t, fmt.Sprintf("problem in good-ingress.yaml at line %d", line), isProblem("good-ingress.yaml", line))
		if want := `unknown field "spec.bogus"`; !strings.Contains(e.str("reason"), want) {
			t.Errorf("reason: got %q, want it to contain %q", e.str("reason"), want)
		}
		if err := cl.expect(httpURL(c, host, "/"), http.StatusOK, good.name); err != nil {
			t.Error(err)
		}
	})

	t.Run("fixed update applies", func(t *testing.T) {
		writeManifest(t, dir, "good-ingress.yaml", other)
		eventually(t, "/ gone once /other is the only path", func() error {
			return cl.expect(httpURL(c, host, "/"), http.StatusNotFound, "")
		})
		if err := cl.expect(httpURL(c, host, "/other"), http.StatusOK, good.name); err != nil {
			t.Error(err)
		}
		c.waitForLog(t, "problem resolved for good-ingress.yaml", func(e logEntry) bool {
			return e.str("logger") == "ingress" && e.str("msg") == "problem resolved" && e.str("object") == "File good-ingress.yaml"
		})
	})
}

// TestSpecBehaviour checks Ingress path and host matching and Services
// without ready endpoints over real sockets.
func TestSpecBehaviour(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "backend-a")
	b := startBackend(t, "backend-b")
	root := startBackend(t, "backend-root")
	wild := startBackend(t, "backend-wild")
	dir := t.TempDir()
	writeManifest(t, dir, "paths.yaml", ingressYAML("paths", "", rule{host: "paths.example.com", paths: []ingressPath{
		{path: "/foo", pathType: "Exact", service: "svc-a"},
		{path: "/foo/bar", pathType: "Prefix", service: "svc-b"},
		{path: "/", pathType: "Prefix", service: "svc-root"},
	}}))
	writeManifest(t, dir, "wild.yaml", ingressYAML("wild", "", rule{host: "*.wild.example.com", paths: []ingressPath{
		{path: "/", pathType: "Prefix", service: "svc-wild"},
	}}))
	writeManifest(t, dir, "unready.yaml", ingressYAML("unready", "", rule{host: "unready.example.com", paths: []ingressPath{
		{path: "/", pathType: "Prefix", service: "svc-unready"},
	}}))
	writeManifest(t, dir, "svc-a.yaml", serviceWithEndpoints("svc-a", a))
	writeManifest(t, dir, "svc-b.yaml", serviceWithEndpoints("svc-b", b))
	writeManifest(t, dir, "svc-root.yaml", serviceWithEndpoints("svc-root", root))
	writeManifest(t, dir, "svc-wild.yaml", serviceWithEndpoints("svc-wild", wild))
	// Its only endpoint is a live backend that is not ready: sending
	// traffic there anyway would answer 200.
	writeManifest(t, dir, "svc-unready.yaml", serviceYAML("svc-unready")+"---\n"+endpointSliceYAML("svc-unready", a.port, false))

	c := startCaddy(t, dir)
	cl := newClient(nil)

	tests := []struct {
		name       string
		host       string
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "exact", host: "paths.example.com", path: "/foo", wantStatus: http.StatusOK, wantBody: a.name},
		{name: "exact does not match a trailing slash", host: "paths.example.com", path: "/foo/", wantStatus: http.StatusOK, wantBody: root.name},
		{name: "matching is case-sensitive", host: "paths.example.com", path: "/FOO", wantStatus: http.StatusOK, wantBody: root.name},
		{name: "prefix matches itself", host: "paths.example.com", path: "/foo/bar", wantStatus: http.StatusOK, wantBody: b.name},
		{name: "prefix matches by element", host: "paths.example.com", path: "/foo/bar/baz", wantStatus: http.StatusOK, wantBody: b.name},
		{name: "prefix does not match part of an element", host: "paths.example.com", path: "/foo/barbaz", wantStatus: http.StatusOK, wantBody: root.name},
		{name: "wildcard matches one label", host: "a.wild.example.com", path: "/", wantStatus: http.StatusOK, wantBody: wild.name},
		{name: "wildcard does not match two labels", host: "a.b.wild.example.com", path: "/", wantStatus: http.StatusNotFound},
		{name: "wildcard does not match its parent", host: "wild.example.com", path: "/", wantStatus: http.StatusNotFound},
		{name: "service without ready endpoints", host: "unready.example.com", path: "/", wantStatus: http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := cl.expect(httpURL(c, tt.host, tt.path), tt.wantStatus, tt.wantBody); err != nil {
				t.Error(err)
			}
		})
	}
}
