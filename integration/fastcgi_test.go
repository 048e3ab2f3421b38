package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"testing"
)

// startFastCGIBackend serves FastCGI on loopback, standing for a php-fpm
// pod. It answers with JSON of the params it received (as
// net/http/fcgi's ProcessEnv has them: SCRIPT_NAME, PATH_INFO, HTTP_* and
// the few it turns into the request are not among them) plus the request
// URI and the Proxy header as "uri" and "proxy". It stops when the test
// ends.
func startFastCGIBackend(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = fcgi.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			env := map[string]string{"uri": r.URL.RequestURI(), "proxy": r.Header.Get("Proxy")}
			for k, v := range fcgi.ProcessEnv(r) {
				env[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(env)
		}))
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().(*net.TCPAddr).Port
}

// fastcgiEnv requests url and returns the params the FastCGI backend
// received.
func fastcgiEnv(cl *client, url string) (map[string]string, error) {
	r, err := cl.getWithHeader(url, http.Header{"Proxy": {"http://evil.example.com"}})
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status: got %d, want 200 (body %q)", url, r.status, r.body)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(r.body), &env); err != nil {
		return nil, fmt.Errorf("GET %s: %v (body %q)", url, err, r.body)
	}
	return env, nil
}

// TestFastCGI: backend-protocol FCGI speaks FastCGI to the Service's
// endpoints, with fastcgi-index and the params of the
// fastcgi-params-configmap ConfigMap, whose change applies live; without
// the ConfigMap no SCRIPT_FILENAME is sent, as ingress-nginx sends none;
// a missing ConfigMap makes the paths answer 503.
func TestFastCGI(t *testing.T) {
	t.Parallel()
	port := startFastCGIBackend(t)
	dir := t.TempDir()
	writeIngresses(t, dir,
		routingIngress{name: "php", host: "php.example.com", paths: root("php"), annotations: nginxAnnotations(
			"backend-protocol", "FCGI", "fastcgi-index", "index.php", "fastcgi-params-configmap", "php-params")},
		routingIngress{name: "plain", host: "plain.example.com", paths: root("php"), annotations: nginxAnnotations("backend-protocol", "FCGI")},
		routingIngress{name: "missing", host: "missing.example.com", paths: root("php"), annotations: nginxAnnotations(
			"backend-protocol", "FCGI", "fastcgi-params-configmap", "gone")},
	)
	writeManifest(t, dir, "php.yaml", serviceYAML("php")+"---\n"+endpointSliceYAML("php", port, true))
	writeManifest(t, dir, "php-params.yaml", configMapYAML("php-params", map[string]string{
		"SCRIPT_FILENAME": "/var/www/html$fastcgi_script_name",
		"APP_ENV":         "staging",
		"PLACEHOLDERLESS": "$request_method.$host",
	}))
	c := startCaddy(t, dir)
	cl := newClient(nil)

	for _, tt := range []struct {
		name, url string
		want      map[string]string
	}{
		{name: "the index on a directory", url: httpURL(c, "php.example.com", "/?q=1"), want: map[string]string{
			"SCRIPT_FILENAME": "/var/www/html/index.php",
			"APP_ENV":         "staging",
			"PLACEHOLDERLESS": "GET.php.example.com",
			"DOCUMENT_URI":    "/",
			"DOCUMENT_ROOT":   "",
			"REDIRECT_STATUS": "200",
			"uri":             "/?q=1",
			"proxy":           "",
		}},
		{name: "a script", url: httpURL(c, "php.example.com", "/blog/post.php"), want: map[string]string{
			"SCRIPT_FILENAME": "/var/www/html/blog/post.php",
			"DOCUMENT_URI":    "/blog/post.php",
			"uri":             "/blog/post.php",
		}},
		{name: "no SCRIPT_FILENAME without the ConfigMap", url: httpURL(c, "plain.example.com", "/hello"), want: map[string]string{
			"SCRIPT_FILENAME": "",
			"DOCUMENT_ROOT":   "",
			"REDIRECT_STATUS": "200",
			"APP_ENV":         "",
			"uri":             "/hello",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, err := fastcgiEnv(cl, tt.url)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if got := env[k]; got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
		})
	}
	if err := cl.expect(httpURL(c, "missing.example.com", "/"), http.StatusServiceUnavailable, ""); err != nil {
		t.Error(err)
	}

	writeManifest(t, dir, "php-params.yaml", configMapYAML("php-params", map[string]string{
		"SCRIPT_FILENAME": "/srv/app/front.php",
		"APP_ENV":         "production",
	}))
	eventually(t, "the changed ConfigMap applies", func() error {
		env, err := fastcgiEnv(cl, httpURL(c, "php.example.com", "/x"))
		if err != nil {
			return err
		}
		if env["APP_ENV"] != "production" || env["SCRIPT_FILENAME"] != "/srv/app/front.php" {
			return fmt.Errorf("params %v", env)
		}
		return nil
	})
}
