package ingress

import "fmt"

// SatisfyAnyModule (http.handlers.<name>) lets a request through when one
// of its access checks does.
const SatisfyAnyModule = "ingress_satisfy_any"

var satisfyFamily = family{
	annotations: []annotationSpec{
		{name: "satisfy", fails: keepDefault, doc: "all (default): a request must pass every access check of the path (source ranges, basic or digest auth, external auth); any: one is enough. When none passes, the client gets the answer of the first that asks for credentials, else 403."},
	},
	parse: func(r *reader, c *ingressConfig) {
		v, ok := r.value("satisfy")
		switch {
		case !ok:
		case v == "any":
			c.satisfyAny = true
		case v == "all":
		default:
			r.invalid("satisfy", fmt.Errorf("invalid value %s: want any or all", quoted(v)))
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.access.satisfyAny = c.satisfyAny
	},
}
