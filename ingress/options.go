package ingress

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Options are the controller settings that translation depends on.
type Options struct {
	// IngressClass is the class name this controller answers to when no
	// IngressClass object of that name exists, and in the legacy
	// kubernetes.io/ingress.class annotation.
	IngressClass string
	// Controller is the spec.controller value of the IngressClass objects
	// this controller owns.
	Controller string
	// DefaultBackend serves requests that match no rule and no Ingress
	// default backend. Nil means such requests get 404.
	DefaultBackend *ServiceRef
	// HTTPSPort is the port that HTTP-to-HTTPS redirects point at.
	HTTPSPort int
	// Now is the time against which certificates are checked.
	Now time.Time
	// AutomaticCertificates gives TLS hosts without a Secret (and those of
	// Ingresses annotated caddy-ingress.io/acme: "true") certificates from
	// Caddy's own automation: they are listed in Result.Managed.
	AutomaticCertificates bool
	// DefaultCertificate names the Secret ("namespace/name") served for
	// unknown server names and TLS hosts without a usable certificate.
	DefaultCertificate *SecretRef
	// AllowCrossNamespaceSecrets lets annotations name Secrets in other
	// namespaces than the Ingress's own.
	AllowCrossNamespaceSecrets bool
	// HSTS is the Strict-Transport-Security value sent on HTTPS responses
	// of TLS hosts whose Ingress does not set its own; "" sends none. It
	// must be valid for ParseHSTS.
	HSTS string
	// AnnotationPrefix is the prefix of ingress-nginx annotations, as its
	// --annotations-prefix flag sets it. Default
	// "nginx.ingress.kubernetes.io".
	AnnotationPrefix string
	// LegacyAnnotations also reads annotations under
	// "ingress.kubernetes.io/", the prefix of early ingress-nginx
	// versions, after the other two.
	LegacyAnnotations bool
	// Traffic are the defaults of the traffic annotations.
	Traffic Traffic
	// Headers are the app-wide header settings.
	Headers Headers
	// GlobalAuth, when its URL is set, is the external auth of every
	// path whose Ingress has no auth-url and does not turn it off with
	// enable-global-auth (ingress-nginx's global-auth-*). Check it with
	// CheckGlobalAuth.
	GlobalAuth *ExternalAuth
	// NoAuthLocations are path prefixes that global auth leaves out.
	NoAuthLocations []string
	// DropUnsupportedSnippets drops a snippet annotation with directives
	// outside the translated subset, and serves the rest of the Ingress,
	// rather than making its paths answer 503.
	DropUnsupportedSnippets bool
	// OpenTelemetry are the app-wide tracing settings.
	OpenTelemetry OpenTelemetry
}

// Headers are the app-wide header settings of ingress-nginx's ConfigMap.
type Headers struct {
	// Add names the ConfigMap ("namespace/name") whose entries are set
	// on every response (add-headers).
	Add string
	// ProxySet names the ConfigMap whose entries are sent to every
	// backend (proxy-set-headers).
	ProxySet string
	// AllowedResponse are the header names, canonical, that the
	// custom-headers annotation may set
	// (global-allowed-response-headers).
	AllowedResponse []string
}

// Traffic are the app-wide defaults of the traffic annotations, as
// ingress-nginx's ConfigMap sets them.
type Traffic struct {
	// BodySize is the largest request body in bytes; 0 is no limit.
	BodySize int64
	// ConnectTimeout, SendTimeout and ReadTimeout are proxy timeouts in
	// seconds; 0 is Caddy's default (3 s to connect, no limit to write or
	// read).
	ConnectTimeout, SendTimeout, ReadTimeout int
	// LoadBalance is the Caddy selection policy among endpoints:
	// "round_robin" (when empty too) or "least_conn".
	LoadBalance string
	// LimitStatus answers requests over a rate or connection limit; 0 is
	// 503.
	LimitStatus int
	// NextUpstream, NextUpstreamTries and NextUpstreamTimeout are the
	// proxy-next-upstream settings of Ingresses without them, as the
	// annotations spell them; "" is ingress-nginx's default (error
	// timeout, 3 tries, no time limit). Check them with DefaultRetry.
	NextUpstream, NextUpstreamTries, NextUpstreamTimeout string
	// ComputeFullForwardedFor sends backends the X-Forwarded-For list of
	// trusted proxies with the peer appended, rather than the client's
	// address alone.
	ComputeFullForwardedFor bool
}

// SecretRef names a Secret.
type SecretRef struct {
	Namespace string
	Name      string
}

func (r SecretRef) String() string { return r.Namespace + "/" + r.Name }

// ParseSecretRef parses "namespace/name". With defaultNamespace set, a bare
// "name" means a Secret in that namespace.
func ParseSecretRef(s, defaultNamespace string) (SecretRef, error) {
	return parseObjectRef("secret", s, defaultNamespace)
}

// ParseConfigMapRef is ParseSecretRef for a ConfigMap.
func ParseConfigMapRef(s, defaultNamespace string) (SecretRef, error) {
	return parseObjectRef("configmap", s, defaultNamespace)
}

// parseObjectRef reads "namespace/name", or a bare name in
// defaultNamespace when there is one; errors name the kind.
func parseObjectRef(kind, s, defaultNamespace string) (SecretRef, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		if defaultNamespace == "" {
			return SecretRef{}, fmt.Errorf("%s %q: want namespace/name", kind, s)
		}
		ns, name = defaultNamespace, s
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return SecretRef{}, fmt.Errorf("%s %q: namespace: %s", kind, s, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return SecretRef{}, fmt.Errorf("%s %q: name: %s", kind, s, errs[0])
	}
	return SecretRef{Namespace: ns, Name: name}, nil
}

// ServiceRef names a port of a Service, as "namespace/name:port" does.
type ServiceRef struct {
	Namespace string
	Name      string
	Port      networkingv1.ServiceBackendPort
}

func (r ServiceRef) String() string {
	port := r.Port.Name
	if port == "" {
		port = strconv.Itoa(int(r.Port.Number))
	}
	return r.Namespace + "/" + r.Name + ":" + port
}

// ParseServiceRef parses "namespace/name:port", where port is a number or
// a port name.
func ParseServiceRef(s string) (ServiceRef, error) {
	nsName, port, ok := strings.Cut(s, ":")
	if !ok {
		return ServiceRef{}, fmt.Errorf("service %q: want namespace/name:port", s)
	}
	ns, name, ok := strings.Cut(nsName, "/")
	if !ok {
		return ServiceRef{}, fmt.Errorf("service %q: want namespace/name:port", s)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return ServiceRef{}, fmt.Errorf("service %q: namespace: %s", s, errs[0])
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return ServiceRef{}, fmt.Errorf("service %q: name: %s", s, errs[0])
	}
	ref := ServiceRef{Namespace: ns, Name: name}
	if n, err := strconv.Atoi(port); err == nil {
		if n < 1 || n > 65535 {
			return ServiceRef{}, fmt.Errorf("service %q: port %d out of range 1-65535", s, n)
		}
		ref.Port.Number = int32(n)
	} else {
		if errs := validation.IsValidPortName(port); len(errs) > 0 {
			return ServiceRef{}, fmt.Errorf("service %q: port: %s", s, errs[0])
		}
		ref.Port.Name = port
	}
	return ref, nil
}
