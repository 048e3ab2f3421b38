package caddyingress

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// mirrorWait bounds how long a test waits for a copy to arrive.
const mirrorWait = 5 * time.Second

// mirrorCopy is what a mirror received.
type mirrorCopy struct {
	method, uri, host, body, contentLength, expect, hop string
}

// startMirror starts a mirror on loopback that sends what it receives to
// the returned channel and answers 500 (which must change nothing).
func startMirror(t *testing.T) (port string, copies chan mirrorCopy) {
	t.Helper()
	copies = make(chan mirrorCopy, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		copies <- mirrorCopy{method: r.Method, uri: r.RequestURI, host: r.Host, body: string(body),
			contentLength: r.Header.Get("Content-Length"), expect: r.Header.Get("Expect"), hop: r.Header.Get("X-Hop")}
		http.Error(w, "mirror fails", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	_, port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	return port, copies
}

// newTestMirror is a Mirror whose client may reach loopback.
func newTestMirror(t *testing.T, h *Mirror) *Mirror {
	t.Helper()
	if err := h.check(); err != nil {
		t.Fatal(err)
	}
	h.client = &mirrorClient{dialGuard: dialGuard{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}
	t.Cleanup(func() { h.client.close(mirrorWait) })
	return h
}

// backendRead is a next handler that reads the whole body, as the proxy
// does, and answers 200 "backend".
func backendRead(got *string, readErr *error) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, err := io.ReadAll(r.Body)
		*got, *readErr = string(b), err
		_, _ = io.WriteString(w, "backend")
		return nil
	})
}

func serveMirrored(t *testing.T, h *Mirror, r *http.Request) (backendBody string) {
	t.Helper()
	var readErr error
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, r, backendRead(&backendBody, &readErr)); err != nil {
		t.Fatal(err)
	}
	if readErr != nil {
		t.Fatalf("the backend could not read the body: %v", readErr)
	}
	if rec.Code != 200 || rec.Body.String() != "backend" {
		t.Fatalf("the client got %d %q, want the backend's 200", rec.Code, rec.Body.String())
	}
	return backendBody
}

func mirrorRequest(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RequestURI = r.URL.RequestURI() // as a server sees it
	return r
}

// TestMirrorCopies: the mirror gets the method, URI, Host and body of
// each request while the backend gets the whole body and the client the
// backend's answer.
func TestMirrorCopies(t *testing.T) {
	port, copies := startMirror(t)
	mirror := "http://127.0.0.1:" + port
	for _, tt := range []struct {
		name string
		h    Mirror
		// target is the request's; body its body.
		method, target, body string
		want                 mirrorCopy
	}{
		{name: "request_uri appended", h: Mirror{URL: mirror, RequestURI: true}, method: "POST", target: "http://app.example.com/a/b%20c?x=1&y=2", body: "hello",
			want: mirrorCopy{method: "POST", uri: "/a/b%20c?x=1&y=2", host: "127.0.0.1", body: "hello", contentLength: "5"}},
		{name: "request_uri after a path", h: Mirror{URL: mirror + "/copy/", RequestURI: true, Host: "copies.example.com"}, method: "PUT", target: "http://app.example.com/a", body: "x",
			want: mirrorCopy{method: "PUT", uri: "/copy//a", host: "copies.example.com", body: "x", contentLength: "1"}},
		{name: "fixed path gets the query", h: Mirror{URL: mirror + "/mirror"}, method: "GET", target: "http://app.example.com/a?q=1",
			want: mirrorCopy{method: "GET", uri: "/mirror?q=1", host: "127.0.0.1"}},
		{name: "no path is /", h: Mirror{URL: mirror}, method: "GET", target: "http://app.example.com/a",
			want: mirrorCopy{method: "GET", uri: "/", host: "127.0.0.1"}},
		{name: "no body", h: Mirror{URL: mirror, RequestURI: true, NoBody: true}, method: "POST", target: "http://app.example.com/upload", body: "secret-ish payload",
			want: mirrorCopy{method: "POST", uri: "/upload", host: "127.0.0.1", contentLength: "0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestMirror(t, &tt.h)
			r := mirrorRequest(tt.method, tt.target, tt.body)
			r.Header.Set("Expect", "100-continue")
			r.Header.Set("Connection", "X-Hop")
			r.Header.Set("X-Hop", "1")
			if got := serveMirrored(t, h, r); got != tt.body {
				t.Errorf("the backend got body %q, want %q", got, tt.body)
			}
			select {
			case got := <-copies:
				if got != tt.want {
					t.Errorf("the mirror got %+v, want %+v", got, tt.want)
				}
			case <-time.After(mirrorWait):
				t.Fatal("no copy reached the mirror")
			}
		})
	}
}

