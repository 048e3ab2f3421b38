package ingress

import (
	"fmt"
	"regexp"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
)

// canaryConfig is what canary and the canary-* annotations say.
type canaryConfig struct {
	on bool
	// header, headerValue and headerPattern route by a request header;
	// cookie by a cookie; weight (out of total) at random.
	header, headerValue, headerPattern string
	cookie                             string
	weight, total                      int
	// legacy is affinity-canary-behavior: legacy, which leaves the
	// canary without affinity.
	legacy bool
}

// Canary is how a request chooses between a path's backend and its
// canary, as the canary matcher takes it: by header, then cookie, then
// weight. The weight is looked up at request time (Result.CanaryWeights),
// so a change of weight rebuilds no route.
type Canary struct {
	// Ingress is the namespace/name of the canary Ingress.
	Ingress string `json:"ingress"`
	// Header, when set, sends requests with the value HeaderValue (or
	// matching HeaderPattern, or "always") to the canary and those with
	// "never" to the main backend; others go on to the cookie.
	Header        string `json:"header,omitempty"`
	HeaderValue   string `json:"header_value,omitempty"`
	HeaderPattern string `json:"header_pattern,omitempty"`
	// Cookie, when set, sends requests whose cookie of this name is
	// "always" to the canary and "never" to the main backend.
	Cookie string `json:"cookie,omitempty"`
	// AffinityCookie, when set, is the canary's session cookie: a
	// request whose cookie names an endpoint of the canary's Service
	// (Namespace, Service, PortName) stays on the canary, whatever the
	// weight (affinity-canary-behavior: sticky).
	AffinityCookie string       `json:"affinity_cookie,omitempty"`
	Upstream       *UpstreamKey `json:"upstream,omitempty"`
}

// CanaryWeight is the share of requests a canary Ingress gets by weight.
type CanaryWeight struct {
	Ingress string `json:"ingress"`
	Weight  int    `json:"weight"`
	Total   int    `json:"total"`
}

// CanaryMatcherModule (http.matchers.<name>) decides whether a request
// goes to the canary.
const CanaryMatcherModule = "ingress_canary"

