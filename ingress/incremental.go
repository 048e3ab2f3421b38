package ingress

import (
	"cmp"
	"maps"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"slices"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// Incremental translates snapshots one after another, translating again
// only the Ingresses that a change touches: its results are those of
// Translate, byte for byte.
//
// Ingresses fall into groups that share a name: a host of their rules or
// TLS entries, a server alias, a www peer, or the catch-all. Translation
// makes claims (the oldest Ingress wins a path, a certificate for a host,
// a host's redirect, aliases and client certificate settings) only among
// Ingresses of one group, so a group translates alone to what a whole
// translation gives for it. A change translates again the groups of the
// Ingresses it changes and of those that looked up the Services, Secrets
// and ConfigMaps it changes (found or not), and merges their results into
// the previous one. A change of the options, the IngressClasses or the
// objects the options name, or a moment at which a certificate changes
// validity, translates everything again.
type Incremental struct {
	cache Translator
	opts  Options
	last  *Snapshot
	res   *Result
	// global is the translation of the options alone.
	global *Result

	objects objectMaps
	classes *classes
	ings    map[string]*ingressRecord
	byKey   map[string]*group
	byRef   map[string]map[*group]struct{}
	// wildcards counts the Ingresses naming each wildcard host; parents
	// are, by parent domain, the Ingresses with an exact host under it.
	wildcards map[string]int
	parents   map[string]map[string]struct{}
	groups    map[*group]struct{}
	// removedWild are wildcards no Ingress names any more, since the
	// last regrouping.
	removedWild []string
	// certGroups are, by Secret, the groups whose certificates use it.
	certGroups map[string]map[*group]struct{}
	// changed are the Ingresses the current step changes.
	changed map[string]bool
	// shared tallies what groups share; catchAll is the group with the
	// catch-all default backend, if any.
	shared   shared
	catchAll *group
	// prefixes are those of the options, for keys.
	prefixes []string
	// fulls counts the whole translations, steps the others.
	fulls, steps int
}

// ingressRecord is an owned Ingress and its group.
type ingressRecord struct {
	ing   *networkingv1.Ingress
	group *group
	// wild are the wildcard hosts it names; parents the parent domains
	// of its exact hosts.
	wild, parents []string
}

// group is a set of Ingresses that translate together, and their result.
type group struct {
	ings []*networkingv1.Ingress
	keys []string
	refs []string
	res  *Result
}

// Translate translates snap, which follows the snapshot of the previous
// call.
func (in *Incremental) Translate(snap *Snapshot, opts Options) *Result {
	in.prefixes = annotationPrefixes(&opts)
	if in.needsFull(snap, opts) {
		in.full(snap, opts)
	} else {
		changes := diffObjects(in.last, snap)
		changed := changes.refs()
		full := false
		for _, ref := range optionRefs(&opts) {
			full = full || slices.Contains(changed, ref)
		}
		if full {
			in.full(snap, opts)
		} else {
			in.step(snap, opts, &changes)
		}
	}
	in.last, in.opts = snap, opts
	return in.res
}

// needsFull reports whether snap and opts must be translated whole,
// whatever changed in the objects.
func (in *Incremental) needsFull(snap *Snapshot, opts Options) bool {
	if in.res == nil || !slices.Equal(snap.IngressClasses, in.last.IngressClasses) || !sameOptions(opts, in.opts) {
		return true
	}
	if next := in.res.NextChange; !next.IsZero() && !opts.Now.Before(next) {
		return true
	}
	return len(in.cache.routes) > 4*in.shared.paths+4096 // mostly plans no longer used
}

// sameOptions compares options but for Now.
func sameOptions(a, b Options) bool {
	a.Now, b.Now = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// optionRefs are the objects the options name.
func optionRefs(opts *Options) []string {
	var refs []string
	if r := opts.DefaultBackend; r != nil {
		refs = append(refs, "service:"+r.Namespace+"/"+r.Name)
	}
	if r := opts.DefaultCertificate; r != nil {
		refs = append(refs, "secret:"+r.String())
	}
	for _, name := range []string{opts.Headers.Add, opts.Headers.ProxySet} {
		if ref, err := ParseConfigMapRef(name, ""); name != "" && err == nil {
			refs = append(refs, "configmap:"+ref.String())
		}
	}
	return refs
}

// full translates snap whole, in groups.
func (in *Incremental) full(snap *Snapshot, opts Options) {
	in.fulls++
	in.cache = Translator{}
	in.objects = indexSnapshot(snap)
	in.classes = newClasses(snap.IngressClasses, opts)
	in.ings = make(map[string]*ingressRecord)
	in.byKey = make(map[string]*group)
	in.byRef = make(map[string]map[*group]struct{})
	in.wildcards = make(map[string]int)
	in.parents = make(map[string]map[string]struct{})
	in.groups = make(map[*group]struct{})
	in.certGroups = make(map[string]map[*group]struct{})
	in.changed = nil
	in.shared = shared{auth: make(map[string]AuthSecret), backend: make(map[string]BackendSecret), uses: make(map[string]int), next: make(map[time.Time]int)}
	in.catchAll = nil
	t := in.cache.newTranslation(opts, in.objects)
	t.translate(nil, translateGlobal)
	in.global = t.result()
	in.cache.keep(t, true)
	work := make(map[string]*networkingv1.Ingress)
	for _, ing := range snap.Ingresses {
		if in.classes.owns(ing) {
			in.addRecord(ing, opts)
			work[key(ing)] = ing
		}
	}
	in.res = in.merge(nil, in.regroup(work, opts), opts)
}

// step translates the groups that the change from in.last to snap
// touches.
func (in *Incremental) step(snap *Snapshot, opts Options, changes *objectChanges) {
	in.steps++
	affected := make(map[*group]struct{})
	work := make(map[string]*networkingv1.Ingress)
	in.changed = make(map[string]bool)
	// Changed Ingresses leave their groups; new versions join.
	for _, ch := range diff(in.last.Ingresses, snap.Ingresses) {
		k := ch.key
		in.changed[k] = true
		if rec := in.ings[k]; rec != nil {
			affected[rec.group] = struct{}{}
			in.removeRecord(k)
		}
		if ing := ch.obj; ing != nil && in.classes.owns(ing) {
			in.addRecord(ing, opts)
			work[k] = ing
		}
	}
	in.patchObjects(changes, affected)
	// Wildcards that came or went regroup the Ingresses below them.
	for k := range work {
		for _, w := range in.ings[k].wild {
			in.touchParent(w, affected)
		}
	}
	for _, k := range in.removedWild {
		in.touchParent(k, affected)
	}
	in.removedWild = in.removedWild[:0]
	// Close over the groups that share a name with the work.
	for {
		grew := false
		for g := range affected {
			for _, ing := range g.ings {
				if _, ok := work[key(ing)]; !ok {
					if rec := in.ings[key(ing)]; rec != nil && rec.ing == ing {
						work[key(ing)] = ing
					}
				}
			}
		}
		for _, ing := range work {
			for _, k := range in.keys(ing, opts) {
				if g := in.byKey[k]; g != nil {
					if _, ok := affected[g]; !ok {
						affected[g] = struct{}{}
						grew = true
					}
				}
			}
		}
		if !grew {
			break
		}
	}
	for g := range affected {
		in.dropGroup(g)
	}
	in.res = in.merge(affected, in.regroup(work, opts), opts)
}

// touchParent marks as affected the groups of the Ingresses with an exact
// host under the wildcard w.
func (in *Incremental) touchParent(w string, affected map[*group]struct{}) {
	for k := range in.parents[strings.TrimPrefix(w, "*.")] {
		if rec := in.ings[k]; rec != nil && rec.group != nil {
			affected[rec.group] = struct{}{}
		}
	}
}

// addRecord records an owned Ingress, not yet in a group.
func (in *Incremental) addRecord(ing *networkingv1.Ingress, opts Options) {
	rec := &ingressRecord{ing: ing}
	for _, h := range ruleAndTLSHosts(ing) {
		if strings.HasPrefix(h, "*.") {
			if !slices.Contains(rec.wild, h) {
				rec.wild = append(rec.wild, h)
			}
		} else if _, parent, ok := strings.Cut(h, "."); ok && !slices.Contains(rec.parents, parent) {
			rec.parents = append(rec.parents, parent)
		}
	}
	for _, w := range rec.wild {
		in.wildcards[w]++
	}
	k := key(ing)
	for _, p := range rec.parents {
		if in.parents[p] == nil {
			in.parents[p] = make(map[string]struct{})
		}
		in.parents[p][k] = struct{}{}
	}
	in.ings[k] = rec
}

// removeRecord forgets an Ingress (its group is dropped by the caller).
func (in *Incremental) removeRecord(k string) {
	rec := in.ings[k]
	for _, w := range rec.wild {
		if in.wildcards[w]--; in.wildcards[w] == 0 {
			delete(in.wildcards, w)
			in.removedWild = append(in.removedWild, w)
		}
	}
	for _, p := range rec.parents {
		delete(in.parents[p], k)
		if len(in.parents[p]) == 0 {
			delete(in.parents, p)
		}
	}
	delete(in.ings, k)
}

// ruleAndTLSHosts are the host names of ing's rules and TLS entries, as
// written.
func ruleAndTLSHosts(ing *networkingv1.Ingress) []string {
	var hosts []string
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, r.Host)
	}
	for _, t := range ing.Spec.TLS {
		hosts = append(hosts, t.Hosts...)
	}
	return hosts
}

