package ingress

import (
	"fmt"
	"slices"
	"strings"
)

// maxAliases bounds the names of one server-alias annotation.
const maxAliases = 100

var aliasFamily = family{
	annotations: []annotationSpec{
		{name: "server-alias", fails: ignoreIngress, doc: "Comma-separated other host names that serve every path of the Ingress's rule hosts (from all Ingresses), with the Host the client sent. The first Ingress to set aliases for a host wins; an alias that is a rule host itself is not used.",
			differs: "Names are DNS names or one-label wildcards (*.example.com); nginx regular-expression names (~…) are not supported and are reported and not used."},
	},
	parse: func(r *reader, c *ingressConfig) {
		v, ok := r.value("server-alias")
		if !ok {
			return
		}
		var names []string
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" || slices.Contains(names, name) {
				continue
			}
			if strings.HasPrefix(name, "~") {
				r.warn("server-alias", fmt.Sprintf("alias %s: regular-expression names are not supported; not used", quoted(name)))
				continue
			}
			if err := validateHost(name); err != nil {
				r.invalid("server-alias", fmt.Errorf("invalid value %s: %v", quoted(v), err))
				return
			}
			names = append(names, name)
		}
		if len(names) > maxAliases {
			r.invalid("server-alias", fmt.Errorf("%d aliases: at most %d are allowed", len(names), maxAliases))
			return
		}
		slices.Sort(names)
		c.aliases = names
	},
}
