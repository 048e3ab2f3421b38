package ingress

import "testing"

func TestConnectionAnnotation(t *testing.T) {
	conn := func(want string) func(*ingressConfig) string {
		return is(func(c *ingressConfig) string { return c.connection }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "unset", check: conn("")},
		{name: "keep-alive", annotations: nginx("connection-proxy-header", "keep-alive"), check: conn("keep-alive")},
		{name: "close", annotations: nginx("connection-proxy-header", "close"), check: conn("close")},
		{name: "empty is unset", annotations: nginx("connection-proxy-header", ""), check: conn("")},
		// ingress-nginx's check is case-sensitive; its validation error
		// leaves the Ingress out.
		{name: "case matters", annotations: nginx("connection-proxy-header", "Close"), check: conn(""), wantProblem: "want close or keep-alive", wantFail: "ignored"},
		{name: "upgrade", annotations: nginx("connection-proxy-header", "upgrade"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "header injection", annotations: nginx("connection-proxy-header", "close\r\nX-Evil: 1"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "placeholder", annotations: nginx("connection-proxy-header", "{http.request.header.Connection}"), wantProblem: "invalid value", wantFail: "ignored"},
	})
}
