package ingress

import (
	"strings"
	"testing"
)

func TestClientAuthAnnotations(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "secret missing", annotations: nginx("auth-tls-secret", "default/ca"), wantProblem: "not found", wantFail: "denied"},
		{name: "verify off needs nothing", annotations: nginx("auth-tls-verify-client", "off", "auth-tls-verify-depth", "2")},
		{name: "settings without secret", annotations: nginx("auth-tls-verify-client", "on"), wantProblem: "needs auth-tls-secret", wantFail: "denied"},
		{name: "invalid verify", annotations: nginx("auth-tls-verify-client", "sometimes"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "invalid depth", annotations: nginx("auth-tls-verify-depth", "+1"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "depth 0 is the default", annotations: nginx("auth-tls-verify-depth", "0")},
		{name: "invalid match-cn", annotations: nginx("auth-tls-match-cn", "CN=(a"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "invalid secret reference", annotations: nginx("auth-tls-secret", "a/b/c"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "error page without secret", annotations: nginx("auth-tls-error-page", "https://errors.example.com/"), wantProblem: "needs auth-tls-secret", wantFail: "denied"},
		{name: "invalid error page", annotations: nginx("auth-tls-error-page", "javascript:alert(1)"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "named location", annotations: nginx("auth-tls-error-page", "@cert_error"), wantProblem: "not supported", wantFail: "ignored"},
		{name: "empty error page", annotations: nginx("auth-tls-error-page", "")},
	})
}

func TestCheckErrorPage(t *testing.T) {
	tests := []struct {
		name, value string
		wantErr     string // "" when accepted
	}{
		{name: "https", value: "https://errors.example.com/client-certificate.html"},
		{name: "http with port", value: "http://10.0.0.1:8080/error"},
		{name: "host alone", value: "https://errors.example.com"},
		{name: "trailing slash", value: "https://errors.example.com/certs/"},
		{name: "upper case host", value: "https://Errors.Example.com/x"},
		{name: "path on the same server", value: "/error-cert.html", wantErr: "not supported"},
		{name: "without scheme", value: "errors.example.com/error", wantErr: "not supported"},
		{name: "named location", value: "@error", wantErr: "not supported"},
		{name: "query", value: "https://errors.example.com/e?from=x", wantErr: "invalid value"},
		{name: "placeholder", value: "https://{env.HOME}/", wantErr: "invalid value"},
		{name: "nginx variable", value: "https://errors.example.com/$host", wantErr: "invalid value"},
		{name: "other scheme", value: "ftp://errors.example.com/", wantErr: "invalid value"},
		{name: "user info", value: "https://user@errors.example.com/", wantErr: "invalid value"},
		{name: "header injection", value: "https://errors.example.com/\r\nX: y", wantErr: "invalid value"},
		{name: "bad host", value: "https://-errors..example.com/", wantErr: "not a DNS name"},
		{name: "port 0", value: "https://errors.example.com:0/", wantErr: "port"},
		{name: "port too big", value: "https://errors.example.com:65536/", wantErr: "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkErrorPage(tt.value)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestUnsupportedAnnotations: unknown annotations are reported; snippets
// outside the subset fail closed.
func TestUnsupportedAnnotations(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "refused snippet fails closed", annotations: nginx("auth-snippet", "lua_code_cache off;"), wantProblem: "is not supported", wantFail: "denied"},
		{name: "not yet supported", annotations: nginx("ssl-passthrough", "true"), wantProblem: "not supported; ignored"},
		{name: "typo under our prefix", annotations: map[string]string{ownPrefix + "rewrite-targt": "/"}, wantProblem: "unknown annotation"},
		{name: "other prefixes", annotations: map[string]string{"example.com/rewrite-target": "/"}},
	})
}
