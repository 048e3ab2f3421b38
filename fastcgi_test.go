package caddyingress

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// startFastCGI serves FastCGI on loopback; the params of each request
// are sent on the returned channel, all of them (net/http/fcgi's
// ProcessEnv leaves out those it turns into the request, SCRIPT_NAME and
// PATH_INFO among them, so they are read off the wire). It stops when the
// test ends.
func startFastCGI(t *testing.T) (string, <-chan map[string]string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan map[string]string, 10)
	done := make(chan struct{})
	tl := &teeListener{Listener: l}
	go func() {
		defer close(done)
		_ = fcgi.Serve(tl, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The server read every params record before it called
			// the handler; the tests send one request at a time, each
			// on a connection of its own.
			seen <- fastcgiParams(tl.last())
			_, _ = w.Write([]byte("hello"))
		}))
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String(), seen
}

// teeListener keeps what is read from the connection accepted last.
type teeListener struct {
	net.Listener
	mu   sync.Mutex
	conn *teeConn
}

type teeConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *teeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &teeConn{Conn: c}
	l.mu.Lock()
	l.conn = tc
	l.mu.Unlock()
	return tc, nil
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.buf.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// last returns what was read so far from the connection accepted last.
func (l *teeListener) last() []byte {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// fastcgiParams decodes the name-value pairs of the FCGI_PARAMS records
// (type 4) in the records of b.
func fastcgiParams(b []byte) map[string]string {
	var stream []byte
	for len(b) >= 8 {
		typ, n, pad := b[1], int(binary.BigEndian.Uint16(b[4:6])), int(b[6])
		if len(b) < 8+n+pad {
			break
		}
		if typ == 4 {
			stream = append(stream, b[8:8+n]...)
		}
		b = b[8+n+pad:]
	}
	size := func() int {
		if len(stream) == 0 {
			return -1
		}
		if stream[0]&0x80 == 0 {
			n := int(stream[0])
			stream = stream[1:]
			return n
		}
		if len(stream) < 4 {
			return -1
		}
		n := int(binary.BigEndian.Uint32(stream[:4]) & 0x7fffffff)
		stream = stream[4:]
		return n
	}
	params := make(map[string]string)
	for {
		kn, vn := size(), size()
		if kn < 0 || vn < 0 || len(stream) < kn+vn {
			return params
		}
		params[string(stream[:kn])] = string(stream[kn : kn+vn])
		stream = stream[kn+vn:]
	}
}

func TestFastCGITransport(t *testing.T) {
	addr, seen := startFastCGI(t)
	_, ctx := proxyContext(t)
	transport := `{"protocol":"ingress_fastcgi","index":"index.php","params":[
		{"name":"SCRIPT_FILENAME","value":[{"text":"/var/www/html"},{"var":"fastcgi_script_name"}]},
		{"name":"LITERAL","value":[{"text":"{env.HOME}"}]},
		{"name":"WHAT","value":[{"var":"request_method"},{"text":" "},{"var":"scheme"},{"text":"://"},{"var":"host"},{"var":"request_uri"}]},
		{"name":"REDIRECT_STATUS"}]}`
	h := compileProxy(t, ctx, addr, transport)
	for _, tt := range []struct {
		name, target string
		want         map[string]string
	}{
		{name: "index on a directory", target: "http://App.example.com:8080/blog/?p=1", want: map[string]string{
			"SCRIPT_NAME":     "/blog/index.php",
			"SCRIPT_FILENAME": "/var/www/html/blog/index.php",
			"DOCUMENT_URI":    "/blog/",
			"DOCUMENT_ROOT":   "",
			"PATH_INFO":       "",
			"PATH_TRANSLATED": "",
			"REDIRECT_STATUS": "",
			"QUERY_STRING":    "p=1",
			"REQUEST_URI":     "/blog/?p=1",
			"HTTP_HOST":       "App.example.com:8080",
			"LITERAL":         "{env.HOME}",
			"WHAT":            "GET http://app.example.com/blog/?p=1",
		}},
		{name: "a file", target: "http://app.example.com/a//b/../info.php", want: map[string]string{
			"SCRIPT_NAME":     "/a/info.php",
			"SCRIPT_FILENAME": "/var/www/html/a/info.php",
			"DOCUMENT_URI":    "/a/info.php",
			"WHAT":            "GET http://app.example.com/a//b/../info.php",
		}},
		{name: "defaults", target: "http://app.example.com/x.php", want: map[string]string{
			"PATH_INFO":         "",
			"SCRIPT_NAME":       "/x.php",
			"GATEWAY_INTERFACE": "CGI/1.1",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			req.Header.Set("Proxy", "http://evil")
			w := httptest.NewRecorder()
			req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), w, new(caddyhttp.Server))
			if err := h.ServeHTTP(w, req); err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusOK || w.Body.String() != "hello" {
				t.Fatalf("got %d %q, want 200 hello", w.Code, w.Body.String())
			}
			env := <-seen
			for k, want := range tt.want {
				if got := env[k]; got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
			if v, ok := env["HTTP_PROXY"]; ok {
				t.Errorf("HTTP_PROXY: got %q, want none (httpoxy)", v)
			}
		})
	}
}

func TestFastCGITransportRefuses(t *testing.T) {
	_, ctx := proxyContext(t)
	for _, tt := range []struct{ name, transport string }{
		{name: "param name", transport: `{"params":[{"name":"A-B"}]}`},
		{name: "unknown variable", transport: `{"params":[{"name":"A","value":[{"var":"document_root"}]}]}`},
		{name: "index with a slash", transport: `{"index":"../x.php"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tr FastCGITransport
			if err := json.Unmarshal([]byte(tt.transport), &tr); err != nil {
				t.Fatal(err)
			}
			if err := tr.Provision(ctx); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}
