package ingress

import (
	"cmp"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// Translate translates one snapshot. See Translator for repeated use.
func Translate(snap *Snapshot, opts Options) *Result {
	return new(Translator).Translate(snap, opts)
}

// Translator translates snapshots one after another. It remembers the key
// pairs parsed from Secrets, keyed by the identity of the Secret object
// (objects from informer caches and the manifest source are immutable), so
// that a change to one Ingress does not parse every certificate again. Its
// output depends only on the snapshot and options.
type Translator struct {
	keyPairs    map[*corev1.Secret]*tls.Certificate
	cas         map[*corev1.Secret]*secrets.CA
	backendTLSs map[*corev1.Secret]*secrets.BackendTLS
	routes      map[planKey]json.RawMessage
	authSecrets map[string]*AuthSecret
	// keys are the annotation keys of each annotation name under the
	// prefixes keyPrefixes joins, in order of precedence.
	keys        map[string][]string
	keyPrefixes string
}

// annotationKeys returns keys for prefixes, made once per prefixes.
func (tr *Translator) annotationKeys(prefixes []string) map[string][]string {
	if joined := strings.Join(prefixes, " "); tr.keys == nil || tr.keyPrefixes != joined {
		tr.keys, tr.keyPrefixes = make(map[string][]string), joined
	}
	return tr.keys
}

// translation is the state of one Translate call.
type translation struct {
	opts     Options
	services map[string]*corev1.Service
	secrets  map[string]*corev1.Secret
	// configMaps are the snapshot's ConfigMaps by namespace/name.
	configMaps map[string]*corev1.ConfigMap
	problems   []Problem

	hosts    map[string]*hostRules
	tlsHosts map[string]bool
	catchAll *owned[*Action]

	certs       map[string]*owned[string] // TLS host → Secret key
	defaultCert *Certificate
	managed     map[string]bool // TLS hosts for Caddy's automation
	// backendSecrets are the proxy-ssl-secrets in use, by namespace/name.
	backendSecrets map[string]*secrets.BackendTLS

	keyPairs    map[*corev1.Secret]*tls.Certificate
	cas         map[*corev1.Secret]*secrets.CA
	backendTLSs map[*corev1.Secret]*secrets.BackendTLS
	routes      map[planKey]json.RawMessage
	prev        *Translator
	// prefixes are the annotation prefixes, in order of precedence;
	// keys the annotation keys of each name under them.
	prefixes []string
	keys     map[string][]string
	// defaultUpstream is the app's default backend, if it resolves.
	defaultUpstream *UpstreamKey
	// defaultRetry is the app's proxy-next-upstream default, checked by
	// the app (an invalid one is ingress-nginx's default).
	defaultRetry retryPolicy
	// globalAuth is the app's global external auth, checked by
	// CheckGlobalAuth; nil without one.
	globalAuth *externalAuth
	// globalOps are the app-wide headers; allowedResponse the names
	// custom-headers may set.
	globalOps       headerOps
	globalProblems  []Problem
	allowedResponse []string
	// site and plan are where the plan of each path is made.
	site site
	plan plan
	// canaryWeights are the weights of the canary Ingresses.
	canaryWeights []CanaryWeight
	// authSecrets are the auth-secrets in use, by Secret.
	authSecrets map[string]*AuthSecret
	// refs, when not nil, records every object looked up for the
	// Ingresses ("service:", "secret:" or "configmap:" and
	// namespace/name), found or not: what their translation depends on.
	refs map[string]struct{}
	// next is the earliest moment after opts.Now at which a certificate
	// or revocation list that this translation read becomes valid or
	// expires; zero when there is none.
	next time.Time
}

// owned is a value claimed by the first (oldest) Ingress that sets it.
type owned[T any] struct {
	value T
	owner string
}

type pathKey struct {
	path string
	typ  PathType
}

// pathRule is a Path and what is needed to match it as a regular
// expression, should its host ask for that.
type pathRule struct {
	Path
	// raw is the path as the Ingress gives it.
	raw string
	// report reports a problem with it, at spec.rules[rule].http.paths[index].
	report      func(field, reason string)
	rule, index int
	// cfg and site are what its routes were made from; canary is the
	// canary Ingress that shares it, if any.
	cfg    *ingressConfig
	site   site
	canary string
}

type hostRules struct {
	paths    map[pathKey]*pathRule
	fallback *owned[*Action]
	// redirect is what the oldest Ingress with rules for the host
	// redirects; it applies to requests that match no path too.
	redirect *Redirect
	// regex says an Ingress asks for regular expressions on the host.
	regex bool
	// appRoot and aliases are set by the oldest Ingress with rules for
	// the host that sets them; wwwRedirect by any.
	appRoot     *owned[string]
	aliases     *owned[[]string]
	aliasReader *reader
	// wwwRedirect is the Ingress that asks for from-to-www-redirect.
	wwwRedirect string
	// clientAuth is the client certificate check of the host, set by the
	// oldest Ingress with rules for it that asks for one.
	clientAuth *owned[*ClientAuth]
	// serverSnippet is the server-snippet of the oldest Ingress with
	// rules for the host that has one.
	serverSnippet *owned[*snippetPart]
}

// Translate translates snap. Ingresses of other classes are ignored
// entirely; every problem with an owned object is in Result.Problems and
// leaves the rest of the result intact.
func (tr *Translator) Translate(snap *Snapshot, opts Options) *Result {
	t := tr.newTranslation(opts, indexSnapshot(snap))
	ingresses := ownedIngresses(snap, opts)
	t.translate(ingresses, translateAll)
	tr.keep(t, false)
	res := t.result()
	for _, ing := range ingresses {
		res.Ingresses = append(res.Ingresses, ObjectRef{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name})
	}
	slices.SortFunc(res.Ingresses, compareRefs)
	return res
}

func compareRefs(a, b ObjectRef) int {
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}

// objectMaps are the objects that translation looks up, by
// namespace/name. Translation never changes them.
type objectMaps struct {
	services   map[string]*corev1.Service
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

func indexSnapshot(snap *Snapshot) objectMaps {
	m := objectMaps{
		services:   make(map[string]*corev1.Service, len(snap.Services)),
		secrets:    make(map[string]*corev1.Secret, len(snap.Secrets)),
		configMaps: make(map[string]*corev1.ConfigMap, len(snap.ConfigMaps)),
	}
	for _, s := range snap.Services {
		m.services[s.Namespace+"/"+s.Name] = s
	}
	for _, s := range snap.Secrets {
		m.secrets[s.Namespace+"/"+s.Name] = s
	}
	for _, c := range snap.ConfigMaps {
		m.configMaps[c.Namespace+"/"+c.Name] = c
	}
	return m
}

// newTranslation starts a translation that reads objects from m.
func (tr *Translator) newTranslation(opts Options, m objectMaps) *translation {
	t := &translation{
		opts:           opts,
		services:       m.services,
		secrets:        m.secrets,
		configMaps:     m.configMaps,
		hosts:          make(map[string]*hostRules),
		tlsHosts:       make(map[string]bool),
		certs:          make(map[string]*owned[string]),
		managed:        make(map[string]bool),
		backendSecrets: make(map[string]*secrets.BackendTLS),
		keyPairs:       make(map[*corev1.Secret]*tls.Certificate),
		cas:            make(map[*corev1.Secret]*secrets.CA),
		backendTLSs:    make(map[*corev1.Secret]*secrets.BackendTLS),
		routes:         make(map[planKey]json.RawMessage),
		authSecrets:    make(map[string]*AuthSecret),
		prev:           tr,
		prefixes:       annotationPrefixes(&opts),
	}
	t.keys = tr.annotationKeys(t.prefixes)
	t.defaultRetry, _ = defaultRetry(opts.Traffic)
	t.globalAuth, _ = globalAuth(opts.GlobalAuth)
	t.globalOps, t.globalProblems = t.globalHeaders()
	t.allowedResponse = canonicalNames(opts.Headers.AllowedResponse)
	if ref := opts.DefaultBackend; ref != nil {
		// Reported by addConfiguredDefault.
		tgt := t.resolveService(ref.Namespace, ref.Name, ref.Port, func(string, string) {}, "")
		t.defaultUpstream = tgt.upstream
	}
	return t
}

// What translate does besides the Ingresses: translateAll is a whole
// translation; translatePart leaves out what comes from the options alone
// (the configured default backend and certificate, and their problems),
// which translateGlobal does alone.
const (
	translateAll = iota
	translatePart
	translateGlobal
)

// translate translates ingresses, owned and sorted oldest first.
func (t *translation) translate(ingresses []*networkingv1.Ingress, mode int) {
	all := make([]*ingressConfig, len(ingresses))
	for i, ing := range ingresses {
		all[i] = readAnnotations(t, ing, t.reporter(ing))
	}
	for i, ing := range ingresses {
		if all[i].ignored == "" {
			t.addTLS(ing, all[i])
		}
	}
	for i, ing := range ingresses {
		if all[i].ignored == "" && !all[i].canary.on {
			t.claimServerSnippet(ing, all[i])
		}
	}
	for i, ing := range ingresses {
		if all[i].ignored == "" && !all[i].canary.on {
			t.addRules(ing, all[i])
		}
	}
	for i, ing := range ingresses {
		if all[i].ignored == "" && all[i].canary.on {
			t.addCanary(ing, all[i])
		}
	}
	if mode != translatePart {
		t.problems = append(t.problems, t.globalProblems...)
		t.addConfiguredDefault()
		t.addDefaultCertificate()
	}
}

// keep makes the caches of t those of tr for the next translation; with
// merge, it adds them to tr's rather than replacing them.
func (tr *Translator) keep(t *translation, merge bool) {
	if !merge || tr.routes == nil {
		tr.keyPairs, tr.cas, tr.backendTLSs = t.keyPairs, t.cas, t.backendTLSs
		tr.routes, tr.authSecrets = t.routes, t.authSecrets
		return
	}
	maps.Copy(tr.keyPairs, t.keyPairs)
	maps.Copy(tr.cas, t.cas)
	maps.Copy(tr.backendTLSs, t.backendTLSs)
	maps.Copy(tr.routes, t.routes)
	maps.Copy(tr.authSecrets, t.authSecrets)
}

// ownedIngresses returns the Ingresses of our class, oldest first (then by
// namespace/name): the order in which conflicting claims are won.
func ownedIngresses(snap *Snapshot, opts Options) []*networkingv1.Ingress {
	classes := newClasses(snap.IngressClasses, opts)
	var out []*networkingv1.Ingress
	for _, ing := range snap.Ingresses {
		if classes.owns(ing) {
			out = append(out, ing)
		}
	}
	slices.SortFunc(out, func(a, b *networkingv1.Ingress) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

func (t *translation) reporter(ing *networkingv1.Ingress) func(field, reason string) {
	ref := ObjectRef{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name}
	return func(field, reason string) {
		t.problems = append(t.problems, Problem{Object: ref, Field: field, Reason: reason})
	}
}

func key(ing *networkingv1.Ingress) string { return ing.Namespace + "/" + ing.Name }

// addRules adds the paths and default backend of one Ingress.
func (t *translation) addRules(ing *networkingv1.Ingress, c *ingressConfig) {
	report := t.reporter(ing)
	owner := key(ing)
	var serverSnippet *snippetPart
	routes := func(path string, hostTLS bool, tgt target) json.RawMessage {
		t.site = site{ing: ing, path: path, hostTLS: hostTLS, target: tgt, opts: &t.opts, defaultUpstream: t.defaultUpstream, defaultRetry: t.defaultRetry, globalAuth: t.globalAuth, serverSnippet: serverSnippet, globalOps: t.globalOps}
		planFor(c, &t.site, &t.plan)
		return t.routesFor(&t.plan)
	}

	var ruleHosts []string
	for i, rule := range ing.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		if rule.Host != "" {
			if err := validateHost(rule.Host); err != nil {
				report(field+".host", err.Error())
				continue
			}
		}
		if !slices.Contains(ruleHosts, rule.Host) {
			ruleHosts = append(ruleHosts, rule.Host)
		}
		hr := t.host(rule.Host)
		serverSnippet = nil
		if hr.serverSnippet != nil {
			serverSnippet = hr.serverSnippet.value
		}
		t.claimClientAuth(hr, rule.Host, c, report)
		hostTLS := t.hostHasTLS(rule.Host)
		t.claimHost(hr, owner, rule.Host, hostTLS, c)
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			pfield := fmt.Sprintf("%s.http.paths[%d]", field, j)
			path, typ, err := normalizePath(p)
			if err != nil {
				if fe, ok := err.(*fieldError); ok {
					report(pfield+fe.field, fe.msg)
				} else {
					report(pfield, err.Error())
				}
				continue
			}
			raw := p.Path
			if raw == "" {
				raw = "/"
			}
			k := pathKey{path, typ}
			if prev, ok := hr.paths[k]; ok {
				report(pfield, fmt.Sprintf("%s path %q on host %q is already served by Ingress %s", typ, path, rule.Host, prev.Ingress))
				continue
			}
			if c.rewrite.useRegex || (c.rewrite.target != "" && c.rewrite.target != raw) {
				hr.regex = true
			}
			tgt := t.resolveBackend(ing.Namespace, &p.Backend, report, pfield+".backend")
			t.checkServiceUpstream(c, tgt, report, pfield+".backend")
			rendered := routes(raw, hostTLS, tgt)
			hr.paths[k] = &pathRule{
				Path:   Path{Path: path, Type: typ, Action: Action{Ingress: owner, Routes: rendered, Host: rule.Host, IngressPath: raw, Backend: backendRef(ing.Namespace, &p.Backend)}},
				raw:    raw,
				report: report,
				rule:   i,
				index:  j,
				cfg:    c,
				site:   t.site,
			}
		}
	}

	if ing.Spec.DefaultBackend == nil {
		if len(ing.Spec.Rules) == 0 {
			report("spec", "has neither rules nor a defaultBackend")
		}
		return
	}
	tgt := t.resolveBackend(ing.Namespace, ing.Spec.DefaultBackend, report, "spec.defaultBackend")
	t.checkServiceUpstream(c, tgt, report, "spec.defaultBackend")
	if len(ing.Spec.Rules) == 0 {
		// An Ingress with only a default backend serves everything that
		// nothing else serves.
		action := &Action{Ingress: owner, Routes: routes("", false, tgt), Backend: backendRef(ing.Namespace, ing.Spec.DefaultBackend)}
		if c.auth != nil {
			t.claimClientAuth(t.host(""), "", c, report)
		}
		if t.catchAll != nil {
			report("spec.defaultBackend", fmt.Sprintf("the default backend for all hosts is already set by Ingress %s", t.catchAll.owner))
			return
		}
		t.catchAll = &owned[*Action]{action, owner}
		return
	}
	for _, host := range ruleHosts {
		hr := t.host(host)
		if hr.fallback != nil {
			report("spec.defaultBackend", fmt.Sprintf("the default backend of host %q is already set by Ingress %s", host, hr.fallback.owner))
			continue
		}
		action := &Action{Ingress: owner, Routes: routes("", t.hostHasTLS(host), tgt), Host: host, Backend: backendRef(ing.Namespace, ing.Spec.DefaultBackend)}
		hr.fallback = &owned[*Action]{action, owner}
	}
}

// claimHost applies what an Ingress with rules for a host says about the
// whole host: the oldest such Ingress sets the redirect of requests that
// match no path (ingress-nginx's default location of a server inherits
// its annotations), and the app root and aliases unless an older one set
// them; any asks for the www redirect.
func (t *translation) claimHost(hr *hostRules, owner, host string, hostTLS bool, c *ingressConfig) {
	if hr.redirect == nil {
		t.site = site{path: "/", hostTLS: hostTLS, opts: &t.opts}
		planFor(c, &t.site, &t.plan)
		redirect := t.plan.redirect
		hr.redirect = &redirect
	}
	if c.redirect.appRoot != "" && hr.appRoot == nil {
		hr.appRoot = &owned[string]{c.redirect.appRoot, owner}
	}
	if len(c.aliases) > 0 {
		if hr.aliases == nil {
			hr.aliases, hr.aliasReader = &owned[[]string]{c.aliases, owner}, c.reader
		} else if !slices.Equal(hr.aliases.value, c.aliases) {
			c.reader.warn("server-alias", fmt.Sprintf("host %q already has the aliases of Ingress %s; these are not used", host, hr.aliases.owner))
		}
	}
	if c.wwwRedirect && hr.wwwRedirect == "" {
		hr.wwwRedirect = owner
	}
}

// checkServiceUpstream reports a service-upstream that cannot be
// followed: the Service has no cluster IP, so its endpoints are used.
func (t *translation) checkServiceUpstream(c *ingressConfig, tgt target, report func(field, reason string), field string) {
	if c.upstream.serviceUpstream && tgt.upstream != nil && tgt.clusterIP == "" {
		c.reader.warn("service-upstream", fmt.Sprintf("service %s/%s has no cluster IP; its endpoints are used", tgt.upstream.Namespace, tgt.upstream.Service))
	}
}

// addConfiguredDefault sets the app's default backend as the catch-all,
// unless an Ingress without rules already provides one.
func (t *translation) addConfiguredDefault() {
	ref := t.opts.DefaultBackend
	if t.catchAll != nil || ref == nil {
		return
	}
	report := func(field, reason string) {
		t.problems = append(t.problems, Problem{Object: ObjectRef{Kind: "Config", Name: "default_backend"}, Reason: reason})
	}
	tgt := t.resolveService(ref.Namespace, ref.Name, ref.Port, report, "")
	up, ok := tgt.key()
	t.catchAll = &owned[*Action]{&Action{Routes: t.routesFor(&plan{headers: headersPhase{ops: t.globalOps}, proxy: proxyPhase{upstream: up, resolved: ok, retry: t.defaultRetry, fullForwardedFor: t.opts.Traffic.ComputeFullForwardedFor}}), Backend: *ref}, ""}
}

// claimClientAuth sets the client certificate check of a host: the oldest
// Ingress with rules for the host that asks for one sets it for all of the
// host's paths (as ingress-nginx does per server). A different check
// asked for by a younger Ingress is reported and not used.
func (t *translation) claimClientAuth(hr *hostRules, host string, c *ingressConfig, report func(field, reason string)) {
	auth := c.auth
	if auth == nil {
		return
	}
	if hr.clientAuth == nil {
		hr.clientAuth = &owned[*ClientAuth]{auth, auth.Ingress}
		return
	}
	if !sameClientAuth(hr.clientAuth.value, auth) {
		report(c.reader.field("auth-tls-secret"), fmt.Sprintf("host %q already has the client certificate settings of Ingress %s; these are not used", host, hr.clientAuth.owner))
	}
}

func (t *translation) host(name string) *hostRules {
	hr := t.hosts[name]
	if hr == nil {
		hr = &hostRules{paths: make(map[pathKey]*pathRule)}
		t.hosts[name] = hr
	}
	return hr
}

// hostHasTLS reports whether an Ingress lists host, or a wildcard covering
// it, under spec.tls.
func (t *translation) hostHasTLS(host string) bool {
	if host == "" {
		return false
	}
	if t.tlsHosts[host] {
		return true
	}
	if strings.HasPrefix(host, "*.") {
		return false
	}
	_, parent, ok := strings.Cut(host, ".")
	return ok && t.tlsHosts["*."+parent]
}

func (t *translation) result() *Result {
	names := make([]string, 0, len(t.hosts))
	for name := range t.hosts {
		names = append(names, name)
	}
	slices.Sort(names)
	names = t.addHostNames(names)
	res := &Result{
		Certificates:       t.certificates(),
		DefaultCertificate: t.defaultCert,
		Managed:            t.managedHosts(),
		BackendSecrets:     t.backendSecretList(),
		NextChange:         t.next,
		CanaryWeights:      t.canaryWeights,
	}
	for _, a := range t.authSecrets {
		res.AuthSecrets = append(res.AuthSecrets, *a)
	}
	slices.SortFunc(res.AuthSecrets, func(a, b AuthSecret) int { return strings.Compare(a.Secret, b.Secret) })
	slices.SortFunc(res.CanaryWeights, func(a, b CanaryWeight) int { return strings.Compare(a.Ingress, b.Ingress) })
	hosts := make([]*Host, 0, len(names))
	for _, name := range names {
		hr := t.hosts[name]
		h := &Host{Host: name, TLS: t.hostHasTLS(name)}
		if hr.clientAuth != nil {
			h.ClientAuth = hr.clientAuth.value
		}
		h.Paths = hostPaths(name, hr)
		if hr.fallback != nil {
			h.Default = hr.fallback.value
		} else if hr.redirect != nil && hr.redirect.Any() {
			h.Redirect = hr.redirect
		}
		if hr.appRoot != nil {
			h.AppRoot = hr.appRoot.value
		}
		if hr.aliases != nil {
			h.Aliases = hr.aliases.value
		}
		hosts = append(hosts, h)
	}
	res.Hosts = NewHostList(hosts)
	if t.catchAll != nil {
		res.Default = t.catchAll.value
	}
	res.Problems = sortProblems(t.problems)
	return res
}

// hostPaths returns the paths of a host in the order they are matched:
// by path for a host without regular expressions (matched by map), else
// as regular expressions, longest first (then in reverse order of the
// text, as ingress-nginx sorts them). A path that is not a regular
// expression is reported and left out.
func hostPaths(host string, hr *hostRules) []Path {
	rules := make([]*pathRule, 0, len(hr.paths))
	for _, p := range hr.paths {
		rules = append(rules, p)
	}
	if !hr.regex {
		slices.SortFunc(rules, func(a, b *pathRule) int {
			return cmp.Or(strings.Compare(a.Path.Path, b.Path.Path), strings.Compare(string(a.Type), string(b.Type)))
		})
		out := make([]Path, len(rules))
		for i, p := range rules {
			out[i] = p.Path
		}
		return out
	}
	slices.SortFunc(rules, func(a, b *pathRule) int {
		return cmp.Or(len(b.raw)-len(a.raw), strings.Compare(b.raw, a.raw), strings.Compare(string(a.Type), string(b.Type)))
	})
	var out []Path
	for _, p := range rules {
		if len(out) > 0 && out[len(out)-1].Path == p.raw {
			continue // the same expression: the first one matches first
		}
		if _, err := CompilePathRegex(p.raw); err != nil {
			p.report(fmt.Sprintf("spec.rules[%d].http.paths[%d].path", p.rule, p.index), fmt.Sprintf("path %q: paths of host %q are regular expressions (use-regex or rewrite-target), and this is not one: %v", p.raw, host, err))
			continue
		}
		rp := p.Path
		rp.Path, rp.Type = p.raw, PathRegex
		out = append(out, rp)
	}
	return out
}

// sortProblems orders problems by object, keeping each object's problems
// in the order its fields were read.
func sortProblems(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			strings.Compare(a.Object.Kind, b.Object.Kind),
			strings.Compare(a.Object.Namespace, b.Object.Namespace),
			strings.Compare(a.Object.Name, b.Object.Name),
		)
	})
	return slices.Compact(ps)
}

