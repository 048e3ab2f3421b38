package ingress

import (
	"fmt"
	"strconv"
	"strings"
)

// backendOptions say how to connect to an Ingress's backends: the
// backend-protocol and proxy-ssl-* annotations.
type backendOptions struct {
	// protocol is "" (HTTP), "HTTPS", "GRPC", "GRPCS", "H2C" or "FCGI".
	protocol string
	// secret is the proxy-ssl-secret as annotated; once resolved, the
	// namespace/name of a Secret in Result.BackendSecrets.
	secret string
	// verifyAnnotation, ownVerify and sendSNIAnnotation are "", "on" or
	// "off", as proxy-ssl-verify, caddy-ingress.io/backend-tls-verify and
	// proxy-ssl-server-name say.
	verifyAnnotation  string
	ownVerify         string
	sendSNIAnnotation string
	// serverName is proxy-ssl-name: the name the backend's certificate is
	// verified for (default: the Service's cluster DNS name).
	serverName string
	// protocolMin and protocolMax are the TLS versions of
	// proxy-ssl-protocols, "tls1.2" or "tls1.3"; "" when unset.
	protocolMin, protocolMax string
	// ciphers are the Go names of the TLS 1.2 suites of proxy-ssl-ciphers,
	// sorted and comma-separated; "" when unset.
	ciphers string
	// verifyDepth is proxy-ssl-verify-depth, if depthSet; once resolved,
	// the depth applied when verify is on.
	verifyDepth int
	depthSet    bool

	// Resolved from the above.
	verify  bool
	sendSNI bool
	// ingress is the namespace/name of the Ingress, named in errors of
	// TLS connections to its backends.
	ingress string
}

func (b *backendOptions) tls() bool { return b.protocol == "HTTPS" || b.protocol == "GRPCS" }

// The backend TLS annotations fail closed: a backend must not be reached
// with less protection than asked for.
var backendTLSFamily = family{
	annotations: []annotationSpec{
		{name: "backend-protocol", fails: denyPaths, doc: "How to talk to the backends: HTTP (default), HTTPS, GRPC, GRPCS, H2C or FCGI (FastCGI, with the params of nginx's fastcgi_params; see fastcgi-index and fastcgi-params-configmap).",
			differs: "An unknown or unsupported value (AUTO_HTTP, AJP) makes the paths answer 503; ingress-nginx falls back to HTTP. With FCGI, DOCUMENT_ROOT and SCRIPT_FILENAME are sent empty unless fastcgi-params-configmap sets them (ingress-nginx sends its own html directory and no SCRIPT_FILENAME), and the proxy-*-timeout annotations apply."},
		{name: "proxy-ssl-secret", fails: denyPaths, doc: "Secret (namespace/name) with ca.crt to verify HTTPS backends and tls.crt/tls.key to present to them."},
		{name: "proxy-ssl-verify", fails: denyPaths, doc: "\"on\" verifies the backend's certificate against proxy-ssl-secret's ca.crt. Default: on when that Secret has a ca.crt.",
			differs: "ingress-nginx's default is off."},
		{name: "backend-tls-verify", fails: denyPaths, doc: "caddy-ingress only: as proxy-ssl-verify, and wins over it."},
		{name: "proxy-ssl-name", fails: denyPaths, doc: "The name the backend's certificate is verified for (and sent as SNI with proxy-ssl-server-name). Default: <service>.<namespace>.svc."},
		{name: "proxy-ssl-server-name", fails: denyPaths, doc: "\"on\" sends the server name as SNI to HTTPS backends. Default off."},
		{name: "proxy-ssl-protocols", fails: denyPaths, doc: "TLS versions offered to HTTPS backends, separated by spaces: TLSv1.2, TLSv1.3 or both. Default: both.",
			differs: "ingress-nginx's default is TLSv1.2 alone. TLSv1 and TLSv1.1 are refused (deprecated, RFC 8996), as ingress-nginx's check refuses them; an invalid value makes the paths answer 503 where ingress-nginx falls back to TLSv1.2."},
		{name: "proxy-ssl-ciphers", fails: denyPaths, doc: "OpenSSL cipher list of the TLS 1.2 suites offered to HTTPS backends: suite names such as ECDHE-RSA-AES128-GCM-SHA256, keywords and combinations (HIGH, DEFAULT, ECDHE+AESGCM), exclusions (!aNULL, -ECDHE-RSA-AES128-SHA); +K and @STRENGTH are accepted (Go orders the suites itself). Default: Go's secure suites. TLS 1.3 suites are not configurable.",
			differs: "Keywords select among Go's secure suites only (HIGH:!aNULL:!MD5 is all of them), so insecure suites (RSA key exchange, 3DES, RC4, CBC-SHA256) are never offered, and naming one, a keyword whose suites are not known exactly, or another @ command makes the paths answer 503; ingress-nginx falls back to DEFAULT on characters outside its set."},
		{name: "proxy-ssl-verify-depth", fails: keepDefault, doc: "Greatest number of intermediate CA certificates between the backend's certificate and the CA of ca.crt it chains to, as OpenSSL counts them, 0 to 100. Default 1.",
			differs: "0 is honoured (the backend's certificate must be issued by a CA of ca.crt); ingress-nginx reads it as 1."},
	},
	parse: func(r *reader, c *ingressConfig) {
		b := &c.backend
		if v, ok := r.value("backend-protocol"); ok {
			if p, err := parseBackendProtocol(v); err != nil {
				r.invalid("backend-protocol", err)
			} else {
				b.protocol = p
			}
		}
		if v, ok := r.value("proxy-ssl-secret"); ok {
			if err := checkSecretRef(v); err != nil {
				r.invalid("proxy-ssl-secret", err)
			} else {
				b.secret = v
			}
		}
		onOff(r, "proxy-ssl-verify", &b.verifyAnnotation)
		onOff(r, "backend-tls-verify", &b.ownVerify)
		onOff(r, "proxy-ssl-server-name", &b.sendSNIAnnotation)
		if v, ok := r.value("proxy-ssl-protocols"); ok {
			if lo, hi, err := parseProxyProtocols(v); err != nil {
				r.invalid("proxy-ssl-protocols", err)
			} else if lo == "" {
				r.warn("proxy-ssl-protocols", "empty; TLSv1.2 and TLSv1.3 are offered")
			} else {
				b.protocolMin, b.protocolMax = lo, hi
			}
		}
		if v, ok := r.value("proxy-ssl-ciphers"); ok {
			if names, err := goCipherSuites(v); err != nil {
				r.invalid("proxy-ssl-ciphers", err)
			} else {
				b.ciphers = strings.Join(names, ",")
			}
		}
		if v, ok := r.value("proxy-ssl-verify-depth"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxProxyVerifyDepth || strings.HasPrefix(v, "+") {
				r.invalid("proxy-ssl-verify-depth", fmt.Errorf("invalid value %s: want a number from 0 to %d; using 1", quoted(v), maxProxyVerifyDepth))
			} else {
				b.verifyDepth, b.depthSet = n, true
			}
		}
		if v, ok := r.value("proxy-ssl-name"); ok {
			name := strings.ToLower(v)
			if strings.Contains(name, "*") || validateHost(name) != nil {
				r.invalid("proxy-ssl-name", fmt.Errorf("invalid value %s: want a DNS name such as backend.example.com", quoted(v)))
			} else {
				b.serverName = name
			}
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) { t.resolveBackendTLS(r, c) },
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.proxy.backend = c.backend
	},
}

