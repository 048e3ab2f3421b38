package ingress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// clientAuthOptions are the auth-tls-* annotations as given.
type clientAuthOptions struct {
	secret string
	verify ClientVerify // "" (on) or "off", "on", "optional", "optional_no_ca"
	depth  int          // 0: unset (1)
	pass   bool
	// matchCN is a regular expression the client certificate's subject
	// DN must match (auth-tls-match-cn).
	matchCN string
}

// The client certificate annotations fail closed: they restrict access.
var clientAuthFamily = family{
	annotations: []annotationSpec{
		{name: "auth-tls-secret", fails: denyPaths, doc: "Secret (namespace/name) whose ca.crt (and optional ca.crl) verifies client certificates of the Ingress's hosts."},
		{name: "auth-tls-verify-client", fails: denyPaths, doc: "on (default), off, optional or optional_no_ca."},
		{name: "auth-tls-verify-depth", fails: denyPaths, doc: "Greatest number of CA certificates above the client's, 1 to 10. Default 1."},
		{name: "auth-tls-match-cn", fails: denyPaths, doc: "Regular expression the client certificate's subject DN must match, else 403.",
			differs: "RE2 syntax (no backreferences or lookaround), which matches in linear time."},
		{name: "auth-tls-pass-certificate-to-upstream", fails: denyPaths, doc: "Send the client certificate (PEM, URL-escaped) to the backend in ssl-client-cert. Default false."},
	},
	parse: func(r *reader, c *ingressConfig) {
		a := &c.clientAuth
		if v, ok := r.value("auth-tls-secret"); ok {
			if err := checkSecretRef(v); err != nil {
				r.invalid("auth-tls-secret", err)
			} else {
				a.secret = v
			}
		}
		if v, ok := r.value("auth-tls-verify-client"); ok {
			switch cv := ClientVerify(v); cv {
			case "off", ClientVerifyOn, ClientVerifyOptional, ClientVerifyOptionalNoCA:
				a.verify = cv
			default:
				r.invalid("auth-tls-verify-client", fmt.Errorf("invalid value %s: want on, off, optional or optional_no_ca", quoted(v)))
			}
		}
		if v, ok := r.value("auth-tls-verify-depth"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxVerifyDepth || strings.HasPrefix(v, "+") {
				r.invalid("auth-tls-verify-depth", fmt.Errorf("invalid value %s: want a number from 1 to %d", quoted(v), maxVerifyDepth))
			} else {
				a.depth = n
			}
		}
		if v, ok := r.value("auth-tls-match-cn"); ok {
			if err := checkMatchCN(v); err != nil {
				r.invalid("auth-tls-match-cn", err)
			} else {
				a.matchCN = v
			}
		}
		if v, ok := r.parseBool("auth-tls-pass-certificate-to-upstream"); ok {
			a.pass = v
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) { c.auth = t.resolveClientAuth(r, c) },
}

// maxMatchCN bounds the length of auth-tls-match-cn.
const maxMatchCN = 1024

// checkMatchCN checks that auth-tls-match-cn is a regular expression (RE2
// syntax, which matches in linear time, so no value can make matching
// slow).
func checkMatchCN(value string) error {
	if value == "" || len(value) > maxMatchCN {
		return fmt.Errorf("invalid value: want a regular expression of 1 to %d characters", maxMatchCN)
	}
	if _, err := regexp.Compile(value); err != nil {
		return fmt.Errorf("invalid value %s: %v", quoted(value), err)
	}
	return nil
}

// maxVerifyDepth bounds auth-tls-verify-depth.
const maxVerifyDepth = 10
