package ingress

import "testing"

func TestLogAnnotations(t *testing.T) {
	skip := is(func(c *ingressConfig) bool { return c.noAccessLog }, true)
	runAnnotationCases(t, []annotationCase{
		{name: "access log off", annotations: nginx("enable-access-log", "false"), check: skip},
		{name: "rewrite log accepted", annotations: nginx("enable-rewrite-log", "true")},
		{name: "rewrite log invalid keeps the default", annotations: nginx("enable-rewrite-log", "on"), wantProblem: "invalid value"},
	})
}