// maxProxyVerifyDepth bounds proxy-ssl-verify-depth (OpenSSL's default
// limit).
const maxProxyVerifyDepth = 100

// parseProxyProtocols reads proxy-ssl-protocols into the least and the
// greatest TLS version it names; both "" when it names none.
func parseProxyProtocols(value string) (lo, hi string, err error) {
	tls12, tls13 := false, false
	for p := range strings.SplitSeq(value, " ") {
		switch p {
		case "":
		case "TLSv1.2":
			tls12 = true
		case "TLSv1.3":
			tls13 = true
		case "SSLv2", "SSLv3", "TLSv1", "TLSv1.1":
			return "", "", fmt.Errorf("%s is not supported: it is deprecated (RFC 8996); want TLSv1.2, TLSv1.3 or both", p)
		default:
			return "", "", fmt.Errorf("invalid value %s: want TLSv1.2, TLSv1.3 or both, separated by a space", quoted(value))
		}
	}
	switch {
	case tls12 && tls13:
		return "tls1.2", "tls1.3", nil
	case tls12:
		return "tls1.2", "tls1.2", nil
	case tls13:
		return "tls1.3", "tls1.3", nil
	}
	return "", "", nil
}

func parseBackendProtocol(value string) (string, error) {
	switch p := strings.ToUpper(value); p {
	case "HTTP":
		return "", nil
	case "HTTPS", "GRPC", "GRPCS", "H2C", "FCGI":
		return p, nil
	case "AUTO_HTTP", "AJP":
		return "", fmt.Errorf("backend protocol %s is not supported", p)
	}
	return "", fmt.Errorf("invalid value %s: want HTTP, HTTPS, GRPC, GRPCS, H2C or FCGI", quoted(value))
}

// checkSecretRef checks the form of a Secret reference, "namespace/name"
// or "name"; where it may point is checked when it is resolved.
func checkSecretRef(value string) error {
	if _, err := ParseSecretRef(value, "default"); err != nil {
		return fmt.Errorf("invalid value %s: want namespace/name of a Secret", quoted(value))
	}
	return nil
}

// onOff reads nginx's "on" and "off" (and "true", "false") into *dst.
func onOff(r *reader, name string, dst *string) {
	value, ok := r.value(name)
	if !ok {
		return
	}
	switch value {
	case "on", "true":
		*dst = "on"
	case "off", "false":
		*dst = "off"
	default:
		r.invalid(name, fmt.Errorf("invalid value %s: want \"on\" or \"off\"", quoted(value)))
	}
}