// claimServerSnippet gives the hosts of ing its server-snippet unless an
// older Ingress with rules for them has one.
func (t *translation) claimServerSnippet(ing *networkingv1.Ingress, c *ingressConfig) {
	if c.snippet.server == (snippetPart{}) {
		return
	}
	for _, rule := range ing.Spec.Rules {
		if validateHost(rule.Host) != nil {
			continue
		}
		hr := t.host(rule.Host)
		switch {
		case hr.serverSnippet == nil:
			hr.serverSnippet = &owned[*snippetPart]{&c.snippet.server, key(ing)}
		case hr.serverSnippet.owner != key(ing):
			c.reader.warn("server-snippet", fmt.Sprintf("host %q has the server-snippet of Ingress %s; this one is not used for it", rule.Host, hr.serverSnippet.owner))
		}
	}
}

func (t *translation) service(key string) *corev1.Service {
	t.touch("service:" + key)
	return t.services[key]
}

func (t *translation) secret(key string) *corev1.Secret {
	t.touch("secret:" + key)
	return t.secrets[key]
}

func (t *translation) configMap(key string) *corev1.ConfigMap {
	t.touch("configmap:" + key)
	return t.configMaps[key]
}

func (t *translation) touch(ref string) {
	if t.refs != nil {
		t.refs[ref] = struct{}{}
	}
}
