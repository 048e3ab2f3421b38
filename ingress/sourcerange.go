package ingress

import "strings"

// sourceRangeConfig is what the allow- and deny-list annotations say:
// canonical networks, comma-separated.
type sourceRangeConfig struct {
	allow, deny string
}

// AccessModule (http.handlers.<name>) answers 403 to clients outside an
// allow-list or inside a deny-list.
const AccessModule = "ingress_access"

var sourceRangeFamily = family{
	annotations: []annotationSpec{
		{name: "whitelist-source-range", fails: denyPaths, doc: "Client addresses and networks (CIDR, IPv4 or IPv6, separated by commas or white space) that may reach the Ingress's paths; others get 403. The client is the peer, or the address a trusted proxy names (use_forwarded_headers). An invalid entry makes the paths answer 503."},
		{name: "allowlist-source-range", fails: denyPaths, doc: "As whitelist-source-range, which it wins over."},
		{name: "denylist-source-range", fails: denyPaths, doc: "Client addresses and networks that get 403; checked before the allow-list. An invalid entry makes the paths answer 503."},
	},
	parse: func(r *reader, c *ingressConfig) {
		sr := &c.sourceRange
		for _, name := range []string{"allowlist-source-range", "whitelist-source-range"} {
			v, ok := r.value(name)
			if !ok || sr.allow != "" {
				continue
			}
			nets, err := ParseNetworks(v)
			switch {
			case err != nil:
				r.invalid(name, err)
			case len(nets) == 0:
				r.fail(name, denyPaths, "lists no address")
			default:
				sr.allow = strings.Join(nets, ",")
			}
		}
		if v, ok := r.value("denylist-source-range"); ok {
			nets, err := ParseNetworks(v)
			if err != nil {
				r.invalid("denylist-source-range", err)
			} else {
				sr.deny = strings.Join(nets, ",")
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.access.allow, p.access.deny = c.sourceRange.allow, c.sourceRange.deny
	},
}