var (
	headerNameValue  = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,256}$`)
	headerValueChars = regexp.MustCompile(`^[\x20-\x7e]{1,1000}$`)
)

var canaryFamily = family{
	annotations: []annotationSpec{
		{name: "canary", doc: "\"true\" makes this Ingress a canary: it serves no host or path of its own, but takes a share of the requests of the same host and path of another (mainline) Ingress, chosen by header, then cookie, then weight. A canary without a mainline path is reported and serves nothing."},
		{name: "canary-by-header", doc: "A request header: \"always\" sends the request to the canary, \"never\" to the mainline; other values go on to the cookie and weight."},
		{name: "canary-by-header-value", doc: "The value of canary-by-header that sends requests to the canary (exactly, case-sensitive) instead of \"always\"."},
		{name: "canary-by-header-pattern", doc: "A regular expression that the header value matches to send the request to the canary; ignored when canary-by-header-value is set.",
			differs: "RE2 syntax; a pattern that does not compile is reported and not used."},
		{name: "canary-by-cookie", doc: "A cookie: \"always\" sends the request to the canary, \"never\" to the mainline; other values go on to the weight."},
		{name: "canary-weight", doc: "The share of the remaining requests that go to the canary, out of canary-weight-total. Default 0. A change takes effect without rebuilding routes."},
		{name: "canary-weight-total", doc: "What canary-weight counts out of. Default 100."},
		{name: "affinity-canary-behavior", doc: "With affinity on the canary: sticky (default) keeps a session that the canary's cookie ties to one of its endpoints on the canary whatever the weight; legacy gives the canary no affinity (and no cookie)."},
	},
	parse: func(r *reader, c *ingressConfig) {
		k := &c.canary
		k.on, _ = r.parseBool("canary")
		k.header = matchOr(r, "canary-by-header", headerNameValue, "", "a header name")
		k.headerValue = matchOr(r, "canary-by-header-value", headerValueChars, "", "printable text")
		if v, ok := r.value("canary-by-header-pattern"); ok && v != "" && k.headerValue == "" {
			if _, err := regexp.Compile(v); err != nil || len(v) > 1024 {
				r.invalid("canary-by-header-pattern", fmt.Errorf("invalid value %s: not a regular expression", quoted(v)))
			} else {
				k.headerPattern = v
			}
		}
		k.cookie = matchOr(r, "canary-by-cookie", cookieNameValue, "", "a cookie name of letters, digits, _ . -")
		if v, ok := r.value("affinity-canary-behavior"); ok && v != "" {
			switch v {
			case "sticky":
			case "legacy":
				k.legacy = true
			default:
				r.invalid("affinity-canary-behavior", fmt.Errorf("invalid value %s: want sticky or legacy", quoted(v)))
			}
		}
		k.total = 100
		if v, ok := r.value("canary-weight-total"); ok {
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1000000 {
				r.invalid("canary-weight-total", fmt.Errorf("invalid value %s: want a number from 1 to 1000000", quoted(v)))
			} else {
				k.total = n
			}
		}
		if v, ok := r.value("canary-weight"); ok {
			if n, err := strconv.Atoi(v); err != nil || n < 0 || n > k.total {
				r.invalid("canary-weight", fmt.Errorf("invalid value %s: want a number from 0 to %d", quoted(v), k.total))
			} else {
				k.weight = n
			}
		}
	},
}

// addCanary attaches the paths of a canary Ingress to the identical host
// and path of a mainline Ingress, and re-renders those.
func (t *translation) addCanary(ing *networkingv1.Ingress, c *ingressConfig) {
	report := t.reporter(ing)
	owner := key(ing)
	t.canaryWeights = append(t.canaryWeights, CanaryWeight{Ingress: owner, Weight: c.canary.weight, Total: c.canary.total})
	if ing.Spec.DefaultBackend != nil {
		report("spec.defaultBackend", "a canary's default backend is not supported; not used")
	}
	for i, rule := range ing.Spec.Rules {
		if rule.HTTP == nil || validateHost(rule.Host) != nil && rule.Host != "" {
			continue
		}
		hr := t.hosts[rule.Host]
		for j, p := range rule.HTTP.Paths {
			pfield := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
			path, typ, err := normalizePath(p)
			if err != nil {
				report(pfield, err.Error())
				continue
			}
			var main *pathRule
			if hr != nil {
				main = hr.paths[pathKey{path, typ}]
			}
			switch {
			case main == nil:
				report(pfield, fmt.Sprintf("canary: no mainline Ingress serves %s path %q on host %q; not served", typ, path, rule.Host))
				continue
			case main.canary != "":
				report(pfield, fmt.Sprintf("canary: %s path %q on host %q already has the canary Ingress %s", typ, path, rule.Host, main.canary))
				continue
			}
			tgt := t.resolveBackend(ing.Namespace, &p.Backend, report, pfield+".backend")
			up, ok := tgt.key()
			if !ok {
				continue
			}
			main.canary = owner
			t.site = main.site
			planFor(main.cfg, &t.site, &t.plan)
			k := canaryPlan{
				match: Canary{Ingress: owner, Header: c.canary.header, HeaderValue: c.canary.headerValue,
					HeaderPattern: c.canary.headerPattern, Cookie: c.canary.cookie},
				upstream: up,
			}
			if c.affinity.on && !c.canary.legacy {
				var p plan
				affinityFamily.plan(c, &site{path: main.site.path, opts: &t.opts}, &p)
				k.affinity = p.proxy.affinity
				k.match.AffinityCookie = k.affinity.Name
			}
			t.plan.proxy.canary = k
			main.Routes = t.routesFor(&t.plan)
		}
	}
}

// canaryPlan is the canary of a path; match.Upstream is left nil (render
// sets it from upstream), so that equal plans compare equal.
type canaryPlan struct {
	match    Canary
	upstream UpstreamKey
	// affinity is the canary's session cookie, when it has one.
	affinity Affinity
}
