package ingress

import (
	"fmt"
	"regexp"
)

// cipherString is what an OpenSSL cipher list may hold (ingress-nginx's
// check of ssl-ciphers).
var cipherString = regexp.MustCompile(`^[A-Za-z0-9!:+\-@=_.]{1,1000}$`)

// checkCipherList checks that value is of the characters of an OpenSSL
// cipher list.
func checkCipherList(value string) error {
	if !cipherString.MatchString(value) {
		return fmt.Errorf("invalid value %s: want an OpenSSL cipher list such as ECDHE-RSA-AES128-GCM-SHA256:!aNULL", quoted(value))
	}
	return nil
}

var tlsTuningFamily = family{
	annotations: []annotationSpec{
		{name: "ssl-ciphers", fails: ignoreIngress, doc: "An OpenSSL cipher list for TLS 1.2 and older. Checked (other characters than OpenSSL's make the Ingress ignored, as ingress-nginx), then reported as not applied.",
			differs: "Caddy's TLS (Go's crypto/tls) picks among its own secure suites and cannot take a cipher list per host; set cipher_suites in the tls connection policies of the Caddyfile for all hosts instead."},
		{name: "ssl-prefer-server-ciphers", fails: keepDefault, doc: "\"true\" is what Caddy always does (Go's TLS orders the suites itself); \"false\" is reported as not applied.",
			differs: "Go's TLS has no client-preference mode."},
		{name: "enable-access-log", fails: keepDefault, doc: "\"false\" leaves the requests of the Ingress's paths out of Caddy's access log. Default true."},
		{name: "enable-rewrite-log", fails: keepDefault, doc: "Accepted (\"true\" or \"false\") and has no effect: it turns on nginx's rewrite_log, which writes how nginx's own rewrite rules were processed to its error log; Caddy has no such log."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("ssl-ciphers"); ok {
			if err := checkCipherList(v); err != nil {
				r.invalid("ssl-ciphers", err)
			} else {
				r.warn("ssl-ciphers", "not applied: Caddy's TLS uses Go's own cipher suites and takes no cipher list per host (see cipher_suites of the Caddyfile's tls connection policies)")
			}
		}
		if v, ok := r.parseBool("ssl-prefer-server-ciphers"); ok && !v {
			r.warn("ssl-prefer-server-ciphers", "not applied: Go's TLS always orders cipher suites itself")
		}
		r.parseBool("enable-rewrite-log")
		if v, ok := r.parseBool("enable-access-log"); ok && !v {
			c.noAccessLog = true
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.logSkip = c.noAccessLog
	},
}