// keys are the names through which ing's translation meets others': its
// hosts, the wildcards that cover them, its aliases and www peers, and ""
// for the catch-all. More keys than needed only make groups larger.
func (in *Incremental) keys(ing *networkingv1.Ingress, opts Options) []string {
	var keys []string
	add := func(k string) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	hosts := ruleAndTLSHosts(ing)
	if ing.Spec.DefaultBackend != nil && len(ing.Spec.Rules) == 0 {
		add("")
	}
	www := false
	for _, p := range in.prefixes {
		if v, ok := ing.Annotations[p+"server-alias"]; ok {
			for _, a := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
				add(strings.ToLower(a))
			}
		}
		if _, ok := ing.Annotations[p+"from-to-www-redirect"]; ok {
			www = true
		}
	}
	for _, h := range hosts {
		add(h)
		if lower := strings.ToLower(h); lower != h {
			add(lower)
		}
		if _, parent, ok := strings.Cut(h, "."); ok && !strings.HasPrefix(h, "*.") && in.wildcards["*."+parent] > 0 {
			add("*." + parent)
		}
		if www {
			if rest, ok := strings.CutPrefix(h, "www."); ok {
				add(rest)
			} else {
				add("www." + h)
			}
		}
	}
	return keys
}

// objectChanges are the changes of the objects translation looks up.
type objectChanges struct {
	services   []change[*corev1.Service]
	secrets    []change[*corev1.Secret]
	configMaps []change[*corev1.ConfigMap]
}

