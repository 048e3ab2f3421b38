package ingress

import (
	"fmt"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
)

// Annotation prefixes. Every annotation exists under both; ours wins when
// both are set, so a manifest written for ingress-nginx works unchanged and
// can be tuned for caddy-ingress without losing its nginx meaning.
const (
	ownPrefix   = "caddy-ingress.io/"
	nginxPrefix = "nginx.ingress.kubernetes.io/"
)

// ingressOptions are the per-Ingress settings that annotations control.
type ingressOptions struct {
	// sslRedirect redirects plain HTTP to HTTPS on hosts with TLS.
	sslRedirect bool
	// forceSSLRedirect redirects plain HTTP to HTTPS on every host.
	forceSSLRedirect bool
}

func defaultIngressOptions() ingressOptions {
	return ingressOptions{sslRedirect: true}
}

// An annotation reads one annotation value into the options. It returns an
// error for a value outside its allow-list; the option then keeps its
// default.
type annotation struct {
	name  string
	parse func(value string, o *ingressOptions) error
}

// annotations lists every annotation translation understands. A new
// annotation is one entry here, a field in ingressOptions, and its effect
// where routes are built.
var annotations = []annotation{
	{"ssl-redirect", boolAnnotation(func(o *ingressOptions, v bool) { o.sslRedirect = v })},
	{"force-ssl-redirect", boolAnnotation(func(o *ingressOptions, v bool) { o.forceSSLRedirect = v })},
}

func boolAnnotation(set func(*ingressOptions, bool)) func(string, *ingressOptions) error {
	return func(value string, o *ingressOptions) error {
		v, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("invalid value %q: want \"true\" or \"false\"", value)
		}
		set(o, v)
		return nil
	}
}

// parseAnnotations reads the annotations of ing; each invalid value is a
// problem on its own and leaves its option at the default.
func parseAnnotations(ing *networkingv1.Ingress, report func(field, reason string)) ingressOptions {
	o := defaultIngressOptions()
	for _, a := range annotations {
		key := ownPrefix + a.name
		value, ok := ing.Annotations[key]
		if !ok {
			key = nginxPrefix + a.name
			value, ok = ing.Annotations[key]
		}
		if !ok {
			continue
		}
		if err := a.parse(value, &o); err != nil {
			report("metadata.annotations["+key+"]", err.Error())
		}
	}
	return o
}
