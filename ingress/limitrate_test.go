package ingress

import "testing"

func TestLimitRateAnnotations(t *testing.T) {
	limit := func(want limitRateConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) limitRateConfig { return c.limitRate }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "rate", annotations: nginx("limit-rate", "100"), check: limit(limitRateConfig{rate: 100 << 10})},
		{name: "rate and after", annotations: nginx("limit-rate", "1", "limit-rate-after", "512"), check: limit(limitRateConfig{rate: 1 << 10, after: 512 << 10})},
		{name: "zero is no limit", annotations: nginx("limit-rate", "0"), check: limit(limitRateConfig{})},
		{name: "empty is unset", annotations: nginx("limit-rate", ""), check: limit(limitRateConfig{})},
		{name: "a unit keeps the default", annotations: nginx("limit-rate", "100k"), check: limit(limitRateConfig{}), wantProblem: "whole number of kilobytes"},
		{name: "negative keeps the default", annotations: nginx("limit-rate-after", "-1"), check: limit(limitRateConfig{}), wantProblem: "whole number of kilobytes"},
		{name: "too large", annotations: nginx("limit-rate", "9223372036854775807"), check: limit(limitRateConfig{}), wantProblem: "whole number of kilobytes"},
		{name: "placeholder", annotations: nginx("limit-rate", "{env.RATE}"), check: limit(limitRateConfig{}), wantProblem: "invalid value"},
	})
}

func TestLimitRatePlan(t *testing.T) {
	tests := []struct {
		name        string
		cfg         limitRateConfig
		rate, after int64
	}{
		{name: "none"},
		{name: "rate", cfg: limitRateConfig{rate: 1024}, rate: 1024},
		{name: "rate and after", cfg: limitRateConfig{rate: 1024, after: 4096}, rate: 1024, after: 4096},
		// As in ingress-nginx, limit-rate-after alone does nothing.
		{name: "after alone", cfg: limitRateConfig{after: 4096}},
	}
	for _, tt := range tests {
		var p plan
		limitRateFamily.plan(&ingressConfig{limitRate: tt.cfg}, &site{opts: &Options{}}, &p)
		if p.limits.sendRate != tt.rate || p.limits.sendRateAfter != tt.after {
			t.Errorf("%s: got rate %d after %d, want %d and %d", tt.name, p.limits.sendRate, p.limits.sendRateAfter, tt.rate, tt.after)
		}
	}
}