func diffObjects(prev, next *Snapshot) objectChanges {
	return objectChanges{diff(prev.Services, next.Services), diff(prev.Secrets, next.Secrets), diff(prev.ConfigMaps, next.ConfigMaps)}
}

// refs are the changed objects as translation refers to them.
func (c *objectChanges) refs() []string {
	var out []string
	for _, ch := range c.services {
		out = append(out, "service:"+ch.key)
	}
	for _, ch := range c.secrets {
		out = append(out, "secret:"+ch.key)
	}
	for _, ch := range c.configMaps {
		out = append(out, "configmap:"+ch.key)
	}
	return out
}

// patchObjects applies changes to in.objects, marking as affected the
// groups that looked up a changed object.
func (in *Incremental) patchObjects(c *objectChanges, affected map[*group]struct{}) {
	for _, ch := range c.services {
		patch(in.objects.services, ch.key, ch.obj)
	}
	for _, ch := range c.secrets {
		patch(in.objects.secrets, ch.key, ch.obj)
	}
	for _, ch := range c.configMaps {
		patch(in.objects.configMaps, ch.key, ch.obj)
	}
	for _, ref := range c.refs() {
		for g := range in.byRef[ref] {
			affected[g] = struct{}{}
		}
	}
}

func patch[T comparable](m map[string]T, k string, v T) {
	var zero T
	if v == zero {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// change is an object that is in one of two snapshots and not the very
// same object in the other: obj is the new one, or zero when it went.
type change[T any] struct {
	key string
	obj T
}

type apiObject interface {
	comparable
	GetNamespace() string
	GetName() string
}

// diff returns the changes from prev to next, sorted by key. When both
// list the same objects in the same order but a few, it compares them
// by position.
func diff[T apiObject](prev, next []T) []change[T] {
	var out []change[T]
	var zero T
	if len(prev) == len(next) {
		same := true
		for i := range prev {
			if prev[i] != next[i] {
				if prev[i].GetNamespace() != next[i].GetNamespace() || prev[i].GetName() != next[i].GetName() {
					same = false
					break
				}
				out = append(out, change[T]{next[i].GetNamespace() + "/" + next[i].GetName(), next[i]})
			}
		}
		if same {
			slices.SortFunc(out, func(a, b change[T]) int { return strings.Compare(a.key, b.key) })
			return out
		}
		out = out[:0]
	}
	old := make(map[string]T, len(prev))
	for _, o := range prev {
		old[o.GetNamespace()+"/"+o.GetName()] = o
	}
	for _, o := range next {
		k := o.GetNamespace() + "/" + o.GetName()
		if p, ok := old[k]; !ok || p != o {
			out = append(out, change[T]{k, o})
		}
		delete(old, k)
	}
	for k := range old {
		out = append(out, change[T]{k, zero})
	}
	slices.SortFunc(out, func(a, b change[T]) int { return strings.Compare(a.key, b.key) })
	return out
}

// dropGroup forgets g and its indexes.
func (in *Incremental) dropGroup(g *group) {
	delete(in.groups, g)
	in.shared.add(g, -1)
	if in.catchAll == g {
		in.catchAll = nil
	}
	for _, k := range g.keys {
		if in.byKey[k] == g {
			delete(in.byKey, k)
		}
	}
	for _, r := range g.refs {
		delete(in.byRef[r], g)
		if len(in.byRef[r]) == 0 {
			delete(in.byRef, r)
		}
	}
	for _, c := range g.res.Certificates {
		delete(in.certGroups[c.Secret], g)
		if len(in.certGroups[c.Secret]) == 0 {
			delete(in.certGroups, c.Secret)
		}
	}
}

// regroup puts the Ingresses of work into groups that share no key and
// translates each.
func (in *Incremental) regroup(work map[string]*networkingv1.Ingress, opts Options) []*group {
	parent := make(map[string]string) // union-find over Ingress keys
	var findRoot func(string) string
	findRoot = func(x string) string {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	owner := make(map[string]string) // name key → an Ingress key
	keysOf := make(map[string][]string, len(work))
	for k, ing := range work {
		parent[k] = k
		keysOf[k] = in.keys(ing, opts)
	}
	for k := range work {
		for _, name := range keysOf[k] {
			if o, ok := owner[name]; ok {
				if a, b := findRoot(o), findRoot(k); a != b {
					parent[a] = b
				}
			} else {
				owner[name] = k
			}
		}
	}
	byRoot := make(map[string]*group)
	var groups []*group
	for k, ing := range work {
		r := findRoot(k)
		g := byRoot[r]
		if g == nil {
			g = new(group)
			byRoot[r] = g
			groups = append(groups, g)
		}
		g.ings = append(g.ings, ing)
		for _, name := range keysOf[k] {
			if !slices.Contains(g.keys, name) {
				g.keys = append(g.keys, name)
			}
		}
	}
	for _, g := range groups {
		sortOldestFirst(g.ings)
		in.translateGroup(g, opts)
		in.groups[g] = struct{}{}
		for _, name := range g.keys {
			in.byKey[name] = g
		}
		for _, r := range g.refs {
			if in.byRef[r] == nil {
				in.byRef[r] = make(map[*group]struct{})
			}
			in.byRef[r][g] = struct{}{}
		}
		for _, ing := range g.ings {
			in.ings[key(ing)].group = g
		}
		in.shared.add(g, 1)
		if g.res.Default != nil {
			in.catchAll = g
		}
		for _, c := range g.res.Certificates {
			if in.certGroups[c.Secret] == nil {
				in.certGroups[c.Secret] = make(map[*group]struct{})
			}
			in.certGroups[c.Secret][g] = struct{}{}
		}
	}
	return groups
}

// translateGroup translates the Ingresses of g alone.
func (in *Incremental) translateGroup(g *group, opts Options) {
	t := in.cache.newTranslation(opts, in.objects)
	t.refs = make(map[string]struct{})
	t.translate(g.ings, translatePart)
	in.cache.keep(t, true)
	g.res = t.result()
	for r := range t.refs {
		g.refs = append(g.refs, r)
	}
}

// sortOldestFirst sorts Ingresses as ownedIngresses does.
func sortOldestFirst(ings []*networkingv1.Ingress) {
	slices.SortFunc(ings, func(a, b *networkingv1.Ingress) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return compareRefs(ObjectRef{Namespace: a.Namespace, Name: a.Name}, ObjectRef{Namespace: b.Namespace, Name: b.Name})
	})
}

// merge patches in.res: the results of the dropped groups go, those of
// the added ones come.
func (in *Incremental) merge(dropped map[*group]struct{}, added []*group, opts Options) *Result {
	prev := in.res
	if dropped == nil || prev == nil {
		prev = &Result{}
	}
	res := &Result{DefaultCertificate: in.global.DefaultCertificate}
	goneHosts := make(map[string]bool)
	goneIngresses := make(map[ObjectRef]bool)
	goneCerts := make(map[string]bool)
	for g := range dropped {
		for h := range g.res.Hosts.All() {
			goneHosts[h.Host] = true
		}
		for _, h := range g.res.Managed {
			goneHosts[h] = true
		}
		for _, ing := range g.ings {
			goneIngresses[ingressRef(ing)] = true
		}
		for _, c := range g.res.Certificates {
			goneCerts[c.Secret] = true
		}
	}
	var hosts []*Host
	var managed []string
	var certs []Certificate
	var refs []ObjectRef
	for _, g := range added {
		hosts = slices.AppendSeq(hosts, g.res.Hosts.All())
		managed = append(managed, g.res.Managed...)
		for _, c := range g.res.Certificates {
			goneCerts[c.Secret] = true
		}
		for _, ing := range g.ings {
			refs = append(refs, ingressRef(ing))
		}
	}
	for k := range in.changed {
		ns, name, _ := strings.Cut(k, "/")
		goneIngresses[ObjectRef{Kind: "Ingress", Namespace: ns, Name: name}] = true
	}
	res.Hosts = prev.Hosts.Patch(goneHosts, hosts)
	res.Managed = patchSorted(prev.Managed, goneHosts, strings.Compare, managed, strings.Compare)
	if sameRefs(goneIngresses, refs) && len(in.ings) == len(prev.Ingresses) {
		res.Ingresses = prev.Ingresses // the same Ingresses, some changed
	} else {
		res.Ingresses = patchSorted(prev.Ingresses, goneIngresses, compareRefs, refs, compareRefs)
	}
	// Certificates are per Secret, with the names of every group.
	for secret := range goneCerts {
		var c *Certificate
		for g := range in.certGroups[secret] {
			for _, gc := range g.res.Certificates {
				if gc.Secret != secret {
					continue
				}
				if c == nil {
					c = &Certificate{Secret: gc.Secret, SHA256: gc.SHA256, KeyPair: gc.KeyPair}
				}
				c.Names = append(c.Names, gc.Names...)
			}
		}
		if c != nil {
			slices.Sort(c.Names)
			certs = append(certs, *c)
		}
	}
	if len(res.Managed) == 0 {
		res.Managed = nil
	}
	if len(res.Ingresses) == 0 {
		res.Ingresses = nil
	}
	res.Certificates = patchSorted(prev.Certificates, goneCerts, func(c Certificate, k string) int { return strings.Compare(c.Secret, k) }, certs, func(a, b Certificate) int { return strings.Compare(a.Secret, b.Secret) })

	var problems []Problem
	var weights []CanaryWeight
	for _, g := range added {
		problems = append(problems, g.res.Problems...)
		weights = append(weights, g.res.CanaryWeights...)
	}
	if c := in.catchAll; c != nil {
		res.Default = c.res.Default
	}
	for _, p := range in.global.Problems {
		if res.Default == nil || p.Object.Name != "default_backend" {
			problems = append(problems, p)
		}
	}
	if res.Default == nil {
		res.Default = in.global.Default
	}
	goneObjects := maps.Clone(goneIngresses)
	goneWeights := make(map[string]bool, len(goneIngresses))
	for r := range goneIngresses {
		goneWeights[r.Namespace+"/"+r.Name] = true
	}
	for _, p := range prev.Problems {
		if p.Object.Kind >= "Ingress" {
			break
		}
		goneObjects[p.Object] = true // the options', made again
	}
	res.Problems = patchSorted(prev.Problems, goneObjects, func(p Problem, r ObjectRef) int { return compareObjects(p.Object, r) }, problems, compareProblems)
	res.CanaryWeights = patchSorted(prev.CanaryWeights, goneWeights, func(w CanaryWeight, k string) int { return strings.Compare(w.Ingress, k) }, weights,
		func(a, b CanaryWeight) int { return strings.Compare(a.Ingress, b.Ingress) })
	if len(res.Problems) == 0 {
		res.Problems = nil
	}
	if len(res.CanaryWeights) == 0 {
		res.CanaryWeights = nil
	}
	res.AuthSecrets, res.BackendSecrets = prev.AuthSecrets, prev.BackendSecrets
	if in.shared.dirty || dropped == nil {
		res.AuthSecrets = sortedValues(in.shared.auth, func(a AuthSecret) string { return a.Secret })
		res.BackendSecrets = sortedValues(in.shared.backend, func(b BackendSecret) string { return b.Secret })
		in.shared.dirty = false
	}
	res.NextChange = in.global.NextChange
	for n := range in.shared.next {
		if res.NextChange.IsZero() || n.Before(res.NextChange) {
			res.NextChange = n
		}
	}
	return res
}

func compareProblems(a, b Problem) int { return compareObjects(a.Object, b.Object) }

func compareObjects(a, b ObjectRef) int {
	return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}

// shared tallies what the groups' results share: the auth and backend
// Secrets (by Secret, counting the groups that use them), the moments at
// which they change, and the count of paths.
type shared struct {
	auth    map[string]AuthSecret
	backend map[string]BackendSecret
	uses    map[string]int // "auth:" or "backend:" and Secret
	next    map[time.Time]int
	paths   int
	// dirty says auth or backend changed since the last merge.
	dirty bool
}

func (s *shared) add(g *group, sign int) {
	for _, a := range g.res.AuthSecrets {
		tally(s, s.auth, "auth:", a.Secret, a, sign)
	}
	for _, b := range g.res.BackendSecrets {
		tally(s, s.backend, "backend:", b.Secret, b, sign)
	}
	if n := g.res.NextChange; !n.IsZero() {
		if s.next[n] += sign; s.next[n] == 0 {
			delete(s.next, n)
		}
	}
	for h := range g.res.Hosts.All() {
		s.paths += sign * len(h.Paths)
	}
}

// tally counts a use (sign 1) of v, m's value for key, or its end (-1).
func tally[T any](s *shared, m map[string]T, prefix, key string, v T, sign int) {
	s.count(prefix+key, sign, func(keep bool) {
		if keep {
			m[key] = v
		} else {
			delete(m, key)
		}
	})
}

// count counts a use of key (sign 1) or its end (-1); set is told whether
// to keep the value, when the first use comes or the last goes, or when
// a use comes (the value may be newer).
func (s *shared) count(key string, sign int, set func(keep bool)) {
	s.uses[key] += sign
	switch {
	case sign > 0:
		set(true)
		s.dirty = true
	case s.uses[key] == 0:
		delete(s.uses, key)
		set(false)
		s.dirty = true
	}
}

// patchSorted returns old, sorted by cmp, without the elements whose
// key (compared by cmpKey) is in gone and with add. It finds the gone
// elements by binary search and copies the rest in runs, so a small
// change to a long list costs little more than copying it.
func patchSorted[T any, K comparable](old []T, gone map[K]bool, cmpKey func(T, K) int, add []T, cmp func(a, b T) int) []T {
	slices.SortStableFunc(add, cmp)
	type span struct{ lo, hi int }
	var drops []span
	for k := range gone {
		lo, _ := slices.BinarySearchFunc(old, k, cmpKey)
		hi := lo
		for hi < len(old) && cmpKey(old[hi], k) == 0 {
			hi++
		}
		if hi > lo {
			drops = append(drops, span{lo, hi})
		}
	}
	slices.SortFunc(drops, func(a, b span) int { return a.lo - b.lo })
	out := make([]T, 0, len(old)+len(add))
	next := 0 // in add
	keep := func(run []T) {
		for len(run) > 0 && next < len(add) {
			j, _ := slices.BinarySearchFunc(run, add[next], func(o, a T) int {
				if cmp(o, a) <= 0 {
					return -1 // equal elements of old come first, as a stable merge has them
				}
				return 1
			})
			if j == len(run) {
				break
			}
			out = append(out, run[:j]...)
			out = append(out, add[next])
			run = run[j:]
			next++
		}
		out = append(out, run...)
	}
	at := 0
	for _, d := range drops {
		keep(old[at:d.lo])
		at = d.hi
	}
	keep(old[at:])
	return append(out, add[next:]...)
}

func sortedValues[T any](m map[string]T, key func(T) string) []T {
	if len(m) == 0 {
		return nil
	}
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

func ingressRef(ing *networkingv1.Ingress) ObjectRef {
	return ObjectRef{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name}
}

// sameRefs reports whether refs are the gone ones again.
func sameRefs(gone map[ObjectRef]bool, refs []ObjectRef) bool {
	if len(gone) != len(refs) {
		return false
	}
	for _, r := range refs {
		if !gone[r] {
			return false
		}
	}
	return true
}
