package ingress

import "testing"

func TestBasicAuthAnnotations(t *testing.T) {
	ba := func(want basicAuthConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) basicAuthConfig { return c.basicAuth }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "secret not found fails closed", annotations: nginx("auth-type", "basic", "auth-secret", "users"),
			check: ba(basicAuthConfig{secret: "users", secretType: "auth-file"}), wantProblem: "not found", wantFail: "denied"},
		{name: "no secret fails closed", annotations: nginx("auth-type", "basic"), wantProblem: "needs auth-secret", wantFail: "denied"},
		{name: "digest fails closed", annotations: nginx("auth-type", "digest"), wantProblem: "not supported", wantFail: "denied"},
		{name: "unknown type", annotations: nginx("auth-type", "ntlm"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "bad realm", annotations: nginx("auth-realm", "x\"y"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "bad secret type", annotations: nginx("auth-secret-type", "ldap"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "bad secret name", annotations: nginx("auth-type", "basic", "auth-secret", "a/b/c"), wantProblem: "invalid value", wantFail: "denied"},
	})
}
