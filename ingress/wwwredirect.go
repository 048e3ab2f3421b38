package ingress

import "strings"

var wwwRedirectFamily = family{
	annotations: []annotationSpec{
		{name: "from-to-www-redirect", doc: "Redirect (308) the www. form of each rule host to the host, or the host to its www. form when the rule host starts with www.; the Location keeps the scheme, the port and the URI less one trailing slash. Skipped when an Ingress has rules for the other name. Default false."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.parseBool("from-to-www-redirect"); ok {
			c.wwwRedirect = v
		}
	},
}

// wwwPeer returns the name that from-to-www-redirect redirects from for a
// rule host: "www." added or removed; "" for wildcard hosts.
func wwwPeer(host string) string {
	if host == "" || strings.HasPrefix(host, "*.") {
		return ""
	}
	if rest, ok := strings.CutPrefix(host, "www."); ok {
		if strings.Contains(rest, ".") {
			return rest
		}
		return ""
	}
	return "www." + host
}
