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

// TestUnsupportedAnnotations: unknown annotations are reported; snippets
// outside the subset fail closed.
func TestUnsupportedAnnotations(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "refused snippet fails closed", annotations: nginx("auth-snippet", "lua_code_cache off;"), wantProblem: "is not supported", wantFail: "denied"},
		{name: "not yet supported", annotations: nginx("enable-modsecurity", "true"), wantProblem: "not supported; ignored"},
		{name: "typo under our prefix", annotations: map[string]string{ownPrefix + "rewrite-targt": "/"}, wantProblem: "unknown annotation"},
		{name: "other prefixes", annotations: map[string]string{"example.com/rewrite-target": "/"}},
	})
}
