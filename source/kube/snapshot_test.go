package kube

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// TestUpdatePatchEqualsList changes the objects of an informer store at
// random, a few or many at a time, re-listed copies of the same version
// among them, and checks that patching the previous list with the keys
// that changed gives what listing everything gives: the same objects, in
// order, with the previous pointers for the same versions.
func TestUpdatePatchEqualsList(t *testing.T) {
	rnd := rand.New(rand.NewPCG(4, 2))
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &corev1.Secret{}, 0, cache.Indexers{})
	informers := map[string]cache.SharedIndexInformer{metav1.NamespaceAll: inf}
	store := inf.GetStore()
	version := 0
	secret := func(ns, name string, kept bool) *corev1.Secret {
		version++
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), ResourceVersion: fmt.Sprint(version)}}
		if kept {
			s.Data = map[string][]byte{corev1.TLSCertKey: []byte("x")}
		}
		return s
	}
	var prev []*corev1.Secret
	for step := range 400 {
		set := &changeSet{keys: map[string]map[string]struct{}{}, whole: map[string]bool{}}
		n := 1 + rnd.IntN(4)
		if step%40 == 0 {
			n = 300 // more than a patch takes: listed whole
		}
		for range n {
			ns, name := fmt.Sprint("ns", rnd.IntN(5)), fmt.Sprint("s", rnd.IntN(200))
			key := ns + "/" + name
			old, exists, _ := store.GetByKey(key)
			switch r := rnd.IntN(10); {
			case exists && r < 3:
				store.Delete(old)
			case exists && r < 5:
				// A re-list's copy of the same version.
				store.Update(old.(*corev1.Secret).DeepCopy())
			default:
				store.Add(secret(ns, name, rnd.IntN(4) > 0))
			}
			if set.keys[resourceSecrets] == nil {
				set.keys[resourceSecrets] = map[string]struct{}{}
			}
			set.keys[resourceSecrets][key] = struct{}{}
		}
		got := update[*corev1.Secret](informers, prev, set, resourceSecrets, lacksKeptKeys)
		want := slices.DeleteFunc(collect[*corev1.Secret](informers, prev), lacksKeptKeys)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: patched %d secrets, listed %d, or not the same pointers", step, len(got), len(want))
		}
		prev = got
	}
	if len(prev) < 100 {
		t.Fatalf("only %d secrets at the end: the test changes too little", len(prev))
	}
}

// TestObjectHandlerNotesKeys: the handler notes the key of each object
// that changes, and nothing for an update to the same version.
func TestObjectHandlerNotesKeys(t *testing.T) {
	s := &Source{dirty: make(chan struct{}, 1)}
	h := s.objectHandler(resourceServices)
	a := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "a", UID: "1", ResourceVersion: "1"}}
	b := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "b", UID: "2", ResourceVersion: "1"}}
	h.OnAdd(a, false)
	h.OnUpdate(b, b.DeepCopy())
	h.OnDelete(cache.DeletedFinalStateUnknown{Key: "m/c", Obj: nil})
	keys, whole := s.pending.take().of(resourceServices)
	if whole || len(keys) != 2 {
		t.Fatalf("got keys %v (whole %v), want n/a and m/c", keys, whole)
	}
	for _, k := range []string{"n/a", "m/c"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %s not noted", k)
		}
	}
	if keys, _ := s.pending.take().of(resourceServices); len(keys) != 0 {
		t.Errorf("after take: %v still noted", keys)
	}
}

// TestConfigMapRefsOnlyWhenIngressesChange: a snapshot asks
// Config.ConfigMapRefs for the names to watch the first time, when an
// Ingress changed, and after Refresh; not when only other objects did.
func TestConfigMapRefsOnlyWhenIngressesChange(t *testing.T) {
	calls := 0
	s := newSource(t, newFakeClient(), func(c *Config) {
		c.ConfigMapRefs = func([]*networkingv1.Ingress) []string { calls++; return nil }
	})
	ctx := t.Context()
	step := func(what string, want int) {
		t.Helper()
		s.snapshot(ctx)
		if calls != want {
			t.Fatalf("%s: ConfigMapRefs called %d times, want %d", what, calls, want)
		}
	}
	step("first snapshot", 1)
	step("nothing changed", 1)
	s.pending.add(resourceServices, "a/svc")
	step("a Service changed", 1)
	addIngress(t, s, newIngress("a", "web"))
	step("an Ingress changed", 2)
	s.Refresh()
	step("Refresh", 3)
}
