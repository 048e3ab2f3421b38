package kube

import (
	"cmp"
	"context"
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
// The ConfigMaps are those that Config.ConfigMapRefs names for the
// Ingresses listed: their informers are reconciled first, and the
// snapshot waits, within a bound, for those of ConfigMaps it is the first
// to name (see configMaps.reconcile). Changes that come meanwhile make
// the next snapshot.
func (s *Source) snapshot(ctx context.Context) *ingress.Snapshot {
	prev := s.latest()
	if prev == nil {
		prev = new(ingress.Snapshot)
	}
	snap := &ingress.Snapshot{
		Ingresses:      collect[*networkingv1.Ingress](s.inf.ingresses, prev.Ingresses),
		IngressClasses: collect[*networkingv1.IngressClass](s.inf.ingressClasses, prev.IngressClasses),
		Services:       collect[*corev1.Service](s.inf.services, prev.Services),
		EndpointSlices: collect[*discoveryv1.EndpointSlice](s.inf.endpointSlices, prev.EndpointSlices),
		Secrets:        slices.DeleteFunc(collect[*corev1.Secret](s.inf.secrets, prev.Secrets), lacksKeptKeys),
	}
	if s.cfg.ConfigMapRefs != nil {
		s.inf.configMaps.reconcile(ctx, s.cfg.ConfigMapRefs(snap.Ingresses))
		snap.ConfigMaps = reuse(s.inf.configMaps.list(), prev.ConfigMaps)
	}
	return snap
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
