package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// TestTLSSessionResumption reconnects with the session ticket of a first
// connection: a host with a certificate from a Secret resumes (a
// reconnect costs no certificate, no signature), and a host that asks for
// client certificates (auth-tls-secret) does not, as Caddy issues no
// tickets under client authentication. The site is the ingress directive's
// HTTPS site with its client certificate policies: their catch-all must
// leave tickets on.
func TestTLSSessionResumption(t *testing.T) {
	t.Parallel()
	serverCA := newCA(t, "server CA", nil)
	clientCA := newCA(t, "client CA", nil)
	const (
		plainHost = "resume.example.com"
		mtlsHost  = "mtls.resume.example.com"
	)
	dir := t.TempDir()
	writeManifest(t, dir, "tls.yaml", secretYAML("resume-tls", serverCA.issue(t, plainHost, mtlsHost)))
	writeManifest(t, dir, "client-ca.yaml", opaqueSecretYAML("client-ca", map[string][]byte{"ca.crt": caPEM(clientCA)}))
	plainBE := startRecordingBackend(t, "plain", nil)
	mtlsBE := startRecordingBackend(t, "mtls", nil)
	for _, in := range []struct {
		in annotatedIngress
		be *recordingBackend
	}{
		{annotatedIngress{name: "plain", service: "plain", hosts: []string{plainHost}, tlsSecret: "resume-tls"}, plainBE},
		{annotatedIngress{name: "mtls", service: "mtls", hosts: []string{mtlsHost}, tlsSecret: "resume-tls", annotations: map[string]string{
			nginxAnnotation + "auth-tls-secret":        "default/client-ca",
			nginxAnnotation + "auth-tls-verify-client": "optional",
		}}, mtlsBE},
	} {
		writeManifest(t, dir, in.in.name+"-ingress.yaml", in.in.yaml())
		writeManifest(t, dir, in.in.name+"-service.yaml", in.be.serviceFor(in.in.service))
	}
	c := startCaddy(t, dir)
	cl := newClient(serverCA.pool)
	for _, host := range []string{plainHost, mtlsHost} {
		eventually(t, host+" served", func() error { return cl.expect(httpsURL(c, host, "/"), http.StatusOK, "") })
	}

	for _, tt := range []struct {
		name, host string
		wantResume bool
	}{
		{"secret certificate", plainHost, true},
		{"client certificates", mtlsHost, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh session cache: the first connection cannot resume.
			resuming := newClientTLS(&tls.Config{RootCAs: serverCA.pool, ClientSessionCache: tls.NewLRUClientSessionCache(4)})
			for i, wantResume := range []bool{false, tt.wantResume} {
				resumed, err := requestOnce(resuming, c.httpsPort, tt.host)
				if err != nil {
					t.Fatalf("connection %d: %v", i+1, err)
				}
				if resumed != wantResume {
					t.Errorf("connection %d to %s: got resumed %v, want %v", i+1, tt.host, resumed, wantResume)
				}
			}
		})
	}
}

// requestOnce makes one connection to host, sends one request, reads the
// answer (and with it any session ticket that came before it) and reports
// whether the connection resumed a session.
func requestOnce(cl *client, port int, host string) (bool, error) {
	conn, err := cl.dialTLS(port, host, "http/1.1")
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		return false, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET https://%s/: got %d, want 200", host, resp.StatusCode)
	}
	return conn.ConnectionState().DidResume, nil
}
