package ingress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	networkingv1 "k8s.io/api/networking/v1"
)

// Annotation prefixes. Every annotation exists under ours, ingress-nginx's
// (configurable, as its --annotations-prefix is) and, when enabled, the
// legacy one ingress-nginx used before; the first that is set wins, so a
// manifest written for ingress-nginx works unchanged and can be tuned for
// caddy-ingress without losing its nginx meaning.
const (
	ownPrefix    = "caddy-ingress.io/"
	nginxPrefix  = "nginx.ingress.kubernetes.io/"
	legacyPrefix = "ingress.kubernetes.io/"
)

// DefaultAnnotationPrefix is ingress-nginx's default --annotations-prefix.
const DefaultAnnotationPrefix = "nginx.ingress.kubernetes.io"

// failMode is how an invalid annotation value fails: the way ingress-nginx
// fails for that annotation, or closed where its default is less safe
// than what the author asked for.
type failMode int

const (
	// keepDefault ignores the annotation; its default applies.
	keepDefault failMode = iota
	// denyPaths makes the Ingress's paths answer 503 (ingress-nginx's
	// "location denied").
	denyPaths
	// ignoreIngress leaves the whole Ingress out (ingress-nginx's
	// validation error): its hosts and paths are not served by it.
	ignoreIngress
)

func (f failMode) String() string {
	switch f {
	case denyPaths:
		return "paths answer 503"
	case ignoreIngress:
		return "Ingress ignored"
	}
	return "default kept"
}

// annotationSpec documents one annotation; the README's table is made
// from these.
type annotationSpec struct {
	// name is the annotation without prefix.
	name string
	// fails is what an invalid value does.
	fails failMode
	// doc says what it does, in a sentence.
	doc string
	// differs says how it differs from ingress-nginx; "" when it does not.
	differs string
	// unsupported marks an ingress-nginx annotation that is known but
	// not implemented: it is reported, and fails as fails says.
	unsupported bool
}

// A family is a group of annotations that belong together, in a file of
// its own: it names and documents the annotations it owns, parses them into
// its typed value in ingressConfig, and adds its actions to a path's plan.
type family struct {
	annotations []annotationSpec
	// parse reads the family's annotations of one Ingress into c.
	parse func(r *reader, c *ingressConfig)
	// resolve, if set, checks what the parsed value names in other
	// objects (Secrets, Services) of the snapshot.
	resolve func(t *translation, r *reader, c *ingressConfig)
	// plan, if set, adds the family's actions for one path.
	plan func(c *ingressConfig, s *site, p *plan)
}

// families are all annotation families, in the order they are read.
var families = []*family{
	&sslRedirectFamily,
	&hstsFamily,
	&acmeFamily,
	&rewriteFamily,
	&redirectFamily,
	&wwwRedirectFamily,
	&aliasFamily,
	&upstreamFamily,
	&proxyRewriteFamily,
	&errorsFamily,
	&bodySizeFamily,
	&timeoutsFamily,
	&bufferingFamily,
	&limitRateFamily,
	&connectionFamily,
	&loadBalanceFamily,
	&nextUpstreamFamily,
	&affinityFamily,
	&hashByFamily,
	&canaryFamily,
	&rateLimitFamily,
	&sourceRangeFamily,
	&basicAuthFamily,
	&externalAuthFamily,
	&satisfyFamily,
	&snippetFamily,
	&tlsTuningFamily,
	&http2PushFamily,
	&customHeadersFamily,
	&corsFamily,
	&backendTLSFamily,
	&fastcgiFamily,
	&clientAuthFamily,
	&mirrorFamily,
	&openTelemetryFamily,
	&modSecurityFamily,
	&sslPassthroughFamily,
}

// specs are the annotations of all families, by name.
var specs map[string]*annotationSpec

func init() {
	specs = make(map[string]*annotationSpec)
	for _, f := range families {
		for i := range f.annotations {
			specs[f.annotations[i].name] = &f.annotations[i]
		}
	}
}

// AnnotationDoc describes an annotation.
type AnnotationDoc struct {
	// Name is the annotation without prefix, such as "rewrite-target".
	Name string
	// Supported says whether translation implements it.
	Supported bool
	// Fails is what an invalid value does: "Ingress ignored", "paths
	// answer 503" or "default kept".
	Fails string
	// Doc says what it does.
	Doc string
	// Differs says how it differs from ingress-nginx; "" when it does not.
	Differs string
}

