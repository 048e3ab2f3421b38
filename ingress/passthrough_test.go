package ingress

import "testing"

func TestSSLPassthroughAnnotation(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "on: reported, served with TLS terminated", annotations: nginx("ssl-passthrough", "true"), wantProblem: "not supported; ignored"},
		{name: "off asks for nothing", annotations: nginx("ssl-passthrough", "false")},
		{name: "invalid", annotations: nginx("ssl-passthrough", "maybe"), wantProblem: "invalid value"},
	})
}
