package ingress

import "testing"

func TestSourceRangeAnnotations(t *testing.T) {
	sr := func(want sourceRangeConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) sourceRangeConfig { return c.sourceRange }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "allow, written as people do", annotations: nginx("whitelist-source-range", "10.0.0.0/8,\n 192.168.0.1 2001:db8::/32"),
			check: sr(sourceRangeConfig{allow: "10.0.0.0/8,192.168.0.1/32,2001:db8::/32"})},
		{name: "allowlist wins over whitelist", annotations: nginx("allowlist-source-range", "10.0.0.1", "whitelist-source-range", "10.0.0.2"),
			check: sr(sourceRangeConfig{allow: "10.0.0.1/32"})},
		{name: "deny", annotations: nginx("denylist-source-range", "203.0.113.0/24"), check: sr(sourceRangeConfig{deny: "203.0.113.0/24"})},
		{name: "invalid entry fails closed", annotations: nginx("whitelist-source-range", "10.0.0.0/8, office"), wantProblem: "not an address", wantFail: "denied"},
		{name: "invalid deny entry fails closed", annotations: nginx("denylist-source-range", "1.2.3.4/99"), wantProblem: "not an address", wantFail: "denied"},
		{name: "empty allow-list fails closed", annotations: nginx("whitelist-source-range", " , "), wantProblem: "lists no address", wantFail: "denied"},
	})
}
