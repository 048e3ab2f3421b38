package ingress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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
	// refused names an access-control annotation that is not supported:
	// the Ingress's backends then answer 503 instead of serving without
	// the restriction its author asked for.
	refused string
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

// accessControl are annotations (ingress-nginx names) that restrict who may
// reach a backend. Ignoring one would serve openly what its author meant to
// protect, so an Ingress that uses one that is not supported fails closed.
var accessControl = map[string]bool{
	"auth-type": true, "auth-secret": true, "auth-secret-type": true, "auth-realm": true,
	"auth-url": true, "auth-signin": true, "auth-method": true, "auth-snippet": true,
	"auth-tls-secret": true, "auth-tls-verify-client": true, "auth-tls-verify-depth": true,
	"auth-tls-error-page": true, "auth-tls-pass-certificate-to-upstream": true, "auth-tls-match-cn": true,
	"whitelist-source-range": true, "allowlist-source-range": true, "denylist-source-range": true,
	"satisfy": true,
}

// parseAnnotations reads the annotations of ing; each invalid value is a
// problem on its own and leaves its option at the default. Annotations
// under our prefix or ingress-nginx's that translation does not know are
// reported, so a manifest never loses a setting silently.
func parseAnnotations(ing *networkingv1.Ingress, report func(field, reason string)) ingressOptions {
	o := defaultIngressOptions()
	reportUnsupported(ing, &o, report)
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

var knownAnnotations = func() map[string]bool {
	m := make(map[string]bool, len(annotations))
	for _, a := range annotations {
		m[a.name] = true
	}
	return m
}()

func reportUnsupported(ing *networkingv1.Ingress, o *ingressOptions, report func(field, reason string)) {
	keys := make([]string, 0, len(ing.Annotations))
	for k := range ing.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		name, nginx := strings.CutPrefix(key, nginxPrefix)
		if !nginx {
			var own bool
			if name, own = strings.CutPrefix(key, ownPrefix); !own {
				continue
			}
		}
		if knownAnnotations[name] {
			continue
		}
		field := "metadata.annotations[" + key + "]"
		switch {
		case accessControl[name]:
			report(field, "not supported: this access restriction cannot be enforced, so the Ingress's backends answer 503")
			if o.refused == "" {
				o.refused = key
			}
		case nginx:
			report(field, "not supported; ignored")
		default:
			report(field, "unknown annotation")
		}
	}
}
