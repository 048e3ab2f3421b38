package ingress

import (
	"cmp"
	"crypto/tls"
	"encoding/json"
	"fmt"
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
	routes      map[routesKey]json.RawMessage
}

// translation is the state of one Translate call.
type translation struct {
	opts     Options
	services map[string]*corev1.Service
	secrets  map[string]*corev1.Secret
	problems []Problem

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
	routes      map[routesKey]json.RawMessage
	redirect    json.RawMessage // redirectRoutes, made once
	prev        *Translator
	// next is the earliest moment after opts.Now at which a certificate
	// or revocation list that this translation read becomes valid or
	// expires; zero when there is none.
	next time.Time
}

// settings are what one Ingress's annotations ask for.
type settings struct {
	opts       ingressOptions
	clientAuth *ClientAuth
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

type hostRules struct {
	paths    map[pathKey]*Path
	fallback *owned[*Action]
	// redirect says an Ingress with rules for the host redirects plain
	// HTTP to HTTPS there.
	redirect bool
	// clientAuth is the client certificate check of the host, set by the
	// oldest Ingress with rules for it that asks for one.
	clientAuth *owned[*ClientAuth]
}

// Translate translates snap. Ingresses of other classes are ignored
// entirely; every problem with an owned object is in Result.Problems and
// leaves the rest of the result intact.
func (tr *Translator) Translate(snap *Snapshot, opts Options) *Result {
	t := &translation{
		opts:           opts,
		services:       make(map[string]*corev1.Service, len(snap.Services)),
		secrets:        make(map[string]*corev1.Secret, len(snap.Secrets)),
		hosts:          make(map[string]*hostRules),
		tlsHosts:       make(map[string]bool),
		certs:          make(map[string]*owned[string]),
		managed:        make(map[string]bool),
		backendSecrets: make(map[string]*secrets.BackendTLS),
		keyPairs:       make(map[*corev1.Secret]*tls.Certificate),
		cas:            make(map[*corev1.Secret]*secrets.CA),
		backendTLSs:    make(map[*corev1.Secret]*secrets.BackendTLS),
		routes:         make(map[routesKey]json.RawMessage),
		prev:           tr,
	}
	for _, s := range snap.Services {
		t.services[s.Namespace+"/"+s.Name] = s
	}
	for _, s := range snap.Secrets {
		t.secrets[s.Namespace+"/"+s.Name] = s
	}

	ingresses := ownedIngresses(snap, opts)
	all := make([]settings, len(ingresses))
	for i, ing := range ingresses {
		all[i] = t.settings(ing)
	}
	for i, ing := range ingresses {
		t.addTLS(ing, &all[i])
	}
	for i, ing := range ingresses {
		t.addRules(ing, &all[i])
	}
	t.addConfiguredDefault()
	t.addDefaultCertificate()
	tr.keyPairs, tr.cas, tr.backendTLSs = t.keyPairs, t.cas, t.backendTLSs
	tr.routes = t.routes
	res := t.result()
	for _, ing := range ingresses {
		res.Ingresses = append(res.Ingresses, ObjectRef{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name})
	}
	slices.SortFunc(res.Ingresses, func(a, b ObjectRef) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return res
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

// settings reads the annotations of one Ingress and resolves the Secrets
// they name.
func (t *translation) settings(ing *networkingv1.Ingress) settings {
	report := t.reporter(ing)
	opts := parseAnnotations(ing, report)
	t.resolveBackendTLS(ing, &opts, report)
	auth := t.resolveClientAuth(ing, &opts, report)
	return settings{opts: opts, clientAuth: auth}
}

// addRules adds the paths and default backend of one Ingress.
func (t *translation) addRules(ing *networkingv1.Ingress, s *settings) {
	report := t.reporter(ing)
	opts := s.opts
	owner := key(ing)

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
		t.claimClientAuth(ing, hr, rule.Host, s.clientAuth, report)
		hostTLS := t.hostHasTLS(rule.Host)
		if opts.forceSSLRedirect || (opts.sslRedirect && hostTLS) {
			hr.redirect = true
		}
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
			k := pathKey{path, typ}
			if prev, ok := hr.paths[k]; ok {
				report(pfield, fmt.Sprintf("%s path %q on host %q is already served by Ingress %s", typ, path, rule.Host, prev.Ingress))
				continue
			}
			tgt := t.resolveBackend(ing.Namespace, &p.Backend, report, pfield+".backend")
			hr.paths[k] = &Path{Path: path, Type: typ, Action: Action{
				Ingress: owner,
				Routes:  t.routesFor(tgt, opts, hostTLS),
			}}
		}
	}

	if ing.Spec.DefaultBackend == nil {
		if len(ing.Spec.Rules) == 0 {
			report("spec", "has neither rules nor a defaultBackend")
		}
		return
	}
	tgt := t.resolveBackend(ing.Namespace, ing.Spec.DefaultBackend, report, "spec.defaultBackend")
	if len(ing.Spec.Rules) == 0 {
		// An Ingress with only a default backend serves everything that
		// nothing else serves.
		action := &Action{Ingress: owner, Routes: t.routesFor(tgt, opts, false)}
		if s.clientAuth != nil {
			t.claimClientAuth(ing, t.host(""), "", s.clientAuth, report)
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
		action := &Action{Ingress: owner, Routes: t.routesFor(tgt, opts, t.hostHasTLS(host))}
		hr.fallback = &owned[*Action]{action, owner}
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
	t.catchAll = &owned[*Action]{&Action{Routes: t.routesFor(tgt, ingressOptions{}, false)}, ""}
}

// claimClientAuth sets the client certificate check of a host: the oldest
// Ingress with rules for the host that asks for one sets it for all of the
// host's paths (as ingress-nginx does per server). A different check
// asked for by a younger Ingress is reported and not used.
func (t *translation) claimClientAuth(ing *networkingv1.Ingress, hr *hostRules, host string, auth *ClientAuth, report func(field, reason string)) {
	if auth == nil {
		return
	}
	if hr.clientAuth == nil {
		hr.clientAuth = &owned[*ClientAuth]{auth, auth.Ingress}
		return
	}
	if !sameClientAuth(hr.clientAuth.value, auth) {
		_, field := annotationField(ing, "auth-tls-secret")
		report(field, fmt.Sprintf("host %q already has the client certificate settings of Ingress %s; these are not used", host, hr.clientAuth.owner))
	}
}

func (t *translation) host(name string) *hostRules {
	hr := t.hosts[name]
	if hr == nil {
		hr = &hostRules{paths: make(map[pathKey]*Path)}
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
	res := &Result{
		Hosts:              []Host{},
		Certificates:       t.certificates(),
		DefaultCertificate: t.defaultCert,
		Managed:            t.managedHosts(),
		BackendSecrets:     t.backendSecretList(),
		NextChange:         t.next,
	}
	names := make([]string, 0, len(t.hosts))
	for name := range t.hosts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		hr := t.hosts[name]
		h := Host{Host: name, TLS: t.hostHasTLS(name)}
		if hr.clientAuth != nil {
			h.ClientAuth = hr.clientAuth.value
		}
		for _, p := range hr.paths {
			h.Paths = append(h.Paths, *p)
		}
		slices.SortFunc(h.Paths, func(a, b Path) int {
			return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(string(a.Type), string(b.Type)))
		})
		if hr.fallback != nil {
			h.Default = hr.fallback.value
		} else if hr.redirect {
			h.Redirect = &Action{Routes: t.redirectRoutes()}
		}
		res.Hosts = append(res.Hosts, h)
	}
	if t.catchAll != nil {
		res.Default = t.catchAll.value
	}
	res.Problems = sortProblems(t.problems)
	return res
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
