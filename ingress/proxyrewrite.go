package ingress

import (
	"fmt"
	"regexp"
	"strings"
)

// proxyRewriteConfig is what proxy-redirect-from/-to and
// proxy-cookie-domain/-path say: prefixes (domains) of the backend's
// headers and what replaces them.
type proxyRewriteConfig struct {
	redirectFrom, redirectTo         string
	cookieDomainFrom, cookieDomainTo string
	cookiePathFrom, cookiePathTo     string
}

// cookieDomainValue is what ingress-nginx allows in proxy-cookie-domain.
var cookieDomainValue = regexp.MustCompile(`^[-._~a-zA-Z0-9/:]+\s+[-._~a-zA-Z0-9/:]+$`)

var proxyRewriteFamily = family{
	annotations: []annotationSpec{
		{name: "proxy-redirect-from", doc: "Text that the start of the backend's Location and Refresh headers is compared with (case-insensitively) and replaced by proxy-redirect-to. \"off\" (default) and \"default\" rewrite nothing."},
		{name: "proxy-redirect-to", doc: "What replaces proxy-redirect-from; \"off\" rewrites nothing."},
		{name: "proxy-cookie-domain", doc: "\"<from> <to>\": the Domain attribute of the backend's Set-Cookie headers that equals from (case-insensitively) becomes to. Default off.",
			differs: "Compared as a whole domain; nginx's regular-expression form is refused by its own validation too."},
		{name: "proxy-cookie-path", doc: "\"<from> <to>\": a Path attribute of the backend's Set-Cookie headers that starts with from (case-insensitively) has that start replaced by to. Default off."},
	},
	parse: func(r *reader, c *ingressConfig) {
		pr := &c.proxyRewrite
		from, hasFrom := r.value("proxy-redirect-from")
		to, hasTo := r.value("proxy-redirect-to")
		switch {
		case !hasFrom || from == "off" || from == "default":
			if hasTo && !hasFrom {
				r.warn("proxy-redirect-to", "has no effect without proxy-redirect-from")
			}
		case !urlChars.MatchString(from):
			r.invalid("proxy-redirect-from", fmt.Errorf("invalid value %s: want a URL of letters, digits and - . _ ~ / : , ? & =", quoted(from)))
		case !hasTo:
			r.warn("proxy-redirect-from", "has no effect without proxy-redirect-to")
		case to == "off":
		case !urlChars.MatchString(to):
			r.invalid("proxy-redirect-to", fmt.Errorf("invalid value %s: want a URL of letters, digits and - . _ ~ / : , ? & =", quoted(to)))
		default:
			pr.redirectFrom, pr.redirectTo = from, to
		}
		pr.cookieDomainFrom, pr.cookieDomainTo = cookieRewrite(r, "proxy-cookie-domain")
		pr.cookiePathFrom, pr.cookiePathTo = cookieRewrite(r, "proxy-cookie-path")
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		pr := &c.proxyRewrite
		h := &p.headers
		h.redirectFrom, h.redirectTo = pr.redirectFrom, pr.redirectTo
		h.cookieDomainFrom, h.cookieDomainTo = pr.cookieDomainFrom, pr.cookieDomainTo
		h.cookiePathFrom, h.cookiePathTo = pr.cookiePathFrom, pr.cookiePathTo
	},
}

// cookieRewrite reads "off" or "<from> <to>".
func cookieRewrite(r *reader, name string) (from, to string) {
	v, ok := r.value(name)
	if !ok || v == "off" || v == "" {
		return "", ""
	}
	fields := strings.Fields(v)
	valid := len(fields) == 2 && urlChars.MatchString(fields[0]) && urlChars.MatchString(fields[1])
	if name == "proxy-cookie-domain" {
		valid = cookieDomainValue.MatchString(v)
	}
	if !valid {
		r.invalid(name, fmt.Errorf("invalid value %s: want \"off\" or \"<from> <to>\" of letters, digits and - . _ ~ / :", quoted(v)))
		return "", ""
	}
	return fields[0], fields[1]
}
