package ingress

var acmeFamily = family{
	annotations: []annotationSpec{
		{name: "acme", doc: "caddy-ingress only: get the certificates of all the Ingress's TLS hosts from Caddy's automation (ACME or the internal issuer), even those with a secretName. Default false."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.parseBool("acme"); ok {
			c.acme = v
		}
	},
}
