package ingress

import (
	"fmt"
	"net/netip"
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
	// errorPage is the URL of auth-tls-error-page.
	errorPage string
}

// The client certificate annotations fail closed: they restrict access.
var clientAuthFamily = family{
	annotations: []annotationSpec{
		{name: "auth-tls-secret", fails: denyPaths, doc: "Secret (namespace/name) whose ca.crt (and optional ca.crl) verifies client certificates of the Ingress's hosts."},
		{name: "auth-tls-verify-client", fails: denyPaths, doc: "on (default), off, optional or optional_no_ca."},
		{name: "auth-tls-verify-depth", fails: denyPaths, doc: "Greatest number of intermediate CA certificates between the client's certificate and the CA of ca.crt it chains to, as OpenSSL (and so nginx) counts them, 1 to 10 (0 is the default, as in ingress-nginx). Default 1: a certificate that an intermediate of that CA issued verifies, one more intermediate does not."},
		{name: "auth-tls-match-cn", fails: denyPaths, doc: "Regular expression the client certificate's subject DN must match, else 403.",
			differs: "RE2 syntax (no backreferences or lookaround), which matches in linear time."},
		{name: "auth-tls-pass-certificate-to-upstream", fails: denyPaths, doc: "Send the client certificate (PEM, URL-escaped) to the backend in ssl-client-cert. Default false."},
		{name: "auth-tls-error-page", fails: ignoreIngress, doc: "An http or https URL that a client whose certificate is missing (with verify-client on) or does not verify is redirected to (302), instead of getting 400. Allowed characters: letters, digits and - . _ /, a host and an optional port; no query.",
			differs: "Only absolute URLs: the path of a page on the same server and nginx's named locations (@name), which ingress-nginx serves without a redirect, make the Ingress ignored, as an invalid value does."},
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
			// 0 is the default, 1, as ingress-nginx reads it.
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxVerifyDepth || strings.HasPrefix(v, "+") {
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
		if v, ok := r.value("auth-tls-error-page"); ok && v != "" {
			if err := checkErrorPage(v); err != nil {
				r.invalid("auth-tls-error-page", err)
			} else {
				a.errorPage = v
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

// errorPageURL is what auth-tls-error-page may be: an http or https URL
// of the characters ingress-nginx allows (its redirectRegex), without
// query or fragment, so nothing in it is expanded or interpreted.
var errorPageURL = regexp.MustCompile(`^https?://([A-Za-z0-9.-]+)(:[0-9]{1,5})?(/[A-Za-z0-9._-]+)*/?$`)

// nginxErrorPage is what ingress-nginx accepts besides: a path on the
// same server, a URL without scheme, or a named location.
var nginxErrorPage = regexp.MustCompile(`^(@[A-Za-z0-9_-]+|([A-Za-z0-9.-]+(:[0-9]+)?)?(/[A-Za-z0-9._-]+)*/?)$`)

// checkErrorPage checks the URL of auth-tls-error-page.
func checkErrorPage(value string) error {
	m := errorPageURL.FindStringSubmatch(value)
	if m == nil {
		if nginxErrorPage.MatchString(value) {
			return fmt.Errorf("%s is not supported: want an absolute http or https URL, such as https://errors.example.com/client-certificate.html", quoted(value))
		}
		return fmt.Errorf("invalid value %s: want an http or https URL of letters, digits and - . _ / without query", quoted(value))
	}
	host := strings.ToLower(m[1])
	if _, err := netip.ParseAddr(host); err != nil && validateHost(host) != nil {
		return fmt.Errorf("invalid value %s: the host is not a DNS name or IP address", quoted(value))
	}
	if m[2] != "" {
		if port, _ := strconv.Atoi(m[2][1:]); port < 1 || port > 65535 {
			return fmt.Errorf("invalid value %s: the port is not from 1 to 65535", quoted(value))
		}
	}
	return nil
}
