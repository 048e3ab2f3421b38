package ingress

import "testing"

func TestBufferingAnnotations(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "valid values are accepted quietly", annotations: nginx("proxy-buffering", "on", "proxy-request-buffering", "off",
			"proxy-buffer-size", "16k", "proxy-buffers-number", "8", "proxy-max-temp-file-size", "0", "proxy-http-version", "1.0")},
		{name: "invalid buffering", annotations: nginx("proxy-buffering", "true"), wantProblem: "invalid value"},
		{name: "invalid buffer size", annotations: nginx("proxy-buffer-size", "16kb"), wantProblem: "invalid value"},
		{name: "invalid buffers number", annotations: nginx("proxy-buffers-number", "0"), wantProblem: "invalid value"},
		{name: "busy buffers size", annotations: nginx("proxy-busy-buffers-size", "16K")},
		{name: "invalid busy buffers size", annotations: nginx("proxy-busy-buffers-size", "16kb"), wantProblem: "invalid value"},
		{name: "invalid http version", annotations: nginx("proxy-http-version", "2.0"), wantProblem: "invalid value"},
	})
}

func TestLoadBalanceAnnotation(t *testing.T) {
	balance := func(want string) func(*ingressConfig) string {
		return is(func(c *ingressConfig) string { return c.balance }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "round robin", annotations: nginx("load-balance", "round_robin"), check: balance("round_robin")},
		{name: "ewma", annotations: nginx("load-balance", "ewma"), check: balance("least_conn")},
		{name: "chash", annotations: nginx("load-balance", "chash"), check: balance(""), wantProblem: "not supported"},
		{name: "unknown", annotations: nginx("load-balance", "random"), check: balance(""), wantProblem: "invalid value"},
	})
	for _, tt := range []struct{ cfg, def, want string }{
		{"", "", ""}, {"", "least_conn", "least_conn"}, {"round_robin", "least_conn", ""}, {"least_conn", "", "least_conn"},
	} {
		var p plan
		loadBalanceFamily.plan(&ingressConfig{balance: tt.cfg}, &site{opts: &Options{Traffic: Traffic{LoadBalance: tt.def}}}, &p)
		if p.proxy.balance != tt.want {
			t.Errorf("annotation %q, default %q: got %q, want %q", tt.cfg, tt.def, p.proxy.balance, tt.want)
		}
	}
}
