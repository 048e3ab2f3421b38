package kube

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// headersAnnotation names a ConfigMap for ingress.ConfigMapRefs.
const headersAnnotation = "nginx.ingress.kubernetes.io/custom-headers"

func newConfigMap(namespace, name, rv string, data map[string]string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: meta(namespace, name), Data: data}
	cm.ResourceVersion = rv
	return cm
}

// namingIngress returns an Ingress whose custom-headers annotation names
// the ConfigMap ref.
func namingIngress(namespace, name, ref string) *networkingv1.Ingress {
	ing := newIngress(namespace, name)
	ing.Annotations = map[string]string{headersAnnotation: ref}
	return ing
}

// configMapRefs is ingress.ConfigMapRefs with options that name
// caddy-ingress/global, as the app's add-headers setting would.
func configMapRefs(ings []*networkingv1.Ingress) []string {
	return ingress.ConfigMapRefs(ings, &ingress.Options{Headers: ingress.Headers{Add: "caddy-ingress/global"}})
}

// configMap returns the ConfigMap namespace/name of snap, or nil.
func configMap(snap *ingress.Snapshot, namespace, name string) *corev1.ConfigMap {
	for _, cm := range snap.ConfigMaps {
		if cm.Namespace == namespace && cm.Name == name {
			return cm
		}
	}
	return nil
}

