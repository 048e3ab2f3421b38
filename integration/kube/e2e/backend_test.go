package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// nextIP hands out addresses of 192.0.2.0/24 (routed to lo in the test's
// network namespace) so that backends never collide.
var nextIP atomic.Int32

func backendIP() string {
	return fmt.Sprintf("192.0.2.%d", 10+nextIP.Add(1)%240)
}

// backend is an HTTP server on a 192.0.2.x address that answers every
// request with its name.
type backend struct {
	name string
	ip   string
	port int32
}

func startBackend(t testing.TB, name string) *backend {
	t.Helper()
	return startBackendOn(t, name, 0)
}

// startBackendOn starts a backend on a new address and the given port (0:
// any). Endpoints of one EndpointSlice share their port.
func startBackendOn(t testing.TB, name string, port int32) *backend {
	t.Helper()
	ip := backendIP()
	l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, ip)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &backend{name: name, ip: ip, port: int32(l.Addr().(*net.TCPAddr).Port)}
}

// client sends requests for real host names to the given Caddy port on
// loopback, like curl --resolve; it trusts roots and follows no redirects.
type client struct {
	http *http.Client
	port int
	tls  bool
}

func newClient(port int, useTLS bool, roots *tlsRoots) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
		DisableKeepAlives: true,
	}
	if useTLS {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: roots == nil}
		if roots != nil {
			tr.TLSClientConfig.RootCAs = roots.pool
		}
	}
	return &client{
		http: &http.Client{Transport: tr, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		port: port, tls: useTLS,
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
	cp := *c
	cp.http = &hc
	return &cp
}

type response struct {
	status int
	body   string
	cert   []byte // leaf presented, over TLS
	header http.Header
}

func (c *client) get(host, path string) (response, error) {
	scheme := "http"
	if c.tls {
		scheme = "https"
	}
	resp, err := c.http.Get(fmt.Sprintf("%s://%s:%d%s", scheme, host, c.port, path))
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	r := response{status: resp.StatusCode, body: string(body), header: resp.Header}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.cert = resp.TLS.PeerCertificates[0].Raw
	}
	return r, nil
}

// expect polls until host+path answers status with a body that starts
// with bodyPrefix ("" for any body).
func (c *client) expect(t testing.TB, host, path string, status int, bodyPrefix string) response {
	t.Helper()
	return c.expectWithin(t, host, path, status, bodyPrefix, 15*time.Second)
}

// expectWithin is expect with a timeout of its own.
func (c *client) expectWithin(t testing.TB, host, path string, status int, bodyPrefix string, timeout time.Duration) response {
	t.Helper()
	var last response
	eventually(t, fmt.Sprintf("%s%s answers %d %q", host, path, status, bodyPrefix), timeout, func() error {
		r, err := c.get(host, path)
		if err != nil {
			return err
		}
		last = r
		if r.status != status || len(r.body) < len(bodyPrefix) || r.body[:len(bodyPrefix)] != bodyPrefix {
			return fmt.Errorf("got %d %q", r.status, r.body)
		}
		return nil
	})
	return last
}
