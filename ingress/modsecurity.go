package ingress

import (
	"fmt"
	"strings"
)

// modSecurityFamily is ingress-nginx's ModSecurity annotations. Caddy has
// no ModSecurity engine, so none is applied. ingress-nginx's default
// ModSecurity configuration only detects (SecRuleEngine DetectionOnly):
// left out, it blocks nothing that is now served. A modsecurity-snippet
// that turns the engine on asks for requests to be blocked, which cannot
// be done here, so those paths fail closed (503) rather than serve what
// the author meant to protect.
var modSecurityFamily = family{
	annotations: []annotationSpec{
		{name: "enable-modsecurity", unsupported: true, fails: keepDefault,
			doc:     "Not supported: Caddy has no ModSecurity engine. Reported and ignored; ingress-nginx's default ModSecurity configuration only detects (SecRuleEngine DetectionOnly), so it blocks nothing that is served here.",
			differs: "No ModSecurity: nothing is detected or logged by it."},
		{name: "enable-owasp-core-rules", unsupported: true, fails: keepDefault,
			doc: "Not supported, as enable-modsecurity: reported and ignored. The OWASP Core Rule Set blocks only with SecRuleEngine On (see modsecurity-snippet)."},
		{name: "modsecurity-transaction-id", unsupported: true, fails: keepDefault,
			doc: "Not supported, as enable-modsecurity: reported and ignored."},
		{name: "modsecurity-snippet", unsupported: true, fails: denyPaths,
			doc:     "Not supported, as enable-modsecurity. A snippet that turns the engine on (SecRuleEngine On), unless enable-modsecurity is \"false\", makes the paths answer 503: ModSecurity would block requests, and nothing here can; otherwise reported and ignored.",
			differs: "Fails closed where ingress-nginx would enforce the rules: remove the annotation, or set SecRuleEngine DetectionOnly, to serve the paths without a WAF."},
	},
	parse: func(r *reader, c *ingressConfig) {
		enabled, enableSet := r.parseBool("enable-modsecurity")
		for _, name := range []string{"enable-modsecurity", "enable-owasp-core-rules", "modsecurity-transaction-id"} {
			if r.has(name) {
				r.warn(name, "not supported; ignored: Caddy has no ModSecurity engine")
			}
		}
		snippet, ok := r.value("modsecurity-snippet")
		if !ok {
			return
		}
		if ruleEngineOn(snippet) && !(enableSet && !enabled) {
			r.invalid("modsecurity-snippet", fmt.Errorf("turns SecRuleEngine On, so ModSecurity would block requests, and Caddy has no ModSecurity engine"))
			return
		}
		r.warn("modsecurity-snippet", "not supported; ignored: Caddy has no ModSecurity engine (the snippet does not turn SecRuleEngine On)")
	},
}

// ruleEngineOn reports whether a ModSecurity snippet has a SecRuleEngine
// On directive (ModSecurity's directive names and values are not case
// sensitive; a line that starts with # is a comment).
func ruleEngineOn(snippet string) bool {
	for _, line := range strings.Split(snippet, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.EqualFold(f[0], "SecRuleEngine") && strings.EqualFold(strings.Trim(f[1], `"'`), "On") {
			return true
		}
	}
	return false
}
