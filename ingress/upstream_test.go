package ingress

import (
	"fmt"
	"testing"
)

func TestUpstreamAnnotations(t *testing.T) {
	vhost := func(want string, serviceUpstream bool) func(*ingressConfig) string {
		return func(c *ingressConfig) string {
			if c.upstream != (upstreamConfig{vhost: want, serviceUpstream: serviceUpstream}) {
				return fmt.Sprintf("got %+v", c.upstream)
			}
			return ""
		}
	}
	runAnnotationCases(t, []annotationCase{
		{name: "host", annotations: nginx("upstream-vhost", "internal.example.com"), check: vhost("internal.example.com", false)},
		{name: "host and port", annotations: nginx("upstream-vhost", " internal.example.com:8080 "), check: vhost("internal.example.com:8080", false)},
		{name: "nginx variable", annotations: nginx("upstream-vhost", "$host"), check: vhost("", false), wantProblem: "not supported"},
		{name: "placeholder", annotations: nginx("upstream-vhost", "{env.HOME}"), check: vhost("", false), wantProblem: "not supported"},
		{name: "invalid", annotations: nginx("upstream-vhost", "a b"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "service-upstream", annotations: nginx("service-upstream", "true"), check: vhost("", true)},
		{name: "service-upstream invalid", annotations: nginx("service-upstream", "cluster-ip"), check: vhost("", false), wantProblem: "invalid value"},
	})
}

func TestServiceUpstreamPlan(t *testing.T) {
	key := &UpstreamKey{Namespace: "default", Service: "web"}
	tests := []struct {
		name string
		tgt  target
		want string
	}{
		{name: "IPv4", tgt: target{upstream: key, port: 80, clusterIP: "10.0.0.1"}, want: "10.0.0.1:80"},
		{name: "IPv6", tgt: target{upstream: key, port: 8080, clusterIP: "fd00::1"}, want: "[fd00::1]:8080"},
		{name: "headless", tgt: target{upstream: key, port: 80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p plan
			upstreamFamily.plan(&ingressConfig{upstream: upstreamConfig{serviceUpstream: true}}, &site{target: tt.tgt, opts: &Options{}}, &p)
			if p.proxy.dial != tt.want {
				t.Errorf("got dial %q, want %q", p.proxy.dial, tt.want)
			}
		})
	}
}
