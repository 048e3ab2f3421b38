package kube

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// snapshot lists every object from the informer caches, sorted by
// namespace/name, but the Secrets that hold none of keptSecretKeys. An
// object that is the same version as in the previous
// snapshot keeps that snapshot's pointer, even when a re-list put a new
// copy into the cache.
//
// A kind of which few objects changed since the last snapshot built is
// not listed again: the last snapshot's sorted list is patched with the
// current version of the changed ones (see pending), so that a change on
// top of 10,000 Ingresses costs a copy of the list, not a sort of it.
//
// The ConfigMaps are those that Config.ConfigMapRefs names for the
// Ingresses listed: their informers are reconciled first, and the
// snapshot waits, within a bound, for those of ConfigMaps it is the first
// to name (see configMaps.reconcile). Changes that come meanwhile make
// the next snapshot.
func (s *Source) snapshot(ctx context.Context) *ingress.Snapshot {
	s.baseMu.Lock()
	defer s.baseMu.Unlock()
	// Changes noted from here on make the next snapshot (again).
	changed := s.pending.take()
	prev := s.base
	if prev == nil {
		prev = new(ingress.Snapshot)
		changed = nil // everything is listed
	}
	snap := &ingress.Snapshot{
		Ingresses:      update[*networkingv1.Ingress](s.inf.ingresses, prev.Ingresses, changed, resourceIngresses, nil),
		IngressClasses: update[*networkingv1.IngressClass](s.inf.ingressClasses, prev.IngressClasses, changed, resourceIngressClasses, nil),
		Services:       update[*corev1.Service](s.inf.services, prev.Services, changed, resourceServices, nil),
		EndpointSlices: update[*discoveryv1.EndpointSlice](s.inf.endpointSlices, prev.EndpointSlices, changed, resourceEndpointSlices, nil),
		Secrets:        update[*corev1.Secret](s.inf.secrets, prev.Secrets, changed, resourceSecrets, lacksKeptKeys),
	}
	if s.cfg.ConfigMapRefs != nil {
		// The names come from the Ingresses' annotations: read them
		// again only when an Ingress changed, or Refresh asked.
		if _, refresh := changed.of(refreshConfigMapRefs); refresh || !s.refsSet || !sameList(snap.Ingresses, s.refsFor) {
			s.refs, s.refsFor, s.refsSet = s.cfg.ConfigMapRefs(snap.Ingresses), snap.Ingresses, true
		}
		s.inf.configMaps.reconcile(ctx, s.refs)
		snap.ConfigMaps = reuse(s.inf.configMaps.list(), prev.ConfigMaps)
	}
	s.base = snap
	return snap
}

// sameList reports whether a and b are the same slice (not merely equal).
func sameList[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// update returns the objects of informers of one kind, sorted: prev with
// the changed objects of resource in their current version when few
// changed, else all of them listed anew (reusing prev's pointers). skip,
// if set, leaves objects out.
func update[T metav1.Object](informers map[string]cache.SharedIndexInformer, prev []T, changed *changeSet, resource string, skip func(T) bool) []T {
	keys, whole := changed.of(resource)
	if changed == nil || whole || len(keys) > len(prev)/4+16 {
		out := collect[T](informers, prev)
		if skip != nil {
			out = slices.DeleteFunc(out, skip)
		}
		return out
	}
	if len(keys) == 0 {
		return prev
	}
	sorted := slices.Collect(maps.Keys(keys))
	slices.SortFunc(sorted, compareKeys)
	out := make([]T, 0, len(prev)+len(sorted))
	i := 0
	for _, key := range sorted {
		ns, name := splitKey(key)
		j, found := slices.BinarySearchFunc(prev[i:], key, func(o T, _ string) int {
			return cmp.Or(strings.Compare(o.GetNamespace(), ns), strings.Compare(o.GetName(), name))
		})
		out = append(out, prev[i:i+j]...)
		i += j
		var old T
		if found {
			old = prev[i]
			i++
		}
		obj, ok := lookup[T](informers, ns, key)
		if !ok || skip != nil && skip(obj) {
			continue // gone
		}
		if found && sameVersion(old, obj) {
			obj = old
		}
		out = append(out, obj)
	}
	return append(out, prev[i:]...)
}

// lookup returns the object of key from the informer of its namespace.
func lookup[T metav1.Object](informers map[string]cache.SharedIndexInformer, namespace, key string) (T, bool) {
	var zero T
	inf := informers[namespace]
	if inf == nil {
		inf = informers[metav1.NamespaceAll]
	}
	if inf == nil {
		return zero, false
	}
	obj, exists, err := inf.GetStore().GetByKey(key)
	if err != nil || !exists {
		return zero, false
	}
	o, ok := obj.(T)
	return o, ok
}

// splitKey splits a namespace/name key; a cluster-scoped object's key is
// its name alone.
func splitKey(key string) (namespace, name string) {
	if ns, n, ok := strings.Cut(key, "/"); ok {
		return ns, n
	}
	return "", key
}

// compareKeys orders keys as compareObjects orders their objects.
func compareKeys(a, b string) int {
	ans, an := splitKey(a)
	bns, bn := splitKey(b)
	return cmp.Or(strings.Compare(ans, bns), strings.Compare(an, bn))
}

// collect lists the objects of informers, sorted, reusing the pointers of
// prev (sorted too) for unchanged objects.
func collect[T metav1.Object](informers map[string]cache.SharedIndexInformer, prev []T) []T {
	var out []T
	for _, inf := range informers {
		for _, obj := range inf.GetStore().List() {
			if o, ok := obj.(T); ok {
				out = append(out, o)
			}
		}
	}
	return reuse(out, prev)
}

// reuse sorts out by namespace/name and puts the pointers of prev (sorted
// too) in place of the objects that are the same version there.
func reuse[T metav1.Object](out, prev []T) []T {
	slices.SortFunc(out, compareObjects[T])
	j := 0
	for i, o := range out {
		for j < len(prev) && compareObjects(prev[j], o) < 0 {
			j++
		}
		if j < len(prev) && compareObjects(prev[j], o) == 0 && sameVersion(prev[j], o) {
			out[i] = prev[j]
		}
	}
	return out
}

func compareObjects[T metav1.Object](a, b T) int {
	return cmp.Or(strings.Compare(a.GetNamespace(), b.GetNamespace()), strings.Compare(a.GetName(), b.GetName()))
}

func lacksKeptKeys(s *corev1.Secret) bool { return !holdsKeptKeys(s) }
