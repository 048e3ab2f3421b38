package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// mirrorWait bounds how long a test waits for a copy to reach a mirror.
const mirrorWait = 10 * time.Second

// mirrorCopy is what a mirror received.
type mirrorCopy struct {
	method, uri, host, body string
}

// mirrorService is a mirror on loopback that passes what it receives to
// copies and answers 500, which must change nothing for the client. With
// hang, it answers nothing until the test ends.
type mirrorService struct {
	port   int
	copies chan mirrorCopy
}

func startMirrorService(t *testing.T, hang bool) *mirrorService {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mirrorService{port: l.Addr().(*net.TCPAddr).Port, copies: make(chan mirrorCopy, 16)}
	ended := make(chan struct{})
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m.copies <- mirrorCopy{method: r.Method, uri: r.RequestURI, host: r.Host, body: string(body)}
		if hang {
			select {
			case <-ended:
			case <-r.Context().Done():
			}
			return
		}
		http.Error(w, "the mirror fails", http.StatusInternalServerError)
	})}
	go srv.Serve(l)
	t.Cleanup(func() {
		close(ended)
		srv.Close()
	})
	return m
}

// next returns the next copy the mirror received.
func (m *mirrorService) next(t *testing.T) mirrorCopy {
	t.Helper()
	select {
	case c := <-m.copies:
		return c
	case <-time.After(mirrorWait):
		t.Fatalf("no copy reached the mirror on port %d within %v", m.port, mirrorWait)
		return mirrorCopy{}
	}
}

// TestAnnotationMirror: mirror-target gets a copy of each request
// (method, URI, Host, body) while the client gets the backend's answer,
// with mirror-host and mirror-request-body: off; a mirror that hangs or
// refuses connections changes nothing for the client.
func TestAnnotationMirror(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	mirror := startMirrorService(t, false)
	hanging := startMirrorService(t, true)
	closed := freePort(t)
	dir := t.TempDir()
	writeIngresses(t, dir,
		routingIngress{name: "mirrored", host: "mirrored.example.com", paths: root("web"),
			annotations: nginxAnnotations("mirror-target", fmt.Sprintf("http://127.0.0.1:%d/copy$request_uri", mirror.port), "mirror-host", "copies.example.com")},
		routingIngress{name: "no-body", host: "no-body.example.com", paths: root("web"),
			annotations: nginxAnnotations("mirror-target", fmt.Sprintf("http://127.0.0.1:%d/fixed", mirror.port), "mirror-request-body", "off")},
		routingIngress{name: "hanging", host: "hanging.example.com", paths: root("web"),
			annotations: nginxAnnotations("mirror-target", fmt.Sprintf("http://127.0.0.1:%d$request_uri", hanging.port))},
		routingIngress{name: "refused", host: "refused.example.com", paths: root("web"),
			annotations: nginxAnnotations("mirror-target", fmt.Sprintf("http://127.0.0.1:%d$request_uri", closed))},
	)
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	c := startCaddyWithConfig(t, dir, allowLoopbackAuth(caddyfileTemplate))
	cl := newClient(nil)

	post := func(t *testing.T, host, pathQuery, body string) {
		t.Helper()
		url := httpURL(c, host, pathQuery)
		resp, err := cl.http.Post(url, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || string(got) != be.name || resp.Header.Get("X-Seen-Body-Bytes") != fmt.Sprint(len(body)) {
			t.Errorf("POST %s: got %d %q with %s body bytes at the backend, want 200 %q with %d",
				url, resp.StatusCode, got, resp.Header.Get("X-Seen-Body-Bytes"), be.name, len(body))
		}
	}

	t.Run("copy with body", func(t *testing.T) {
		post(t, "mirrored.example.com", "/api/items?id=7", "payload")
		want := mirrorCopy{method: "POST", uri: "/copy/api/items?id=7", host: "copies.example.com", body: "payload"}
		if got := mirror.next(t); got != want {
			t.Errorf("the mirror got %+v, want %+v", got, want)
		}
	})
	t.Run("copy without body", func(t *testing.T) {
		post(t, "no-body.example.com", "/upload?part=2", "payload")
		want := mirrorCopy{method: "POST", uri: "/fixed?part=2", host: "127.0.0.1"}
		if got := mirror.next(t); got != want {
			t.Errorf("the mirror got %+v, want %+v", got, want)
		}
	})
	t.Run("hanging mirror", func(t *testing.T) {
		// The mirror holds every copy until the test ends: the answers
		// come from the backend while it still holds them.
		for i := 0; i < 3; i++ {
			post(t, "hanging.example.com", fmt.Sprintf("/slow-mirror/%d", i), "x")
			if got := hanging.next(t); got.uri != fmt.Sprintf("/slow-mirror/%d", i) {
				t.Errorf("the hanging mirror got %+v, want the copy of /slow-mirror/%d", got, i)
			}
		}
	})
	t.Run("refused mirror", func(t *testing.T) {
		post(t, "refused.example.com", "/nobody-listens", "x")
	})
}
