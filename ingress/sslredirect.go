package ingress

import "strings"

// acmeChallengePath is where ACME HTTP-01 challenges are answered; paths
// under it are not redirected to HTTPS (ingress-nginx's default
// no-tls-redirect-locations).
const acmeChallengePath = "/.well-known/acme-challenge"

// sslRedirectConfig is what ssl-redirect, force-ssl-redirect and
// preserve-trailing-slash say.
type sslRedirectConfig struct {
	// redirect redirects plain HTTP to HTTPS on hosts with TLS.
	redirect bool
	// force redirects plain HTTP to HTTPS on every host.
	force bool
	// preserveTrailingSlash keeps the trailing slash of the URI in the
	// redirect's Location.
	preserveTrailingSlash bool
}

var sslRedirectFamily = family{
	annotations: []annotationSpec{
		{name: "ssl-redirect", doc: "Redirect plain HTTP to HTTPS (308) on hosts listed under spec.tls. Default true. Paths and requests under /.well-known/acme-challenge are not redirected; X-Forwarded-Proto: https from a trusted proxy (Caddy's trusted_proxies) counts as HTTPS.",
			differs: "The Location carries the https_port when it is not 443 (ingress-nginx: only with use-port-in-redirects); X-Forwarded-Proto and X-Forwarded-Host count from Caddy's trusted_proxies (ingress-nginx: use-forwarded-headers)."},
		{name: "force-ssl-redirect", doc: "Redirect plain HTTP to HTTPS (308) even on hosts without TLS. Default false."},
		{name: "preserve-trailing-slash", doc: "Keep the trailing slash of the URI in the HTTPS redirect's Location (by default one is dropped). Default false."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.parseBool("ssl-redirect"); ok {
			c.ssl.redirect = v
		}
		if v, ok := r.parseBool("force-ssl-redirect"); ok {
			c.ssl.force = v
		}
		if v, ok := r.parseBool("preserve-trailing-slash"); ok {
			c.ssl.preserveTrailingSlash = v
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		if c.ssl.redirects(s.hostTLS) && !strings.HasPrefix(s.path, acmeChallengePath) {
			p.redirect.HTTPS, p.redirect.HTTPSPort = true, s.opts.HTTPSPort
			p.redirect.PreserveTrailingSlash = c.ssl.preserveTrailingSlash
		}
	},
}

// redirects reports whether plain HTTP is redirected to HTTPS on a host.
func (c sslRedirectConfig) redirects(hostTLS bool) bool {
	return c.force || (c.redirect && hostTLS)
}
