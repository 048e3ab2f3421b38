package ingress

import "fmt"

var loadBalanceFamily = family{
	annotations: []annotationSpec{
		{name: "load-balance", doc: "How requests are spread over a Service's ready endpoints: round_robin (each in turn) or ewma (to the endpoint with the fewest requests in flight). Default: the app's load_balance (round_robin).",
			differs: "ewma is served by Caddy's least_conn, which weighs requests in flight rather than a moving average of latency; chash, chashsubset and the sticky_ values (set by upstream-hash-by and affinity in ingress-nginx) are reported and round_robin is used."},
	},
	parse: func(r *reader, c *ingressConfig) {
		v, ok := r.value("load-balance")
		if !ok {
			return
		}
		policy, err := ParseLoadBalance(v)
		if err != nil {
			r.invalid("load-balance", err)
			return
		}
		c.balance = policy
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.proxy.balance = s.opts.Traffic.LoadBalance
		if c.balance != "" {
			p.proxy.balance = c.balance
		}
		if p.proxy.balance == "round_robin" {
			p.proxy.balance = ""
		}
	},
}

// ParseLoadBalance maps an ingress-nginx load-balance value to the Caddy
// selection policy that serves it.
func ParseLoadBalance(v string) (string, error) {
	switch v {
	case "round_robin":
		return "round_robin", nil
	case "ewma":
		return "least_conn", nil
	case "chash", "chashsubset", "sticky_balanced", "sticky_persistent":
		return "", fmt.Errorf("%s is not supported; round_robin is used", v)
	}
	return "", fmt.Errorf("invalid value %s: want round_robin or ewma", quoted(v))
}
