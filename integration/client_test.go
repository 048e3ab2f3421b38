package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// client makes requests to Caddy under real host names while always
// dialing loopback, as curl --resolve does: the URL's port is kept, its
// host only names the virtual host and the TLS server name. It verifies
// certificates against its roots, opens a new connection per request (so
// each HTTPS request makes a handshake) and does not follow redirects.
type client struct {
	http *http.Client
	tls  *tls.Config
}

func newClient(roots *x509.CertPool) *client {
	return newClientTLS(&tls.Config{RootCAs: roots})
}

// newInsecureClient is a client that accepts any certificate, for
// handshakes that are meant to get Caddy's default certificate.
func newInsecureClient() *client {
	return newClientTLS(&tls.Config{InsecureSkipVerify: true})
}

func newClientTLS(cfg *tls.Config) *client {
	return &client{
		tls: cfg,
		http: &http.Client{
			Transport: &http.Transport{
				DialContext:       dialLoopback,
				TLSClientConfig:   cfg,
				DisableKeepAlives: true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       30 * time.Second,
		},
	}
}

// keepAlive returns a copy of c that keeps connections open between
// requests and speaks HTTP/2 over TLS, as browsers do.
func (c *client) keepAlive() *client {
	tr := c.http.Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = false
	tr.ForceAttemptHTTP2 = true
	hc := *c.http
	hc.Transport = tr
	return &client{http: &hc, tls: c.tls}
}

// dialLoopback dials the port of addr on 127.0.0.1, whatever its host.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
}

// dialTLS opens a TLS connection to the loopback port with serverName as
// SNI and the given ALPN protocols.
func (c *client) dialTLS(port int, serverName string, nextProtos ...string) (*tls.Conn, error) {
	cfg := c.tls.Clone()
	cfg.ServerName = serverName
	cfg.NextProtos = nextProtos
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	conn, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	return conn.(*tls.Conn), nil
}

// response is what a test checks of an answer.
type response struct {
	status int
	body   string
	header http.Header
	// leaf is the certificate the server presented; nil over plain HTTP.
	leaf *x509.Certificate
}

// get requests url and reads the whole answer.
func (c *client) get(url string) (*response, error) {
	resp, err := c.http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %w", url, err)
	}
	r := &response{status: resp.StatusCode, body: string(body), header: resp.Header}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.leaf = resp.TLS.PeerCertificates[0]
	}
	return r, nil
}

// expect returns an error unless url answers with status and, if body is
// not empty, that body.
func (c *client) expect(url string, status int, body string) error {
	r, err := c.get(url)
	if err != nil {
		return err
	}
	if r.status != status || (body != "" && r.body != body) {
		return fmt.Errorf("GET %s: got %d %q, want %d %q", url, r.status, strings.TrimSpace(r.body), status, body)
	}
	return nil
}

func httpURL(c *caddyProcess, host, pathQuery string) string {
	return fmt.Sprintf("http://%s:%d%s", host, c.httpPort, pathQuery)
}

func httpsURL(c *caddyProcess, host, pathQuery string) string {
	return fmt.Sprintf("https://%s:%d%s", host, c.httpsPort, pathQuery)
}
