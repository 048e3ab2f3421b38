package integration

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startBulkBackend starts a backend that answers /bulk?bytes=N with N
// bytes (with Content-Length), and every request with the Connection
// header it received (X-Seen-Connection) and the client port of the
// connection it came on (X-Seen-Peer). It stops when the test ends.
func startBulkBackend(t *testing.T, name string) *backend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, port: l.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Backend", b.name)
		h.Set("X-Seen-Connection", strings.Join(r.Header.Values("Connection"), ", "))
		h.Set("X-Seen-Peer", r.RemoteAddr)
		n, err := strconv.Atoi(r.URL.Query().Get("bytes"))
		if err != nil {
			n = 0
		}
		h.Set("Content-Length", strconv.Itoa(n))
		io.Copy(w, io.LimitReader(zeros{}, int64(n)))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return b
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLimitRate: with limit-rate and limit-rate-after a large response
// arrives whole and no faster than the rate allows past the first
// kilobytes; only a lower bound on its duration is asserted.
func TestLimitRate(t *testing.T) {
	t.Parallel()
	be := startBulkBackend(t, "bulk")
	dir := t.TempDir()
	writeIngresses(t, dir, routingIngress{name: "paced", host: "paced.example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "bulk"}},
		annotations: nginxAnnotations("limit-rate", "64", "limit-rate-after", "64")})
	writeManifest(t, dir, "bulk.yaml", serviceWithEndpoints("bulk", be))
	c := startCaddy(t, dir)
	cl := newClient(nil)

	// 64 KiB at full speed, then 192 KiB at 64 KiB/s: 3 s less the
	// last piece (6.4 KiB, 0.1 s).
	const size = 256 << 10
	start := time.Now()
	r, err := cl.get(httpURL(c, "paced.example.com", "/bulk?bytes="+strconv.Itoa(size)))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || len(r.body) != size {
		t.Fatalf("got %d with %d bytes, want 200 with %d", r.status, len(r.body), size)
	}
	if least := 2500 * time.Millisecond; took < least {
		t.Errorf("took %v, want at least %v at 64 KiB/s", took, least)
	}
}

// TestConnectionProxyHeader: connection-proxy-header's value reaches the
// backend; with close every request comes over a new connection, with
// keep-alive (and by default) connections are reused.
func TestConnectionProxyHeader(t *testing.T) {
	t.Parallel()
	be := startBulkBackend(t, "conn")
	dir := t.TempDir()
	ing := func(name, value string) routingIngress {
		r := routingIngress{name: name, host: name + ".example.com", paths: []ingressPath{{path: "/", pathType: "Prefix", service: "conn"}}}
		if value != "" {
			r.annotations = nginxAnnotations("connection-proxy-header", value)
		}
		return r
	}
	writeIngresses(t, dir, ing("close", "close"), ing("keep-alive", "keep-alive"), ing("default", ""))
	writeManifest(t, dir, "conn.yaml", serviceWithEndpoints("conn", be))
	c := startCaddy(t, dir)
	cl := newClient(nil)

	tests := []struct {
		host       string
		connection string
		reused     bool
	}{
		{host: "close", connection: "close"},
		{host: "keep-alive", connection: "keep-alive", reused: true},
		{host: "default", reused: true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			peers := make(map[string]bool)
			const n = 3
			for range n {
				r, err := cl.get(httpURL(c, tt.host+".example.com", "/"))
				if err != nil {
					t.Fatal(err)
				}
				if r.status != http.StatusOK {
					t.Fatalf("got %d, want 200", r.status)
				}
				if got := r.header.Get("X-Seen-Connection"); got != tt.connection {
					t.Errorf("backend got Connection %q, want %q", got, tt.connection)
				}
				peers[r.header.Get("X-Seen-Peer")] = true
			}
			if tt.reused && len(peers) == n {
				t.Errorf("%d requests came over %d connections, want some reused", n, len(peers))
			}
			if !tt.reused && len(peers) != n {
				t.Errorf("%d requests came over %d connections, want one each", n, len(peers))
			}
		})
	}
}
