package ingress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
	// refused names an access-control annotation that is not supported,
	// or a security annotation with an invalid value: the Ingress's
	// backends then answer 503 instead of serving without the protection
	// its author asked for.
	refused string
	// hsts is the Strict-Transport-Security value for HTTPS responses;
	// hstsSet says the Ingress chose it ("" then means none).
	hsts    string
	hstsSet bool
	// acme asks for certificates from Caddy's automation for all the
	// Ingress's TLS hosts, even those with a secretName.
	acme bool
	// backend is how to connect to the backends.
	backend backendOptions
	// clientAuth is what the auth-tls-* annotations say.
	clientAuth clientAuthOptions
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
	// failClosed makes an invalid value refuse the Ingress (503) rather
	// than keep the default: for annotations whose default is less safe
	// than what the author asked for.
	failClosed bool
}

// annotations lists every annotation translation understands. A new
// annotation is one entry here, a field in ingressOptions, and its effect
// where routes are built.
var annotations = []annotation{
	{name: "ssl-redirect", parse: boolAnnotation(func(o *ingressOptions, v bool) { o.sslRedirect = v })},
	{name: "force-ssl-redirect", parse: boolAnnotation(func(o *ingressOptions, v bool) { o.forceSSLRedirect = v })},
	{name: "hsts", parse: parseHSTSAnnotation},
	{name: "acme", parse: boolAnnotation(func(o *ingressOptions, v bool) { o.acme = v })},
	{name: "backend-protocol", parse: parseBackendProtocol, failClosed: true},
	{name: "proxy-ssl-secret", parse: secretAnnotation(func(o *ingressOptions) *string { return &o.backend.secret }), failClosed: true},
	{name: "proxy-ssl-verify", parse: onOffAnnotation(func(o *ingressOptions) *string { return &o.backend.verifyAnnotation }), failClosed: true},
	{name: "backend-tls-verify", parse: onOffAnnotation(func(o *ingressOptions) *string { return &o.backend.ownVerify }), failClosed: true},
	{name: "proxy-ssl-name", parse: parseProxySSLName, failClosed: true},
	{name: "proxy-ssl-server-name", parse: onOffAnnotation(func(o *ingressOptions) *string { return &o.backend.sendSNIAnnotation }), failClosed: true},
	{name: "auth-tls-secret", parse: secretAnnotation(func(o *ingressOptions) *string { return &o.clientAuth.secret }), failClosed: true},
	{name: "auth-tls-verify-client", parse: parseVerifyClient, failClosed: true},
	{name: "auth-tls-verify-depth", parse: parseVerifyDepth, failClosed: true},
	{name: "auth-tls-match-cn", parse: parseMatchCN, failClosed: true},
	{name: "auth-tls-pass-certificate-to-upstream", parse: boolAnnotation(func(o *ingressOptions, v bool) { o.clientAuth.pass = v }), failClosed: true},
}

func boolAnnotation(set func(*ingressOptions, bool)) func(string, *ingressOptions) error {
	return func(value string, o *ingressOptions) error {
		v, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("invalid value %s: want \"true\" or \"false\"", quoted(value))
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
	if len(ing.Annotations) == 0 {
		return o
	}
	for i := range annotations {
		a := &annotations[i]
		key := annotationKeys[i].own
		value, ok := ing.Annotations[key]
		if !ok {
			key = annotationKeys[i].nginx
			value, ok = ing.Annotations[key]
		}
		if !ok {
			continue
		}
		if err := a.parse(value, &o); err != nil {
			if a.failClosed {
				refuse(&o, key, "metadata.annotations["+key+"]", err.Error(), report)
			} else {
				report("metadata.annotations["+key+"]", err.Error())
			}
		}
	}
	return o
}

// annotationKeys are the full keys of each entry of annotations, made once.
var annotationKeys = func() []struct{ own, nginx string } {
	keys := make([]struct{ own, nginx string }, len(annotations))
	for i, a := range annotations {
		keys[i].own, keys[i].nginx = ownPrefix+a.name, nginxPrefix+a.name
	}
	return keys
}()

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
			refuse(o, key, field, "not supported: this access restriction cannot be enforced", report)
		case nginx:
			report(field, "not supported; ignored")
		default:
			report(field, "unknown annotation")
		}
	}
}

// refuse reports a problem that makes the Ingress's backends answer 503.
func refuse(o *ingressOptions, key, field, reason string, report func(field, reason string)) {
	report(field, reason+", so the Ingress's backends answer 503")
	if o.refused == "" {
		o.refused = key
	}
}

// maxQuoted is how much of a value problems quote.
const maxQuoted = 100

// quoted quotes a value for a problem, cut short when long: problems
// become log lines and Events, which need not carry a huge annotation.
func quoted(value string) string {
	if len(value) <= maxQuoted {
		return strconv.Quote(value)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(value[cut]) {
		cut--
	}
	return strconv.Quote(value[:cut]) + fmt.Sprintf("… (%d bytes)", len(value))
}
