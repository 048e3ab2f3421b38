package ingress

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

var customHeadersFamily = family{
	annotations: []annotationSpec{
		{name: "custom-headers", fails: denyPaths, doc: "A ConfigMap (namespace/name, or a name in the Ingress's namespace) whose entries are set as response headers, literally, replacing the backend's. Every name must be in the app's allowed_response_headers; otherwise, or when the ConfigMap is missing, the paths answer 503. A change of the ConfigMap applies at once."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("custom-headers"); ok && strings.TrimSpace(v) != "" {
			c.customHeaders = strings.TrimSpace(v)
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) {
		if c.customHeaders == "" {
			return
		}
		name, cm, err := t.configMapFor(r.ing.Namespace, c.customHeaders)
		var lines string
		if err == nil {
			lines, err = headerLines(name, cm)
		}
		if err == nil {
			for _, line := range strings.Split(lines, "\n") {
				h, _, _ := strings.Cut(line, "\x00")
				if line != "" && !slices.Contains(t.allowedResponse, h) {
					err = fmt.Errorf("configmap %s: header %s is not in the app's allowed_response_headers", name, h)
					break
				}
			}
		}
		if err != nil {
			r.invalid("custom-headers", err)
			c.customHeaders = ""
			return
		}
		c.customOps = opsOf("set", lines)
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.headers.ops = joinOps(joinOps(s.globalOps, c.customOps), p.headers.ops)
	},
}

// opsOf turns header lines ("name\x00value" joined by "\n") into ops.
func opsOf(op, lines string) headerOps {
	var ops headerOps
	if lines == "" {
		return ops
	}
	for _, line := range strings.Split(lines, "\n") {
		name, value, _ := strings.Cut(line, "\x00")
		ops = ops.with(op, name, value)
	}
	return ops
}

// globalHeaders reads the ConfigMaps of the app's add_headers and
// proxy_set_headers; a missing or invalid one is left out, with a problem.
func (t *translation) globalHeaders() (ops headerOps, problems []Problem) {
	for _, g := range []struct{ option, ref, op string }{{"add_headers", t.opts.Headers.Add, "set"}, {"proxy_set_headers", t.opts.Headers.ProxySet, "req-set"}} {
		if g.ref == "" {
			continue
		}
		ref, err := ParseConfigMapRef(g.ref, "")
		var lines string
		if err == nil {
			cm := t.configMaps[ref.String()]
			if cm == nil {
				err = fmt.Errorf("configmap %s not found", ref)
			} else {
				lines, err = headerLines(ref.String(), cm)
			}
		}
		if err != nil {
			problems = append(problems, Problem{Object: ObjectRef{Kind: "Config", Name: g.option}, Reason: err.Error() + "; its headers are not set"})
			continue
		}
		ops = joinOps(ops, opsOf(g.op, lines))
	}
	return ops, problems
}

// canonicalNames returns header names in canonical form.
func canonicalNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = http.CanonicalHeaderKey(strings.TrimSpace(n))
	}
	return out
}
