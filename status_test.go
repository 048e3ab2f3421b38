package caddyingress

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestStatusEndpoint: GET /ingress/status names the hosts and paths with
// their Ingress, type and Service port, the certificate with its Secret
// and expiry, and the problem.
func TestStatusEndpoint(t *testing.T) {
	app := runApp(t)
	api := &AdminAPI{}
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		if err := api.serveStatus(w, httptest.NewRequest(http.MethodGet, statusEndpoint, nil)); err != nil {
			t.Fatalf("GET %s: %v", statusEndpoint, err)
		}
		return w
	}
	app.status.Store(nil) // as before the first snapshot (the test source applies an empty one at start)
	w := httptest.NewRecorder()
	err := api.serveStatus(w, httptest.NewRequest(http.MethodGet, statusEndpoint, nil))
	if apiErr, ok := err.(interface{ Error() string }); !ok || !strings.Contains(apiErr.Error(), "not applied a snapshot yet") {
		t.Errorf("before the first snapshot: got %v, want an error saying so", err)
	}

	snap, leaf := statusSnapshot(t)
	before := time.Now()
	app.update(snap, nil)
	var got statusReport
	if err := json.Unmarshal(get().Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.AppliedAt.Before(before) {
		t.Errorf("applied_at: got %v, want after %v", got.AppliedAt, before)
	}
	wantHosts := []statusHost{
		{Host: "a.example.com", TLS: true, Paths: []statusPath{
			{Path: "/api/", Type: "Prefix", statusBackend: statusBackend{Ingress: "default/a", Service: "default/svc-a:80"}},
			{Path: "/health", Type: "Exact", statusBackend: statusBackend{Ingress: "default/a", Service: "default/svc-a:80"}},
		}},
		{Host: "b.example.com", TLS: true, Paths: []statusPath{
			{Path: "/", Type: "Prefix", statusBackend: statusBackend{Ingress: "default/b", Service: "default/svc-b:80"}},
		}},
	}
	if g, w := mustJSON(t, got.Hosts), mustJSON(t, wantHosts); g != w {
		t.Errorf("hosts: got %s, want %s", g, w)
	}
	if len(got.Certificates) != 1 {
		t.Fatalf("certificates: got %d, want 1", len(got.Certificates))
	}
	c := got.Certificates[0]
	if c.Secret != "default/a-tls" || strings.Join(c.Names, ",") != "a.example.com" || !c.NotAfter.Equal(leaf.NotAfter) || !c.NotBefore.Equal(leaf.NotBefore) || c.SHA256 == "" {
		t.Errorf("certificate: got %+v, want default/a-tls for a.example.com, not after %v", c, leaf.NotAfter)
	}
	if got.DefaultCertificate != nil {
		t.Errorf("default certificate: got %+v, want none (self-signed)", got.DefaultCertificate)
	}
	if len(got.Problems) != 1 || got.Problems[0].Object != (ingress.ObjectRef{Kind: "Ingress", Namespace: "default", Name: "b"}) || got.Problems[0].Field != "spec.tls[0].secretName" {
		t.Errorf("problems: got %+v, want one of Ingress default/b at spec.tls[0].secretName", got.Problems)
	}

	// Source problems are reported too, and an endpoint-only change
	// keeps the hosts.
	fileProblem := ingress.Problem{Object: ingress.ObjectRef{Kind: "File", Name: "bad.yaml"}, Field: "line 3", Reason: "does not parse"}
	app.update(snap, []ingress.Problem{fileProblem})
	got = statusReport{}
	if err := json.Unmarshal(get().Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Problems) != 2 || got.Problems[1] != fileProblem || len(got.Hosts) != 2 {
		t.Errorf("with a source problem: got problems %+v and %d hosts, want 2 problems (the file's last) and 2 hosts", got.Problems, len(got.Hosts))
	}

	// The readable form names it all.
	var out bytes.Buffer
	writeStatus(&out, &got, got.AppliedAt.Add(time.Minute))
	for _, want := range []string{"a.example.com [tls]", "/api/", "Prefix", "/health", "Exact", "default/a", "default/svc-a:80", "default/a-tls", "not after " + leaf.NotAfter.UTC().Format(time.RFC3339), "Ingress default/b: spec.tls[0].secretName:", "File bad.yaml: line 3: does not parse", "(1m0s ago)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("readable status lacks %q:\n%s", want, out.String())
		}
	}
}

// TestStatusEndpointMethod: only GET is served.
func TestStatusEndpointMethod(t *testing.T) {
	err := (&AdminAPI{}).serveStatus(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, statusEndpoint, nil))
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("POST: got %v, want method not allowed", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