// TestMirrorBodiesNotCopied: a body of unknown length or over the limit
// is passed to the backend whole and its copy is not sent; a body that
// fails to read fails the same for the backend.
func TestMirrorBodiesNotCopied(t *testing.T) {
	port, copies := startMirror(t)
	h := newTestMirror(t, &Mirror{URL: "http://127.0.0.1:" + port, RequestURI: true})

	big := strings.Repeat("b", mirrorMaxBody+1)
	r := mirrorRequest("POST", "http://app.example.com/big", big)
	if got := serveMirrored(t, h, r); got != big {
		t.Errorf("the backend got %d bytes, want %d", len(got), len(big))
	}
	streamed := mirrorRequest("POST", "http://app.example.com/stream", "")
	streamed.Body = io.NopCloser(strings.NewReader("chunk"))
	streamed.ContentLength = -1
	if got := serveMirrored(t, h, streamed); got != "chunk" {
		t.Errorf("the backend got %q, want %q", got, "chunk")
	}
	if n := h.client.dropped.Load(); n != 2 {
		t.Errorf("%d copies dropped, want 2", n)
	}

	failing := mirrorRequest("POST", "http://app.example.com/fails", "")
	cut := errors.New("client went away")
	failing.Body = io.NopCloser(io.MultiReader(strings.NewReader("abc"), errorReader{cut}))
	failing.ContentLength = 10
	var body string
	var readErr error
	if err := h.ServeHTTP(httptest.NewRecorder(), failing, backendRead(&body, &readErr)); err != nil {
		t.Fatal(err)
	}
	if body != "abc" || !errors.Is(readErr, cut) {
		t.Errorf("the backend read %q, %v; want %q and the client's error", body, readErr, "abc")
	}
	if n := h.client.dropped.Load(); n != 3 {
		t.Errorf("%d copies dropped, want 3", n)
	}
	h.client.close(mirrorWait)
	select {
	case got := <-copies:
		t.Errorf("the mirror got %+v, want no copy", got)
	default:
	}
}

// TestMirrorHangs: a mirror that does not answer holds up no request;
// copies beyond the in-flight bound are dropped, and the timeout ends
// those in flight.
func TestMirrorHangs(t *testing.T) {
	arrived := make(chan struct{}, 10)
	gaveUp := make(chan struct{}, 10)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			gaveUp <- struct{}{}
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	h := newTestMirror(t, &Mirror{URL: srv.URL, RequestURI: true})
	h.client.maxInFlight = 2
	h.client.timeout = time.Second

	for i := 0; i < 3; i++ {
		serveMirrored(t, h, mirrorRequest("GET", "http://app.example.com/", ""))
	}
	if n := h.client.dropped.Load(); n != 1 {
		t.Errorf("%d copies dropped, want 1 (the third, over the bound of 2)", n)
	}
	for i := 0; i < 2; i++ {
		select {
		case <-arrived:
		case <-time.After(mirrorWait):
			t.Fatal("the copies in flight did not reach the mirror")
		}
	}
	for i := 0; i < 2; i++ {
		select {
		case <-gaveUp:
		case <-time.After(mirrorWait):
			t.Fatal("the timeout did not end a copy in flight")
		}
	}
}

// TestMirrorGuard: without auth_allow_networks a loopback mirror gets no
// copy, and the request is served all the same.
func TestMirrorGuard(t *testing.T) {
	port, copies := startMirror(t)
	h := &Mirror{URL: "http://127.0.0.1:" + port, RequestURI: true}
	if err := h.check(); err != nil {
		t.Fatal(err)
	}
	h.client = &mirrorClient{}
	serveMirrored(t, h, mirrorRequest("POST", "http://app.example.com/x", "body"))
	// close waits for the copy, which the guard refused.
	h.client.close(mirrorWait)
	if n := len(h.client.inFlight); n != 0 {
		t.Fatalf("%d copies still in flight", n)
	}
	select {
	case got := <-copies:
		t.Errorf("the guard let a copy reach loopback: %+v", got)
	default:
	}
}

func TestMirrorCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    Mirror
		want string // "" for no error
	}{
		{name: "URL and host", h: Mirror{URL: "https://mirror.example.com/copy", Host: "copies.example.com"}},
		{name: "not a URL", h: Mirror{URL: "mirror"}, want: "url: "},
		{name: "a variable", h: Mirror{URL: "https://mirror.example.com$request_uri"}, want: "request_uri: true"},
		{name: "a placeholder", h: Mirror{URL: "https://{env.HOST}/"}, want: "url: "},
		{name: "a bad host", h: Mirror{URL: "https://mirror.example.com", Host: "{http.request.host}"}, want: "host: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
