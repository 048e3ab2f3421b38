package ingress

import "testing"

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
