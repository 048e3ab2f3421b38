package ingress

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// errorsConfig is what default-backend, custom-http-errors and
// disable-proxy-intercept-errors say.
type errorsConfig struct {
	// defaultBackend is the Service named by default-backend, once
	// resolved.
	service  string
	resolved *UpstreamKey
	// codes are the custom-http-errors, sorted and comma-separated.
	codes string
	// noIntercept turns custom-http-errors off.
	noIntercept bool
}

var errorsFamily = family{
	annotations: []annotationSpec{
		{name: "default-backend", fails: ignoreIngress, doc: "A Service of the Ingress's namespace (its first port) that serves the Ingress's requests (same path, after any rewrite) when their Service has no ready endpoints (with X-Code: 503 and the other X- headers of custom-http-errors but X-Original-URI), and the errors of custom-http-errors."},
		{name: "custom-http-errors", fails: ignoreIngress, doc: "Comma-separated statuses (400-599): a backend response with one of them is replaced by the answer of the default backend (default-backend, else the app's default_backend) to / (the request's method and query kept) with X-Code, X-Format, X-Original-URI, X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port and X-Request-ID.",
			differs: "Only backend responses are replaced; errors that Caddy answers itself (no ready endpoints, a backend that cannot be reached) are not (default-backend serves the first)."},
		{name: "disable-proxy-intercept-errors", doc: "\"true\" passes the backend's error responses on unchanged even with custom-http-errors. Default false."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("default-backend"); ok {
			if !isDNSLabel(v, 63) || v[0] >= '0' && v[0] <= '9' {
				r.invalid("default-backend", fmt.Errorf("invalid value %s: want the name of a Service in the Ingress's namespace", quoted(v)))
			} else {
				c.errors.service = v
			}
		}
		if v, ok := r.value("custom-http-errors"); ok {
			codes, err := parseStatusCodes(v)
			if err != nil {
				r.invalid("custom-http-errors", err)
			} else {
				c.errors.codes = codes
			}
		}
		if v, ok := r.parseBool("disable-proxy-intercept-errors"); ok {
			c.errors.noIntercept = v
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) {
		if c.errors.service == "" {
			return
		}
		svc := t.service(r.ing.Namespace + "/" + c.errors.service)
		if svc == nil {
			r.warn("default-backend", fmt.Sprintf("service %s/%s not found; not used", r.ing.Namespace, c.errors.service))
			return
		}
		if len(svc.Spec.Ports) == 0 {
			r.warn("default-backend", fmt.Sprintf("service %s/%s has no port; not used", r.ing.Namespace, c.errors.service))
			return
		}
		c.errors.resolved = &UpstreamKey{Namespace: svc.Namespace, Service: svc.Name, PortName: svc.Spec.Ports[0].Name}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		up, ok := s.target.key()
		if !ok {
			return
		}
		e := errorBackend{namespace: s.ing.Namespace, ingress: s.ing.Name, service: up.Service, port: strconv.Itoa(int(s.target.port))}
		if c.errors.resolved != nil {
			e.upstream = *c.errors.resolved
			p.proxy.fallback = e
		} else if d := s.defaultUpstream; d != nil {
			e.upstream = *d
		}
		if c.errors.codes != "" && !c.errors.noIntercept && e.upstream.Service != "" {
			p.proxy.errors = errorPages{codes: c.errors.codes, backend: e}
		}
	},
}

// statusCodesValue is what ingress-nginx allows in custom-http-errors
// (spaces removed).
var statusCodesValue = regexp.MustCompile(`^(?:[45][0-9]{2},?)*$`)

// parseStatusCodes reads a comma-separated list of statuses from 400 to
// 599 and returns it sorted, without repeats.
func parseStatusCodes(v string) (string, error) {
	if !statusCodesValue.MatchString(strings.ReplaceAll(v, " ", "")) {
		return "", fmt.Errorf("invalid value %s: want comma-separated statuses from 400 to 599", quoted(v))
	}
	var codes []int
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			n, _ := strconv.Atoi(f)
			codes = append(codes, n)
		}
	}
	if len(codes) == 0 {
		return "", nil
	}
	slices.Sort(codes)
	codes = slices.Compact(codes)
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = strconv.Itoa(c)
	}
	return strings.Join(out, ","), nil
}
