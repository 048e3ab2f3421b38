package ingress

import "testing"

func TestCanaryAnnotations(t *testing.T) {
	canary := func(want canaryConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) canaryConfig { return c.canary }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "header and weight", annotations: nginx("canary", "true", "canary-by-header", "X-Canary", "canary-weight", "20"),
			check: canary(canaryConfig{on: true, header: "X-Canary", weight: 20, total: 100})},
		{name: "value wins over pattern", annotations: nginx("canary", "true", "canary-by-header", "X-Canary", "canary-by-header-value", "v2", "canary-by-header-pattern", "v.*"),
			check: canary(canaryConfig{on: true, header: "X-Canary", headerValue: "v2", total: 100})},
		{name: "pattern", annotations: nginx("canary", "true", "canary-by-header", "X-Canary", "canary-by-header-pattern", "^v[0-9]$"),
			check: canary(canaryConfig{on: true, header: "X-Canary", headerPattern: "^v[0-9]$", total: 100})},
		{name: "invalid pattern", annotations: nginx("canary", "true", "canary-by-header-pattern", "(?<=x)"), check: canary(canaryConfig{on: true, total: 100}), wantProblem: "not a regular expression"},
		{name: "weight over total", annotations: nginx("canary", "true", "canary-weight", "101"), check: canary(canaryConfig{on: true, total: 100}), wantProblem: "from 0 to 100"},
		{name: "weight of a larger total", annotations: nginx("canary", "true", "canary-weight-total", "1000", "canary-weight", "101"), check: canary(canaryConfig{on: true, weight: 101, total: 1000})},
		{name: "cookie", annotations: nginx("canary", "true", "canary-by-cookie", "beta"), check: canary(canaryConfig{on: true, cookie: "beta", total: 100})},
		{name: "not a canary", annotations: nginx("canary", "false"), check: canary(canaryConfig{total: 100})},
	})
}
