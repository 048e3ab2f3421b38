package ingress

import "testing"

func TestNextUpstreamAnnotations(t *testing.T) {
	retry := func(want retryPolicy) func(*ingressConfig) string {
		return is(func(c *ingressConfig) retryPolicy { return c.retry }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "default", check: retry(retryPolicy{})},
		{name: "error timeout", annotations: nginx("proxy-next-upstream", "error timeout http_503 http_502 http_502"), check: retry(retryPolicy{statuses: "502,503"})},
		{name: "non idempotent", annotations: nginx("proxy-next-upstream", "error non_idempotent"), check: retry(retryPolicy{nonIdempotent: true})},
		{name: "statuses only", annotations: nginx("proxy-next-upstream", "http_503"), check: retry(retryPolicy{noTransport: true, statuses: "503"})},
		{name: "off", annotations: nginx("proxy-next-upstream", "off"), check: retry(retryPolicy{off: true, noTransport: true})},
		{name: "unknown token", annotations: nginx("proxy-next-upstream", "error sometimes"), check: retry(retryPolicy{}), wantProblem: "invalid value"},
		{name: "tries and timeout", annotations: nginx("proxy-next-upstream-tries", "5", "proxy-next-upstream-timeout", "10"), check: retry(retryPolicy{tries: 5, timeout: 10})},
		{name: "zero tries", annotations: nginx("proxy-next-upstream-tries", "0"), check: retry(retryPolicy{tries: 6})},
		{name: "invalid tries", annotations: nginx("proxy-next-upstream-tries", "three"), check: retry(retryPolicy{}), wantProblem: "invalid value"},
		{name: "invalid timeout", annotations: nginx("proxy-next-upstream-timeout", "10s"), check: retry(retryPolicy{}), wantProblem: "invalid value"},
	})
	for _, tt := range []struct {
		rp   retryPolicy
		want int
	}{{retryPolicy{}, 2}, {retryPolicy{tries: 1}, 0}, {retryPolicy{tries: 4}, 3}, {retryPolicy{off: true, tries: 4}, 0}} {
		if got := tt.rp.retries(); got != tt.want {
			t.Errorf("%+v: got %d retries, want %d", tt.rp, got, tt.want)
		}
	}
}

func TestNextUpstreamDefaults(t *testing.T) {
	def, err := defaultRetry(Traffic{NextUpstream: "error http_503", NextUpstreamTries: "5"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  ingressConfig
		want retryPolicy
	}{
		{name: "app default", want: retryPolicy{tries: 5, statuses: "503"}},
		{name: "annotation tokens, default tries", cfg: ingressConfig{retry: retryPolicy{off: true, noTransport: true}, retrySet: retrySet{tokens: true}},
			want: retryPolicy{off: true, noTransport: true, tries: 5}},
		{name: "annotation tries, default tokens", cfg: ingressConfig{retry: retryPolicy{tries: 2}, retrySet: retrySet{tries: true}},
			want: retryPolicy{tries: 2, statuses: "503"}},
	}
	for _, tt := range tests {
		var p plan
		nextUpstreamFamily.plan(&tt.cfg, &site{opts: &Options{}, defaultRetry: def}, &p)
		if p.proxy.retry != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, p.proxy.retry, tt.want)
		}
	}
	for _, bad := range []Traffic{{NextUpstream: "sometimes"}, {NextUpstreamTries: "-1"}, {NextUpstreamTimeout: "x"}} {
		if _, err := defaultRetry(bad); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
