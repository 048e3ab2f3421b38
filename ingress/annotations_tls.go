package ingress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// backendOptions say how to connect to an Ingress's backends: the
// backend-protocol and proxy-ssl-* annotations.
type backendOptions struct {
	// protocol is "" (HTTP), "HTTPS", "GRPC", "GRPCS" or "H2C".
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

func parseHSTSAnnotation(value string, o *ingressOptions) error {
	v, err := ParseHSTS(value)
	if err != nil {
		return err
	}
	o.hsts, o.hstsSet = v, true
	return nil
}

func parseBackendProtocol(value string, o *ingressOptions) error {
	switch p := strings.ToUpper(value); p {
	case "HTTP":
		o.backend.protocol = ""
	case "HTTPS", "GRPC", "GRPCS", "H2C":
		o.backend.protocol = p
	case "AUTO_HTTP", "AJP", "FCGI":
		return fmt.Errorf("backend protocol %s is not supported", p)
	default:
		return fmt.Errorf("invalid value %s: want HTTP, HTTPS, GRPC, GRPCS or H2C", quoted(value))
	}
	return nil
}

// secretAnnotation checks the form of a Secret reference, "namespace/name"
// or "name"; where it may point is checked when it is resolved.
func secretAnnotation(field func(*ingressOptions) *string) func(string, *ingressOptions) error {
	return func(value string, o *ingressOptions) error {
		if _, err := ParseSecretRef(value, "default"); err != nil {
			return fmt.Errorf("invalid value %s: want namespace/name of a Secret", quoted(value))
		}
		*field(o) = value
		return nil
	}
}

// onOffAnnotation reads nginx's "on" and "off" (and "true", "false").
func onOffAnnotation(field func(*ingressOptions) *string) func(string, *ingressOptions) error {
	return func(value string, o *ingressOptions) error {
		switch value {
		case "on", "true":
			*field(o) = "on"
		case "off", "false":
			*field(o) = "off"
		default:
			return fmt.Errorf("invalid value %s: want \"on\" or \"off\"", quoted(value))
		}
		return nil
	}
}

func parseProxySSLName(value string, o *ingressOptions) error {
	name := strings.ToLower(value)
	if strings.Contains(name, "*") || validateHost(name) != nil {
		return fmt.Errorf("invalid value %s: want a DNS name such as backend.example.com", quoted(value))
	}
	o.backend.serverName = name
	return nil
}

func parseVerifyClient(value string, o *ingressOptions) error {
	switch v := ClientVerify(value); v {
	case "off", ClientVerifyOn, ClientVerifyOptional, ClientVerifyOptionalNoCA:
		o.clientAuth.verify = v
		return nil
	}
	return fmt.Errorf("invalid value %s: want on, off, optional or optional_no_ca", quoted(value))
}

// maxMatchCN bounds the length of auth-tls-match-cn.
const maxMatchCN = 1024

// parseMatchCN checks that auth-tls-match-cn is a regular expression (RE2
// syntax, which matches in linear time, so no value can make matching
// slow).
func parseMatchCN(value string, o *ingressOptions) error {
	if value == "" || len(value) > maxMatchCN {
		return fmt.Errorf("invalid value: want a regular expression of 1 to %d characters", maxMatchCN)
	}
	if _, err := regexp.Compile(value); err != nil {
		return fmt.Errorf("invalid value %s: %v", quoted(value), err)
	}
	o.clientAuth.matchCN = value
	return nil
}

// maxVerifyDepth bounds auth-tls-verify-depth.
const maxVerifyDepth = 10

func parseVerifyDepth(value string, o *ingressOptions) error {
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 || n > maxVerifyDepth || strings.HasPrefix(value, "+") {
		return fmt.Errorf("invalid value %s: want a number from 1 to %d", quoted(value), maxVerifyDepth)
	}
	o.clientAuth.depth = n
	return nil
}

// annotationSet returns the key under which ing sets the annotation name
// (ours when both are set) and whether it sets it at all.
func annotationSet(ing *networkingv1.Ingress, name string) (key string, ok bool) {
	if _, ok := ing.Annotations[ownPrefix+name]; ok {
		return ownPrefix + name, true
	}
	_, ok = ing.Annotations[nginxPrefix+name]
	return nginxPrefix + name, ok
}

// annotationField returns the key of the annotation name as ing sets it,
// and the field path that problems name.
func annotationField(ing *networkingv1.Ingress, name string) (key, field string) {
	key, _ = annotationSet(ing, name)
	return key, "metadata.annotations[" + key + "]"
}
