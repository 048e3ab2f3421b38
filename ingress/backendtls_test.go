package ingress

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestBackendTLSAnnotations(t *testing.T) {
	backend := func(want backendOptions) func(*ingressConfig) string {
		return is(func(c *ingressConfig) backendOptions { return c.backend }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "grpc", annotations: nginx("backend-protocol", "grpc"), check: backend(backendOptions{protocol: "GRPC"})},
		{name: "http", annotations: nginx("backend-protocol", "HTTP"), check: backend(backendOptions{})},
		{name: "unsupported protocol", annotations: nginx("backend-protocol", "AJP"), wantProblem: "not supported", wantFail: "denied"},
		{name: "unknown protocol", annotations: nginx("backend-protocol", "SPDY"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "https without secret", annotations: nginx("backend-protocol", "HTTPS", "proxy-ssl-server-name", "on", "proxy-ssl-name", "Backend.Example.com"), check: backend(backendOptions{protocol: "HTTPS", sendSNI: true, serverName: "backend.example.com", ingress: "default/test"})},
		{name: "missing secret", annotations: nginx("backend-protocol", "HTTPS", "proxy-ssl-secret", "ca"), wantProblem: "not found", wantFail: "denied"},
		{name: "verify without CA", annotations: nginx("backend-protocol", "HTTPS", "proxy-ssl-verify", "on"), wantProblem: "needs the CAs", wantFail: "denied"},
		{name: "invalid verify", annotations: nginx("proxy-ssl-verify", "maybe"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "ssl annotations without https", annotations: nginx("proxy-ssl-server-name", "on"), check: backend(backendOptions{}), wantProblem: "no effect"},
		{name: "invalid server name", annotations: nginx("proxy-ssl-name", "*.example.com"), wantProblem: "invalid value", wantFail: "denied"},
	})
}

func TestProxySSLTuningAnnotations(t *testing.T) {
	backend := func(want backendOptions) func(*ingressConfig) string {
		return is(func(c *ingressConfig) backendOptions { return c.backend }, want)
	}
	https := func(kv ...string) map[string]string {
		return nginx(append([]string{"backend-protocol", "HTTPS"}, kv...)...)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "protocols", annotations: https("proxy-ssl-protocols", "TLSv1.3  TLSv1.2"),
			check: backend(backendOptions{protocol: "HTTPS", protocolMin: "tls1.2", protocolMax: "tls1.3", ingress: "default/test"})},
		{name: "TLS 1.3 only", annotations: https("proxy-ssl-protocols", "TLSv1.3"),
			check: backend(backendOptions{protocol: "HTTPS", protocolMin: "tls1.3", protocolMax: "tls1.3", ingress: "default/test"})},
		{name: "empty protocols", annotations: https("proxy-ssl-protocols", " "), wantProblem: "empty",
			check: backend(backendOptions{protocol: "HTTPS", ingress: "default/test"})},
		{name: "TLS 1.1", annotations: https("proxy-ssl-protocols", "TLSv1.1 TLSv1.2"), wantProblem: "deprecated", wantFail: "denied"},
		{name: "lowercase protocol", annotations: https("proxy-ssl-protocols", "tlsv1.2"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "comma-separated protocols", annotations: https("proxy-ssl-protocols", "TLSv1.2,TLSv1.3"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "ciphers", annotations: https("proxy-ssl-ciphers", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"),
			check: backend(backendOptions{protocol: "HTTPS", ciphers: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", ingress: "default/test"})},
		{name: "cipher keywords", annotations: https("proxy-ssl-ciphers", "ECDHE+AESGCM:!aECDSA"),
			check: backend(backendOptions{protocol: "HTTPS", ciphers: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", ingress: "default/test"})},
		{name: "unknown cipher keyword", annotations: https("proxy-ssl-ciphers", "SHA256"), wantProblem: "nor a keyword", wantFail: "denied"},
		{name: "placeholder in ciphers", annotations: https("proxy-ssl-ciphers", "{env.HOME}"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "invalid depth", annotations: https("proxy-ssl-verify-depth", "two"), wantProblem: "invalid value"},
		{name: "depth over the bound", annotations: https("proxy-ssl-verify-depth", "101"), wantProblem: "invalid value"},
		{name: "depth without verification", annotations: https("proxy-ssl-verify-depth", "2"), wantProblem: "no effect",
			check: backend(backendOptions{protocol: "HTTPS", ingress: "default/test"})},
		{name: "tuning without https", annotations: nginx("proxy-ssl-protocols", "TLSv1.3"), wantProblem: "no effect", check: backend(backendOptions{})},
	})
}

func TestGoCipherSuites(t *testing.T) {
	tests := []struct {
		name, list string
		want       string // comma-separated; "" when refused
		wantErr    string
	}{
		{name: "one suite", list: "ECDHE-ECDSA-AES128-GCM-SHA256", want: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
		{name: "sorted", list: "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-SHA",
			want: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{name: "exclusions of what Go lacks", list: "ECDHE-RSA-AES128-GCM-SHA256:!aNULL:!eNULL:!MD5:!RC4:!3DES", want: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		{name: "default less SHA1 and ECDSA", list: "DEFAULT:!SHA1:!aECDSA",
			want: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{name: "banned stays out", list: "!ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA", want: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
		{name: "removed comes back", list: "DEFAULT:-AES:ECDHE-RSA-AES128-GCM-SHA256:!CHACHA20", want: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		{name: "nothing left", list: "ECDHE-RSA-AES128-SHA:!SHA", wantErr: "leaves none of the cipher suites"},
		{name: "only exclusions", list: "!aNULL", wantErr: "leaves none of the cipher suites"},
		{name: "keyword of nothing Go offers", list: "MEDIUM:LOW:RC4", wantErr: "leaves none of the cipher suites"},
		// nginx's own example: every one of Go's secure suites is HIGH.
		{name: "selecting keyword", list: "HIGH:!aNULL:!MD5", want: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{name: "default not first", list: "ECDHE-RSA-AES128-SHA:DEFAULT", want: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{name: "combination", list: "ECDHE+AESGCM", want: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
		{name: "combination with a suite", list: "EECDH+CHACHA20:ECDHE-RSA-AES256-GCM-SHA384:!aECDSA", want: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{name: "combination with an insecure suite", list: "ECDHE-RSA-AES128-SHA:AES128-SHA+HIGH", want: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
		{name: "unknown part of a combination", list: "ECDHE+SHA256", wantErr: "nor a keyword"},
		{name: "strength and reordering", list: "ECDHE-RSA-AES128-SHA:+SHA1:@STRENGTH", want: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
		{name: "security level", list: "DEFAULT:@SECLEVEL=2", wantErr: "Go orders"},
		{name: "insecure", list: "AES128-GCM-SHA256", wantErr: "insecure"},
		{name: "insecure excluded", list: "DEFAULT:!DES-CBC3-SHA", want: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{name: "TLS 1.3 suite", list: "TLS_AES_128_GCM_SHA256", wantErr: "TLS 1.3"},
		{name: "unknown exclusion", list: "DEFAULT:!SHA256", wantErr: "nor a keyword"},
		{name: "characters", list: "ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA", wantErr: "invalid value"},
		{name: "placeholder", list: "{file./etc/passwd}", wantErr: "invalid value"},
		{name: "empty", list: "", wantErr: "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := goCipherSuites(tt.list)
			got := strings.Join(names, ",")
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %q, %v, want an error containing %q", got, err, tt.wantErr)
			case tt.wantErr == "" && (err != nil || got != tt.want):
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

// TestGoSuitesAreGo checks that every suite of the table is one that Go
// offers and counts secure, for TLS 1.2.
func TestGoSuitesAreGo(t *testing.T) {
	secure := make(map[string]bool)
	for _, s := range tls.CipherSuites() {
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			secure[s.Name] = true
		}
	}
	for _, s := range goSuites {
		if !secure[s.name] {
			t.Errorf("suite %s (%s): got not secure in Go, want secure", s.openSSL, s.name)
		}
		delete(secure, s.name)
	}
	for name := range secure {
		t.Errorf("Go's secure TLS 1.2 suite %s: got missing from goSuites, want there", name)
	}
}
