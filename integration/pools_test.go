package integration

import (
	"maps"
	"net/http"
	"slices"
	"testing"
)

// TestSharedConnectionPools checks that Ingresses whose paths differ in
// their annotations but go to the same Service with the same transport
// settings reuse one keep-alive connection to it, in cleartext and over
// TLS, while other transport settings get connections of their own.
func TestSharedConnectionPools(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "pools backend CA", nil)
	plain := startRecordingBackend(t, "plain", nil)
	secure := startRecordingBackend(t, "secure", &backendTLSConfig{cert: ca.issue(t, "secure.default.svc")})
	https := nginxAnnotations("backend-protocol", "HTTPS", "proxy-ssl-secret", "default/backend-ca", "proxy-ssl-verify", "on")
	with := func(base map[string]string, nameValues ...string) map[string]string {
		m := maps.Clone(base)
		if m == nil {
			m = map[string]string{}
		}
		maps.Copy(m, nginxAnnotations(nameValues...))
		return m
	}
	ingresses := []annotatedIngress{
		{name: "vhost", service: "plain", annotations: with(nil, "upstream-vhost", "vhost.internal")},
		{name: "snippet", service: "plain", annotations: with(nil, "configuration-snippet", `more_set_headers "X-Route: snippet";`)},
		{name: "timeout", service: "plain", annotations: with(nil, "proxy-read-timeout", "30")},
		{name: "tls-vhost", service: "secure", annotations: with(https, "upstream-vhost", "vhost.internal")},
		{name: "tls-snippet", service: "secure", annotations: with(https, "configuration-snippet", `more_set_headers "X-Route: snippet";`)},
	}
	dir := t.TempDir()
	writeManifest(t, dir, "backend-ca.yaml", opaqueSecretYAML("backend-ca", map[string][]byte{"ca.crt": caPEM(ca)}))
	writeManifest(t, dir, "plain-service.yaml", plain.serviceFor("plain"))
	writeManifest(t, dir, "secure-service.yaml", secure.serviceFor("secure"))
	for _, in := range ingresses {
		in.hosts = []string{in.name + ".pools.example.com"}
		writeManifest(t, dir, in.name+"-ingress.yaml", in.yaml())
	}
	c := startCaddy(t, dir)
	cl := newClient(nil)

	// get requests the Ingress's host in turn and returns the
	// connections the backend saw them on.
	get := func(t *testing.T, be *recordingBackend, names ...string) []string {
		t.Helper()
		var remotes []string
		for _, name := range names {
			r, err := cl.get(httpURL(c, name+".pools.example.com", "/"))
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusOK || r.body != be.name {
				t.Fatalf("%s: got %d %q, want 200 %q", name, r.status, r.body, be.name)
			}
			seen := be.takeOne(t)
			if name == "vhost" || name == "tls-vhost" {
				if seen.host != "vhost.internal" {
					t.Errorf("%s: backend saw Host %q, want vhost.internal", name, seen.host)
				}
			} else if seen.host == "vhost.internal" {
				t.Errorf("%s: backend saw the other Ingress's Host", name)
			}
			wantRoute := ""
			if name == "snippet" || name == "tls-snippet" {
				wantRoute = "snippet"
			}
			if got := r.header.Get("X-Route"); got != wantRoute {
				t.Errorf("%s: got X-Route %q, want %q", name, got, wantRoute)
			}
			remotes = append(remotes, seen.remote)
		}
		return remotes
	}
	distinct := func(remotes []string) []string {
		return slices.Compact(slices.Sorted(slices.Values(remotes)))
	}

	t.Run("cleartext", func(t *testing.T) {
		remotes := get(t, plain, "vhost", "snippet", "vhost", "snippet")
		if conns := distinct(remotes); len(conns) != 1 {
			t.Fatalf("got requests on connections %v, want them all on one", remotes)
		}
		other := get(t, plain, "timeout")
		if other[0] == remotes[0] {
			t.Errorf("the path with another read timeout used connection %s of the others, want one of its own", other[0])
		}
	})
	t.Run("TLS", func(t *testing.T) {
		remotes := get(t, secure, "tls-vhost", "tls-snippet", "tls-vhost", "tls-snippet")
		if conns := distinct(remotes); len(conns) != 1 {
			t.Fatalf("got requests on connections %v, want them all on one", remotes)
		}
	})
}
