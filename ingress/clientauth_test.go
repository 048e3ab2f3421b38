package ingress

import "testing"

func TestClientAuthAnnotations(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "secret missing", annotations: nginx("auth-tls-secret", "default/ca"), wantProblem: "not found", wantFail: "denied"},
		{name: "verify off needs nothing", annotations: nginx("auth-tls-verify-client", "off", "auth-tls-verify-depth", "2")},
		{name: "settings without secret", annotations: nginx("auth-tls-verify-client", "on"), wantProblem: "needs auth-tls-secret", wantFail: "denied"},
		{name: "invalid verify", annotations: nginx("auth-tls-verify-client", "sometimes"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "invalid depth", annotations: nginx("auth-tls-verify-depth", "+1"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "invalid match-cn", annotations: nginx("auth-tls-match-cn", "CN=(a"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "invalid secret reference", annotations: nginx("auth-tls-secret", "a/b/c"), wantProblem: "invalid value", wantFail: "denied"},
	})
}

// TestUnsupportedAnnotations: unknown annotations are reported; access
// restrictions that are not supported fail closed.
func TestUnsupportedAnnotations(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "access restriction", annotations: nginx("auth-snippet", "more_set_input_headers \"X-A: b\";"), wantProblem: "cannot be enforced", wantFail: "denied"},
		{name: "not yet supported", annotations: nginx("mirror-target", "https://mirror.example.com"), wantProblem: "not supported; ignored"},
		{name: "typo under our prefix", annotations: map[string]string{ownPrefix + "rewrite-targt": "/"}, wantProblem: "unknown annotation"},
		{name: "other prefixes", annotations: map[string]string{"example.com/rewrite-target": "/"}},
	})
}
