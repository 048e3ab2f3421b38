package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunkInterval is how often /slow writes a chunk.
const chunkInterval = 50 * time.Millisecond

// backend is an HTTP server on loopback standing for the pods of a
// Service. It answers with its name, so a test can tell who answered, and
// has two endpoints for long-lived requests:
//
//   - /slow?for=<duration> streams "chunk <n>" lines, one every
//     chunkInterval, for the duration, then an "end" line.
//   - /ws answers a request with "Upgrade: websocket" with 101 Switching
//     Protocols and then echoes every byte it reads (a raw upgrade, no
//     WebSocket framing).
//
// Every other answer says what reached the backend, in response headers:
// X-Seen-Uri (the request URI as received), X-Seen-Host, X-Seen-Method,
// and X-Seen-Header-<Name> for each of seenHeaders the request has. Its
// query can ask for more: ?status=NNN answers with that status (the body
// is still the name), ?location=<url> sets Location, ?cookie=<value> adds
// a Set-Cookie, ?refresh=<value> sets Refresh and ?sleep=<duration> waits
// that long before answering. X-Seen-Body-Bytes is the size of the request
// body it read.
type backend struct {
	name string
	port int

	mu    sync.Mutex
	conns []net.Conn // hijacked by /ws
}

// startBackend starts a backend that stops when the test ends.
func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, port: l.Addr().(*net.TCPAddr).Port}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", b.slow)
	mux.HandleFunc("/ws", b.upgrade)
	mux.HandleFunc("/", b.answer)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	return b
}

// seenHeaders are the request headers a backend echoes as
// X-Seen-Header-<Name>: those that proxies and error pages set.
var seenHeaders = []string{
	"Authorization",
	"X-Real-Ip",
	"X-Forwarded-For",
	"X-Forwarded-Host",
	"X-Original-Forwarded-For",
	"X-Original-Forwarded-Host",
	"Via",
	"X-Forwarded-Port",
	"X-Forwarded-Proto",
	"X-Forwarded-Scheme",
	"X-Scheme",
	"Proxy",
	"X-Forwarded-Prefix",
	"X-Code",
	"X-Format",
	"X-Original-Uri",
	"X-Namespace",
	"X-Ingress-Name",
	"X-Service-Name",
	"X-Service-Port",
	"X-Request-Id",
	"X-User",
	"X-Auth-Seen",
	"X-Tenant",
	"X-Orig",
	"X-Arg",
	"X-Env",
	"Cookie",
	"Traceparent",
	"Tracestate",
}

// answer answers with the backend's name, says what it received and does
// what the query asks (see backend).
func (b *backend) answer(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Backend", b.name)
	h.Set("X-Seen-Uri", r.RequestURI)
	h.Set("X-Seen-Host", r.Host)
	h.Set("X-Seen-Method", r.Method)
	for _, name := range seenHeaders {
		if v := r.Header.Values(name); len(v) > 0 {
			h.Set("X-Seen-Header-"+name, strings.Join(v, ", "))
		}
	}
	q := r.URL.Query()
	if v := q.Get("sleep"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			http.Error(w, "sleep: "+err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	n, _ := io.Copy(io.Discard, r.Body)
	h.Set("X-Seen-Body-Bytes", strconv.FormatInt(n, 10))
	if v := q.Get("location"); v != "" {
		h.Set("Location", v)
	}
	if v := q.Get("cookie"); v != "" {
		h.Add("Set-Cookie", v)
	}
	for _, v := range q["header"] {
		if name, value, ok := strings.Cut(v, ":"); ok {
			h.Add(name, value)
		}
	}
	if v := q.Get("refresh"); v != "" {
		h.Set("Refresh", v)
	}
	status := http.StatusOK
	if v := q.Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 200 || n > 599 {
			http.Error(w, fmt.Sprintf("status %q: want a number from 200 to 599", v), http.StatusBadRequest)
			return
		}
		status = n
	}
	w.WriteHeader(status)
	io.WriteString(w, b.name)
}

// slowChunks is the body /slow sends for a duration.
func slowChunks(d time.Duration) string {
	var sb strings.Builder
	for i := range int(d / chunkInterval) {
		fmt.Fprintf(&sb, "chunk %d\n", i)
	}
	sb.WriteString("end\n")
	return sb.String()
}

func (b *backend) slow(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("for"))
	if err != nil {
		http.Error(w, "for: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Backend", b.name)
	w.Header().Set("Content-Type", "text/plain")
	rc := http.NewResponseController(w)
	tick := time.NewTicker(chunkInterval)
	defer tick.Stop()
	for i := range int(d / chunkInterval) {
		fmt.Fprintf(w, "chunk %d\n", i)
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
	io.WriteString(w, "end\n")
}

func (b *backend) upgrade(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "want Upgrade: websocket", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b.mu.Lock()
	b.conns = append(b.conns, conn)
	b.mu.Unlock()
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: %s\r\n\r\n", b.name)
	if err := brw.Flush(); err != nil {
		return
	}
	// brw.Reader may hold bytes the client sent right after the request.
	_, _ = io.Copy(conn, brw.Reader)
}

// dialUpgrade opens an upgraded connection to path on host through Caddy's
// HTTPS port, over HTTP/1.1 (upgrades need it), and checks the 101.
func dialUpgrade(t *testing.T, c *caddyProcess, cl *client, host, path string) *upgradedConn {
	t.Helper()
	conn, err := cl.dialTLS(c.httpsPort, host, "http/1.1")
	if err != nil {
		t.Fatalf("dialing %s over TLS: %v", host, err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", path, host)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("reading upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status: got %d, want %d", resp.StatusCode, http.StatusSwitchingProtocols)
	}
	return &upgradedConn{conn: conn, r: r, backend: resp.Header.Get("X-Backend")}
}

// upgradedConn is the client end of an upgraded connection to a backend's
// echo.
type upgradedConn struct {
	conn    net.Conn
	r       *bufio.Reader
	backend string
}

// echo sends a line and reads it back.
func (u *upgradedConn) echo(line string) error {
	if err := u.conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(u.conn, line+"\n"); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	got, err := u.r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading echo: %w", err)
	}
	if got != line+"\n" {
		return fmt.Errorf("echo: got %q, want %q", got, line+"\n")
	}
	return nil
}
