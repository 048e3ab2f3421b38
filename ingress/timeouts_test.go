package ingress

import "testing"

func TestTimeoutAnnotations(t *testing.T) {
	to := func(want timeouts) func(*ingressConfig) string {
		return is(func(c *ingressConfig) timeouts { return c.timeouts }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "all three", annotations: nginx("proxy-connect-timeout", "2", "proxy-send-timeout", "30", "proxy-read-timeout", "3600"), check: to(timeouts{connect: 2, send: 30, read: 3600})},
		{name: "unit is invalid", annotations: nginx("proxy-read-timeout", "60s"), check: to(timeouts{}), wantProblem: "whole seconds"},
		{name: "zero is invalid", annotations: nginx("proxy-connect-timeout", "0"), check: to(timeouts{}), wantProblem: "whole seconds"},
		{name: "too long", annotations: nginx("proxy-send-timeout", "86401"), check: to(timeouts{}), wantProblem: "whole seconds"},
	})
	var p plan
	timeoutsFamily.plan(&ingressConfig{timeouts: timeouts{read: 7}}, &site{opts: &Options{Traffic: Traffic{ConnectTimeout: 5, ReadTimeout: 60}}}, &p)
	if want := (timeouts{connect: 5, read: 7}); p.proxy.timeouts != want {
		t.Errorf("plan: got %+v, want %+v", p.proxy.timeouts, want)
	}
}
