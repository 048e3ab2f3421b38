package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// TestHTTP3 serves an Ingress over HTTP/3 (QUIC on the HTTPS port's UDP
// twin) with `protocols h1 h2 h3`, as deploy/ and the chart's http3 value
// configure Caddy: a QUIC client gets the backend's answer, and answers
// over TCP advertise h3 in Alt-Svc. With `protocols h1 h2` (the UDP port
// not exposed) no Alt-Svc is sent and nothing listens on UDP.
func TestHTTP3(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "h3 CA", nil)
	const host = "h3.example.com"
	dir := t.TempDir()
	be := startRecordingBackend(t, "h3", nil)
	writeManifest(t, dir, "tls.yaml", secretYAML("h3-tls", ca.issue(t, host)))
	writeManifest(t, dir, "ingress.yaml", annotatedIngress{name: "h3", service: "h3", hosts: []string{host}, tlsSecret: "h3-tls"}.yaml())
	writeManifest(t, dir, "service.yaml", be.serviceFor("h3"))
	tcp := newClient(ca.pool).keepAlive()

	t.Run("h3 on", func(t *testing.T) {
		t.Parallel()
		c := startCaddyWithConfig(t, dir, strings.Replace(caddyfileTemplate, "protocols h1 h2\n", "protocols h1 h2 h3\n", 1))
		eventually(t, host+" served", func() error { return tcp.expect(httpsURL(c, host, "/"), http.StatusOK, "h3") })

		r, err := tcp.get(httpsURL(c, host, "/"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.header.Get("Alt-Svc"), fmt.Sprintf(`h3=":%d"`, c.httpsPort); !strings.Contains(got, want) {
			t.Errorf("Alt-Svc over TCP: got %q, want it to contain %s", got, want)
		}
		be.take()

		h3 := &http3.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.pool},
			QUICConfig:      &quic.Config{HandshakeIdleTimeout: 5 * time.Second},
			Dial:            dialQUICLoopback,
		}
		defer h3.Close()
		cl := &http.Client{Transport: h3, Timeout: 30 * time.Second}
		resp, err := cl.Get(httpsURL(c, host, "/"))
		if err != nil {
			t.Fatalf("GET over HTTP/3: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 3 || resp.StatusCode != http.StatusOK || string(body) != "h3" {
			t.Errorf("GET over HTTP/3: got %s %d %q, want HTTP/3.0 200 %q", resp.Proto, resp.StatusCode, body, "h3")
		}
		if got := resp.TLS; got == nil || got.ServerName != host || len(got.PeerCertificates) == 0 || got.PeerCertificates[0].Subject.CommonName != host {
			t.Errorf("HTTP/3 TLS state: got %+v, want the Secret's certificate for %s", got, host)
		}
		if seen, want := be.takeOne(t), fmt.Sprintf("%s:%d", host, c.httpsPort); seen.host != want {
			t.Errorf("backend saw Host %q, want %q", seen.host, want)
		}
	})

	t.Run("h3 off", func(t *testing.T) {
		t.Parallel()
		c := startCaddy(t, dir)
		eventually(t, host+" served", func() error { return tcp.expect(httpsURL(c, host, "/"), http.StatusOK, "h3") })
		r, err := tcp.get(httpsURL(c, host, "/"))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.header.Values("Alt-Svc"); len(got) != 0 {
			t.Errorf("Alt-Svc without h3: got %q, want none", got)
		}
		// Nothing of Caddy's listens on the UDP port: binding it succeeds.
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", c.httpsPort))
		if err != nil {
			t.Errorf("UDP port %d without h3: %v, want it free", c.httpsPort, err)
		} else {
			pc.Close()
		}
	})
}

// dialQUICLoopback dials the port of addr on 127.0.0.1 over QUIC, whatever
// its host; the TLS server name is the URL's host, set by http3.Transport.
func dialQUICLoopback(ctx context.Context, addr string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	return quic.DialAddrEarly(ctx, net.JoinHostPort("127.0.0.1", port), tlsCfg, cfg)
}
