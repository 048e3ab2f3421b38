package ingress

import (
	"fmt"
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
