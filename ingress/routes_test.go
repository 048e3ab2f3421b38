package ingress

import "testing"

// TestPlanKeyTellsPlansApart: plans that render differently have
// different keys, or paths would share the wrong routes.
func TestPlanKeyTellsPlansApart(t *testing.T) {
	tr := &translation{}
	tests := []struct {
		name string
		a, b func(p *plan)
	}{
		{name: "connection", b: func(p *plan) { p.proxy.connection = "close" }},
		{name: "close or keep-alive", a: func(p *plan) { p.proxy.connection = "keep-alive" }, b: func(p *plan) { p.proxy.connection = "close" }},
		{name: "send rate", b: func(p *plan) { p.limits.sendRate = 1024 }},
		{name: "send rate after", a: func(p *plan) { p.limits.sendRate = 1024 }, b: func(p *plan) { p.limits.sendRate, p.limits.sendRateAfter = 1024, 1 }},
		{name: "relative redirect", a: func(p *plan) { p.redirect.To = "/new" }, b: func(p *plan) { p.redirect.To, p.redirect.Relative = "/new", true }},
	}
	for _, tt := range tests {
		var a, b plan
		for _, p := range []*plan{&a, &b} {
			p.proxy.upstream, p.proxy.resolved = UpstreamKey{Namespace: "default", Service: "web"}, true
		}
		if tt.a != nil {
			tt.a(&a)
		}
		tt.b(&b)
		if tr.key(&a) == tr.key(&b) || string(render(&a)) == string(render(&b)) {
			t.Errorf("%s: got the same key or routes for both plans", tt.name)
		}
	}
}
