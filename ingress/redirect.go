package ingress

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// redirectConfig is what app-root, permanent-redirect and
// temporal-redirect say.
type redirectConfig struct {
	appRoot string
	// to and code are the fixed redirect, temporal-redirect winning over
	// permanent-redirect.
	to   string
	code int
	// relative keeps a path-only Location relative (relative-redirects).
	relative bool
}

// pathChars are the characters ingress-nginx allows in app-root (its
// RegexPathWithCapture), less $, which nginx would expand as a variable.
var pathChars = regexp.MustCompile(`^/[-._~a-zA-Z0-9/:]*$`)

// urlChars are the characters ingress-nginx allows in redirect URLs (its
// URLIsValidRegex).
var urlChars = regexp.MustCompile(`^[-._~a-zA-Z0-9/:,?&=]*$`)

var redirectFamily = family{
	annotations: []annotationSpec{
		{name: "app-root", doc: "Redirect requests for exactly / (302) to this path on the same scheme and host, before any path is matched; the query is dropped. The oldest Ingress of the host that sets it wins.",
			differs: "$ is not allowed (nginx would expand it as a variable)."},
		{name: "permanent-redirect", fails: ignoreIngress, doc: "Answer every request of the Ingress's paths, and the host's requests that match no path, with a redirect to this URL, verbatim (the request's path and query are not appended); the backend is not contacted. A URL that is only a path gets the request's scheme and host. Allowed characters: letters, digits and - . _ ~ / : , ? & =."},
		{name: "permanent-redirect-code", fails: ignoreIngress, doc: "Status of permanent-redirect, 300 to 308; out of range keeps 301."},
		{name: "temporal-redirect", fails: ignoreIngress, doc: "As permanent-redirect, with 302, for http and https URLs (others are ignored); wins when both are set."},
		{name: "temporal-redirect-code", fails: ignoreIngress, doc: "Status of temporal-redirect, 300 to 307; out of range keeps 302."},
		{name: "relative-redirects", fails: ignoreIngress, doc: "\"true\" sends the Location of a permanent-redirect whose URL is only a path as that path, without the request's scheme and host (nginx's absolute_redirect off). The other redirects (ssl-redirect, from-to-www-redirect, app-root) are built with scheme and host and stay absolute, as in ingress-nginx. Default false."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("app-root"); ok && v != "" {
			if !pathChars.MatchString(v) {
				r.invalid("app-root", fmt.Errorf("invalid value %s: want an absolute path such as /app of letters, digits and / - . _ ~ :", quoted(v)))
			} else {
				c.redirect.appRoot = v
			}
		}
		if to, code, ok := fixedRedirect(r, "permanent-redirect", 301, 308); ok {
			c.redirect.to, c.redirect.code = to, code
		}
		c.redirect.relative, _ = r.parseBool("relative-redirects")
		if to, code, ok := fixedRedirect(r, "temporal-redirect", 302, 307); ok {
			if u, err := url.Parse(to); err != nil || !strings.HasPrefix(u.Scheme, "http") {
				r.warn("temporal-redirect", fmt.Sprintf("%s is not an http or https URL; not redirecting", quoted(to)))
			} else {
				c.redirect.to, c.redirect.code = to, code
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.redirect.To, p.redirect.Code = c.redirect.to, c.redirect.code
		// Only a Location that is a path can be relative.
		p.redirect.Relative = c.redirect.relative && strings.HasPrefix(c.redirect.to, "/")
	},
}

// fixedRedirect reads name and name-code: the URL must be of allowed
// characters and the code a number (else the Ingress is ignored, as
// ingress-nginx does), the code from 300 to max (else def).
func fixedRedirect(r *reader, name string, def, max int) (string, int, bool) {
	code := def
	if v, ok := r.value(name + "-code"); ok && v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			r.invalid(name+"-code", fmt.Errorf("invalid value %s: want a number", quoted(v)))
		case n < 300 || n > max:
			r.warn(name+"-code", fmt.Sprintf("%d is not a redirect status from 300 to %d; using %d", n, max, def))
		default:
			code = n
		}
	}
	v, ok := r.value(name)
	if !ok || v == "" {
		return "", 0, false
	}
	if !urlChars.MatchString(v) {
		r.invalid(name, fmt.Errorf("invalid value %s: want a URL of letters, digits and - . _ ~ / : , ? & =", quoted(v)))
		return "", 0, false
	}
	return v, code, true
}