// Annotations documents every annotation that translation knows, sorted
// by name.
func Annotations() []AnnotationDoc {
	var out []AnnotationDoc
	for _, f := range families {
		for _, a := range f.annotations {
			out = append(out, AnnotationDoc{Name: a.name, Supported: !a.unsupported, Fails: a.fails.String(), Doc: a.doc, Differs: a.differs})
		}
	}
	slices.SortFunc(out, func(a, b AnnotationDoc) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ingressConfig is what the annotations of one Ingress say, a typed value
// per family.
type ingressConfig struct {
	ssl          sslRedirectConfig
	hsts         hstsConfig
	acme         bool
	rewrite      rewriteConfig
	redirect     redirectConfig
	wwwRedirect  bool
	aliases      []string
	upstream     upstreamConfig
	proxyRewrite proxyRewriteConfig
	errors       errorsConfig
	body         bodyConfig
	timeouts     timeouts
	balance      string
	retry        retryPolicy
	retrySet     retrySet
	affinity     affinityConfig
	hash         hashConfig
	canary       canaryConfig
	rateLimit    rateLimitConfig
	limitRate    limitRateConfig
	// connection is the Connection header of connection-proxy-header.
	connection  string
	sourceRange sourceRangeConfig
	basicAuth   basicAuthConfig
	satisfyAny  bool
	// extAuth is the external auth of auth-url, checked.
	extAuth             *externalAuth
	authProxySetHeaders string
	noGlobalAuth        bool
	snippet             snippetConfig
	noAccessLog         bool
	// customHeaders names the ConfigMap of custom-headers; customOps
	// are its headers, once read.
	customHeaders string
	customOps     headerOps
	cors          corsPolicy
	backend       backendOptions
	fastcgi       fastcgiConfig
	clientAuth    clientAuthOptions
	mirror        mirrorConfig
	tracing       tracingConfig
	// auth is the client certificate check, once resolved.
	auth *ClientAuth
	// reader read these annotations; it names their fields in problems.
	reader *reader

	// ignored, when set, is the annotation for which the whole Ingress is
	// left out; denied the one for which its paths answer 503.
	ignored string
	denied  string
}

// site is where a plan is made: one path of a host, or a default backend.
type site struct {
	ing *networkingv1.Ingress
	// path is the path as the Ingress gives it ("" for a default
	// backend); regex says the host matches its paths as regular
	// expressions.
	path  string
	regex bool
	// hostTLS says the host is listed under spec.tls.
	hostTLS bool
	target  target
	opts    *Options
	// defaultUpstream is the app's default backend, if resolved.
	defaultUpstream *UpstreamKey
	// defaultRetry is the app's proxy-next-upstream default.
	defaultRetry retryPolicy
	// globalAuth is the app's global external auth, if any.
	globalAuth *externalAuth
	// serverSnippet is the host's server-snippet, if any.
	serverSnippet *snippetPart
	// globalOps are the headers of the app's add_headers and
	// proxy_set_headers.
	globalOps headerOps
}

// reader reads the annotations of one Ingress.
type reader struct {
	ing *networkingv1.Ingress
	// prefixes are tried in order; the first that is set wins. keys
	// caches the keys of each name under them.
	prefixes []string
	keys     map[string][]string
	cfg      *ingressConfig
	report   func(field, reason string)
	// dropSnippets drops a snippet outside the subset rather than
	// refusing the Ingress's paths.
	dropSnippets bool
}

// lookup returns the value of the annotation name and the key it is set
// under.
func (r *reader) lookup(name string) (value, key string, ok bool) {
	if len(r.ing.Annotations) == 0 {
		return "", "", false
	}
	keys, made := r.keys[name]
	if !made {
		for _, p := range r.prefixes {
			keys = append(keys, p+name)
		}
		if r.keys != nil {
			r.keys[name] = keys
		}
	}
	for _, k := range keys {
		if v, ok := r.ing.Annotations[k]; ok {
			return v, k, true
		}
	}
	return "", "", false
}

// value returns the value of the annotation name, if set.
func (r *reader) value(name string) (string, bool) {
	v, _, ok := r.lookup(name)
	return v, ok
}

// has reports whether the annotation name is set.
func (r *reader) has(name string) bool {
	_, _, ok := r.lookup(name)
	return ok
}

// key returns the key under which the annotation name is set (or would
// be, under ours).
func (r *reader) key(name string) string {
	if _, key, ok := r.lookup(name); ok {
		return key
	}
	return r.prefixes[0] + name
}

// field returns the field path that problems with annotation name name.
func (r *reader) field(name string) string {
	return "metadata.annotations[" + r.key(name) + "]"
}

// invalid reports a bad value of the annotation name and fails as its
// spec says.
func (r *reader) invalid(name string, err error) {
	r.fail(name, specs[name].fails, err.Error())
}

// fail reports a problem with the annotation name that fails as mode.
func (r *reader) fail(name string, mode failMode, reason string) {
	key := r.key(name)
	switch mode {
	case ignoreIngress:
		r.report(r.field(name), reason+", so the Ingress is ignored")
		if r.cfg.ignored == "" {
			r.cfg.ignored = key
		}
	case denyPaths:
		r.report(r.field(name), reason+", so the Ingress's backends answer 503")
		if r.cfg.denied == "" {
			r.cfg.denied = key
		}
	default:
		r.report(r.field(name), reason)
	}
}

// warn reports a problem with the annotation name that changes nothing.
func (r *reader) warn(name, reason string) {
	r.report(r.field(name), reason)
}

// parseBool reads a boolean annotation as ingress-nginx does (Go's
// strconv.ParseBool); ok is false when it is unset or invalid.
func (r *reader) parseBool(name string) (v, ok bool) {
	value, set := r.value(name)
	if !set {
		return false, false
	}
	b, err := strconv.ParseBool(value)
	if err != nil {
		r.invalid(name, fmt.Errorf("invalid value %s: want \"true\" or \"false\"", quoted(value)))
		return false, false
	}
	return b, true
}

// annotationPrefixes returns the prefixes annotations are read under, in
// order of precedence.
func annotationPrefixes(opts *Options) []string {
	nginx := nginxPrefix
	if opts.AnnotationPrefix != "" {
		nginx = strings.TrimSuffix(opts.AnnotationPrefix, "/") + "/"
	}
	prefixes := []string{ownPrefix, nginx}
	if opts.LegacyAnnotations && nginx != legacyPrefix {
		prefixes = append(prefixes, legacyPrefix)
	}
	return prefixes
}

// readAnnotations reads the annotations of ing. Each invalid value is a
// problem on its own and fails as its annotation's spec says. Annotations
// under one of our prefixes that translation does not know are reported,
// so a manifest never loses a setting silently.
func readAnnotations(t *translation, ing *networkingv1.Ingress, report func(field, reason string)) *ingressConfig {
	c := &ingressConfig{ssl: sslRedirectConfig{redirect: true}}
	r := &reader{ing: ing, prefixes: t.prefixes, keys: t.keys, cfg: c, report: report, dropSnippets: t.opts.DropUnsupportedSnippets}
	c.reader = r
	reportUnsupported(r)
	if len(ing.Annotations) > 0 {
		for _, f := range families {
			f.parse(r, c)
		}
	}
	if c.ignored != "" {
		return c // nothing of it is served
	}
	for _, f := range families {
		if f.resolve != nil {
			f.resolve(t, r, c)
		}
	}
	return c
}

// planFor makes the plan of one site in *p. Translation passes the same
// p and s for every site: neither is allocated per path.
func planFor(c *ingressConfig, s *site, p *plan) {
	*p = plan{}
	for _, f := range families {
		if f.plan != nil {
			f.plan(c, s, p)
		}
	}
	p.proxy.upstream, p.proxy.resolved = s.target.key()
	p.proxy.fullForwardedFor = s.opts.Traffic.ComputeFullForwardedFor
	if c.denied != "" {
		// Only the redirect to HTTPS and HSTS are kept, since they
		// protect rather than serve, and tracing, which observes.
		*p = plan{
			redirect: redirectPhase{HTTPS: p.redirect.HTTPS, HTTPSPort: p.redirect.HTTPSPort, PreserveTrailingSlash: p.redirect.PreserveTrailingSlash},
			access:   accessPhase{denied: c.denied},
			headers:  headersPhase{hsts: p.headers.hsts},
			trace:    p.trace,
		}
	}
}

func reportUnsupported(r *reader) {
	keys := make([]string, 0, len(r.ing.Annotations))
	for k := range r.ing.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		var name string
		prefix := -1
		for i, p := range r.prefixes {
			if n, ok := strings.CutPrefix(key, p); ok {
				name, prefix = n, i
				break
			}
		}
		if prefix < 0 || specs[name] != nil {
			continue
		}
		field := "metadata.annotations[" + key + "]"
		switch {
		case prefix > 0:
			r.report(field, "not supported; ignored")
		default:
			r.report(field, "unknown annotation")
		}
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