// TestConfigMapsNamedAreDelivered follows the ConfigMaps that Ingresses
// and options name through a source that watches namespace a only: the
// named ones arrive in the first snapshot, whatever their namespace, and
// are listed and watched by name alone; a change of one is delivered; an
// Ingress that stops naming one drops it and stops its informer; one that
// an Ingress created later names is in the very snapshot that first holds
// that Ingress. A ConfigMap nobody names never appears.
func TestConfigMapsNamedAreDelivered(t *testing.T) {
	headers := newConfigMap("a", "headers", "1", map[string]string{"X-A": "1"})
	headers.BinaryData = map[string][]byte{"blob": {0}}
	headers.ManagedFields = managedFields
	headers.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}
	client := newFakeClient(
		namingIngress("a", "web", "headers"),
		headers,
		newConfigMap("a", "other", "2", map[string]string{"X-Other": "1"}),
		newConfigMap("caddy-ingress", "global", "3", map[string]string{"X-Global": "1"}),
	)
	s := newSource(t, client, func(c *Config) {
		c.Namespaces = []string{"a"}
		c.ConfigMapRefs = configMapRefs
	})
	u := run(t, s)

	first := u.last()
	if got, want := names(first.ConfigMaps), []string{"a/headers", "caddy-ingress/global"}; !slices.Equal(got, want) {
		t.Fatalf("got configmaps %v, want %v", got, want)
	}
	cm := first.ConfigMaps[0]
	if got := cm.Data["X-A"]; got != "1" {
		t.Errorf("got X-A %q, want %q", got, "1")
	}
	if cm.BinaryData != nil || cm.ManagedFields != nil || cm.Annotations != nil {
		t.Errorf("got binaryData %v, managedFields %v, annotations %v; want none", cm.BinaryData, cm.ManagedFields, cm.Annotations)
	}
	var requests []string
	for _, a := range client.Actions() {
		if a.GetResource().Resource != "configmaps" {
			continue
		}
		switch a := a.(type) {
		case k8stesting.ListAction:
			requests = append(requests, "list "+a.GetNamespace()+" "+a.GetListRestrictions().Fields.String())
		case k8stesting.WatchAction:
			requests = append(requests, "watch "+a.GetNamespace()+" "+a.GetWatchRestrictions().Fields.String())
		default:
			requests = append(requests, a.GetVerb()+" "+a.GetNamespace())
		}
	}
	slices.Sort(requests)
	wantRequests := []string{
		"list a metadata.name=headers", "list caddy-ingress metadata.name=global",
		"watch a metadata.name=headers", "watch caddy-ingress metadata.name=global",
	}
	if !slices.Equal(requests, wantRequests) {
		t.Errorf("got configmap requests %q, want %q", requests, wantRequests)
	}

	configMaps := client.CoreV1().ConfigMaps("a")
	if _, err := configMaps.Update(t.Context(), newConfigMap("a", "headers", "4", map[string]string{"X-A": "2"}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a snapshot with the new data", func() bool {
		cm := configMap(u.last(), "a", "headers")
		return cm != nil && cm.Data["X-A"] == "2"
	})
	if got, want := configMap(u.last(), "caddy-ingress", "global"), first.ConfigMaps[1]; got != want {
		t.Error("got a new pointer for the unchanged configmap, want the same")
	}

	informer := s.inf.configMaps.watched()["a/headers"]
	if informer == nil {
		t.Fatal("got no informer of a/headers, want one")
	}
	if _, err := client.NetworkingV1().Ingresses("a").Update(t.Context(), newIngress("a", "web"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a snapshot without a/headers", func() bool { return configMap(u.last(), "a", "headers") == nil })
	if got, want := names(u.last().ConfigMaps), []string{"caddy-ingress/global"}; !slices.Equal(got, want) {
		t.Errorf("got configmaps %v, want %v", got, want)
	}
	eventually(t, "the informer of a/headers to stop", informer.IsStopped)
	if got, want := slices.Sorted(maps.Keys(s.inf.configMaps.watched())), []string{"caddy-ingress/global"}; !slices.Equal(got, want) {
		t.Errorf("got configmap informers %v, want %v", got, want)
	}

	if _, err := configMaps.Create(t.Context(), newConfigMap("a", "late", "5", map[string]string{"X-Late": "1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := configMaps.Update(t.Context(), newConfigMap("a", "other", "6", map[string]string{"X-Other": "2"}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.NetworkingV1().Ingresses("a").Create(t.Context(), namingIngress("a", "later", "late"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a snapshot with a/late", func() bool { return configMap(u.last(), "a", "late") != nil })

	u.mu.Lock()
	defer u.mu.Unlock()
	for i, snap := range u.snaps {
		if slices.Contains(names(snap.Ingresses), "a/later") && configMap(snap, "a", "late") == nil {
			t.Errorf("snapshot %d: got Ingress a/later without configmap a/late, want both", i)
		}
		if configMap(snap, "a", "other") != nil {
			t.Errorf("snapshot %d: got configmap a/other, which nothing names", i)
		}
	}
}

// TestConfigMapListFailure checks that a ConfigMap that cannot be listed
// delays the snapshot that first names it by the bound at most, that the
// failure is logged naming the resource and the API server, and that the
// ConfigMap is delivered once it can be listed.
func TestConfigMapListFailure(t *testing.T) {
	client := newFakeClient(namingIngress("a", "web", "headers"), newConfigMap("a", "headers", "1", map[string]string{"X-A": "1"}))
	var forbidden atomic.Bool
	forbidden.Store(true)
	client.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if forbidden.Load() {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("RBAC"))
		}
		return false, nil, nil
	})
	core, logs := observer.New(zap.ErrorLevel)
	s := newSource(t, client, func(c *Config) {
		c.ConfigMapRefs = configMapRefs
		c.Health = NewHealth(zap.New(core), "https://api.test:6443")
	})
	s.inf.configMaps.wait = 100 * time.Millisecond
	u := run(t, s)

	if got := names(u.last().ConfigMaps); len(got) != 0 {
		t.Errorf("got configmaps %v while they cannot be listed, want none", got)
	}
	want := "cannot list configmaps at https://api.test:6443: "
	eventually(t, "the error logged", func() bool {
		for _, e := range logs.All() {
			if strings.HasPrefix(e.Message, want) {
				return true
			}
		}
		return false
	})
	forbidden.Store(false)
	eventually(t, "a snapshot with a/headers", func() bool { return configMap(u.last(), "a", "headers") != nil })
}

// TestConfigMapInformersStop checks that the ConfigMap informers stop with
// the source, and that none starts once they are shut down.
func TestConfigMapInformersStop(t *testing.T) {
	client := newFakeClient(namingIngress("a", "web", "headers"))
	s := newSource(t, client, func(c *Config) { c.ConfigMapRefs = configMapRefs })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.Start(ctx)
	eventually(t, "the first snapshot", s.Synced)
	informers := s.inf.configMaps.watched()
	if got, want := slices.Sorted(maps.Keys(informers)), []string{"a/headers", "caddy-ingress/global"}; !slices.Equal(got, want) {
		t.Fatalf("got configmap informers %v, want %v", got, want)
	}
	cancel()
	if !s.Wait(10 * time.Second) {
		t.Fatal("the source did not stop within 10s of its context's end")
	}
	for key, inf := range informers {
		if !inf.IsStopped() {
			t.Errorf("got informer of %s running, want it stopped", key)
		}
	}
	s.inf.configMaps.reconcile(t.Context(), []string{"a/new"})
	if got := s.inf.configMaps.watched(); len(got) != 0 {
		t.Errorf("got informers %v after shutdown, want none", slices.Sorted(maps.Keys(got)))
	}
}
