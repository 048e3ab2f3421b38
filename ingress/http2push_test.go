package ingress

import "testing"

func TestHTTP2PushPreload(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "true accepted", annotations: nginx("http2-push-preload", "true")},
		{name: "false accepted", annotations: nginx("http2-push-preload", "false")},
		// ingress-nginx's parser returns its validation error, which
		// leaves the Ingress out.
		{name: "invalid", annotations: nginx("http2-push-preload", "on"), wantProblem: "invalid value", wantFail: "ignored"},
	})
}
