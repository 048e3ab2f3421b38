package ingress

import (
	"slices"
	"testing"
)

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks(" 10.1.2.3/8, 192.168.1.7,::ffff:192.168.1.7, 2001:db8::1/32,10.0.0.0/8")
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, in := range []string{"10.0.0.0/33", "host.example.com", "10.0.0.1-10.0.0.9", "{env.HOME}"} {
		if got, err := ParseNetworks(in); err == nil {
			t.Errorf("ParseNetworks(%q) = %v, want an error", in, got)
		}
	}
}

func TestRateLimitAnnotations(t *testing.T) {
	limit := func(want rateLimitConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) rateLimitConfig { return c.rateLimit }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "rps", annotations: nginx("limit-rps", "5"), check: limit(rateLimitConfig{rps: 5, burstMultiplier: 5})},
		{name: "all", annotations: nginx("limit-rps", "5", "limit-rpm", "100", "limit-connections", "3", "limit-burst-multiplier", "2", "limit-allowlist", "10.0.0.1"),
			check: limit(rateLimitConfig{rps: 5, rpm: 100, connections: 3, burstMultiplier: 2, allow: "10.0.0.1/32"})},
		{name: "whitelist alias", annotations: nginx("limit-rpm", "60", "limit-whitelist", "10.0.0.0/8"), check: limit(rateLimitConfig{rpm: 60, burstMultiplier: 5, allow: "10.0.0.0/8"})},
		{name: "not a number", annotations: nginx("limit-connections", "many"), wantProblem: "whole number", wantFail: "ignored"},
		{name: "bad network", annotations: nginx("limit-rps", "1", "limit-whitelist", "10.0.0.0/40"), wantProblem: "not an address", wantFail: "ignored"},
	})
}
