package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/caddy-ingress/caddy-ingress/kubeclient"
)

// keptSecretKeys are the Secret data keys kept in the cache: those that
// Ingress TLS entries and annotations refer to, whatever the Secret's
// type. The transform drops every other key. A Secret left with none of
// them (a service account token, a Helm release, ...) is not delivered
// and its changes are ignored: see holdsKeptKeys.
var keptSecretKeys = map[string]bool{
	corev1.TLSCertKey:       true,
	corev1.TLSPrivateKeyKey: true,
	"ca.crt":                true,
	"ca.crl":                true,
}

// informerSet holds the informers of a Source. Namespaced kinds have one
// informer per watched namespace, keyed by namespace, or a single one
// under "" when all namespaces are watched.
type informerSet struct {
	// informers are those that start starts: all but the ConfigMaps'.
	informers []cache.SharedIndexInformer
	// wg counts the goroutines of informers.
	wg             sync.WaitGroup
	ingresses      map[string]cache.SharedIndexInformer
	ingressClasses map[string]cache.SharedIndexInformer
	services       map[string]cache.SharedIndexInformer
	endpointSlices map[string]cache.SharedIndexInformer
	secrets        map[string]cache.SharedIndexInformer
	// published is the informer that holds the published Service: the
	// Services informer of its namespace, or one of its own when that
	// namespace is not watched. Nil without a published Service.
	published cache.SharedIndexInformer
	// configMaps are the informers of the ConfigMaps that are named,
	// started by the worker as names appear.
	configMaps *configMaps
	// err is the first error of setting the informers up.
	err error
}

// newInformerSet creates the informers of s and registers its handlers.
// Nothing runs until start.
func newInformerSet(s *Source) *informerSet {
	client := s.cfg.Client
	set := &informerSet{
		ingresses:      make(map[string]cache.SharedIndexInformer),
		ingressClasses: make(map[string]cache.SharedIndexInformer),
		services:       make(map[string]cache.SharedIndexInformer),
		endpointSlices: make(map[string]cache.SharedIndexInformer),
		secrets:        make(map[string]cache.SharedIndexInformer),
		configMaps:     newConfigMaps(s),
	}
	add := func(m map[string]cache.SharedIndexInformer, namespace, resource string, inf cache.SharedIndexInformer) {
		m[namespace] = inf
		set.informers = append(set.informers, inf)
		handler := s.objectHandler(resource)
		if resource == resourceSecrets {
			handler = s.secretHandler()
		}
		set.setUp(inf, resource, s.cfg.Health, handler)
	}

	add(set.ingressClasses, "", resourceIngressClasses, newInformer(client, client.IngressClasses(), nil))
	namespaces := s.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		add(set.ingresses, ns, resourceIngresses, newInformer(client, client.Ingresses(ns), nil))
		add(set.services, ns, resourceServices, newInformer(client, client.Services(ns), nil))
		add(set.endpointSlices, ns, resourceEndpointSlices, newInformer(client, client.EndpointSlices(ns), nil))
		add(set.secrets, ns, resourceSecrets, newInformer(client, client.Secrets(ns), nil))
	}

	if p := s.cfg.PublishService; p.Name != "" {
		inf := set.services[metav1.NamespaceAll]
		if inf == nil {
			inf = set.services[p.Namespace]
		}
		if inf == nil {
			byName := fields.OneTermEqualSelector("metadata.name", p.Name).String()
			inf = newInformer(client, client.Services(p.Namespace), func(o *metav1.ListOptions) { o.FieldSelector = byName })
			set.informers = append(set.informers, inf)
			set.setUp(inf, resourceServices, s.cfg.Health, nil)
		}
		set.published = inf
		set.handle(inf, s.publishedHandler())
	}
	return set
}

// newInformer returns an informer, not started, of the objects that c
// lists and watches, with tweak applied to the list options: what
// client-go's informer factory makes for a kind, with no resync, the
// namespace index and the transform. client is c's Interface, asked
// whether it supports watch lists as the factory asks its clientset.
func newInformer[O any, T interface {
	*O
	runtime.Object
}, L runtime.Object](client kubeclient.Interface, c kubeclient.Client[T, L], tweak func(*metav1.ListOptions)) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			if tweak != nil {
				tweak(&opts)
			}
			return c.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			if tweak != nil {
				tweak(&opts)
			}
			return c.Watch(ctx, opts)
		},
	}
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), T(new(O)), 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	// Only a started informer refuses a transform.
	_ = inf.SetTransform(transform)
	return inf
}

// setUp reports the list and watch errors of inf to health and registers
// handler, if any.
func (set *informerSet) setUp(inf cache.SharedIndexInformer, resource string, health *Health, handler cache.ResourceEventHandler) {
	if err := inf.SetWatchErrorHandlerWithContext(watchErrorHandler(resource, health)); err != nil && set.err == nil {
		set.err = fmt.Errorf("%s informer: %w", resource, err)
	}
	if handler != nil {
		set.handle(inf, handler)
	}
}

func (set *informerSet) handle(inf cache.SharedIndexInformer, handler cache.ResourceEventHandler) {
	if _, err := inf.AddEventHandler(handler); err != nil && set.err == nil {
		set.err = fmt.Errorf("adding event handler: %w", err)
	}
}

// start starts every informer but those of ConfigMaps, which the worker
// starts as they are named; they stop when ctx is done.
func (set *informerSet) start(ctx context.Context) {
	for _, inf := range set.informers {
		set.wg.Go(func() { inf.RunWithContext(ctx) })
	}
}

// shutdown waits until the informers, once stopped, are done.
func (set *informerSet) shutdown() {
	set.wg.Wait()
	set.configMaps.shutdown()
}

// waitForSync waits until every informer started by start has listed its
// objects once.
func (set *informerSet) waitForSync(ctx context.Context) error {
	synced := make([]cache.DoneChecker, 0, len(set.informers))
	for _, inf := range set.informers {
		synced = append(synced, inf.HasSyncedChecker())
	}
	if !cache.WaitFor(ctx, "", synced...) {
		return fmt.Errorf("caches not synced: %w", context.Cause(ctx))
	}
	return nil
}

// ingress returns the cached Ingress namespace/name, or nil.
func (set *informerSet) ingress(namespace, name string) *networkingv1.Ingress {
	inf := set.ingresses[metav1.NamespaceAll]
	if inf == nil {
		inf = set.ingresses[namespace]
	}
	if inf == nil {
		return nil
	}
	obj, ok, _ := inf.GetStore().GetByKey(namespace + "/" + name)
	if !ok {
		return nil
	}
	ing, _ := obj.(*networkingv1.Ingress)
	return ing
}

// publishedService returns the cached published Service, or nil.
func (set *informerSet) publishedService(namespace, name string) *corev1.Service {
	if set.published == nil {
		return nil
	}
	obj, ok, _ := set.published.GetStore().GetByKey(namespace + "/" + name)
	if !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

// objectHandler notes every change of a watched object. It never looks
// at the objects, so a delete tombstone (cache.DeletedFinalStateUnknown)
// is just another change.
func (s *Source) objectHandler(resource string) cache.ResourceEventHandler {
	changed := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			s.pending.add(resource, key)
		} else {
			s.pending.all(resource)
		}
		s.changed()
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: changed,
		UpdateFunc: func(oldObj, newObj any) {
			// A re-list after a watch broke delivers unchanged objects.
			if !sameVersion(oldObj, newObj) {
				changed(newObj)
			}
		},
		DeleteFunc: changed,
	}
}

// secretHandler is objectHandler for Secrets that hold none of
// keptSecretKeys, before and after an event, left out: snapshots leave
// them out too. A Secret that gains its first such key is added, one that
// loses its last is deleted.
func (s *Source) secretHandler() cache.ResourceEventHandler {
	return cache.FilteringResourceEventHandler{FilterFunc: holdsKeptKeys, Handler: s.objectHandler(resourceSecrets)}
}

// holdsKeptKeys reports whether obj, a Secret or the tombstone of one,
// holds any of keptSecretKeys. Anything else counts as holding them.
func holdsKeptKeys(obj any) bool {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return true
	}
	for k := range secret.Data {
		if keptSecretKeys[k] {
			return true
		}
	}
	return false
}

// publishedHandler wakes the reporting goroutine when the published
// Service changes, since the status of owned Ingresses follows it.
func (s *Source) publishedHandler() cache.ResourceEventHandler {
	want := s.cfg.PublishService.String()
	poke := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil && key == want {
			s.reports.poke()
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, newObj any) { poke(newObj) },
		DeleteFunc: poke,
	}
}

// sameVersion reports whether a and b are the same version of the same
// object: same UID and the same, known, resourceVersion.
func sameVersion(a, b any) bool {
	am, ok := a.(metav1.Object)
	if !ok {
		return false
	}
	bm, ok := b.(metav1.Object)
	if !ok {
		return false
	}
	return am.GetResourceVersion() != "" && am.GetResourceVersion() == bm.GetResourceVersion() && am.GetUID() == bm.GetUID()
}

// transform strips what caddy-ingress never reads before objects enter
// the cache: managedFields of every object; everything of a Secret but
// its name, namespace, UID, resourceVersion, creation time, type and the
// data of keptSecretKeys (labels and annotations go: the last-applied-
// configuration annotation alone is a copy of all the data); everything of
// a ConfigMap but that metadata and its data (binaryData goes); and
// the last-applied-configuration annotation of Services and
// EndpointSlices.
// Ingresses keep that annotation: their status is written back with an
// update, which would drop it.
//
// Informers pass objects to the transform before anyone else sees them,
// so it changes them in place. It is idempotent.
func transform(obj any) (any, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	m.SetManagedFields(nil)
	switch o := obj.(type) {
	case *corev1.Secret:
		o.ObjectMeta = identity(o.ObjectMeta)
		for k := range o.Data {
			if !keptSecretKeys[k] {
				delete(o.Data, k)
			}
		}
		if len(o.Data) == 0 {
			o.Data = nil
		}
		o.StringData = nil
	case *corev1.ConfigMap:
		o.ObjectMeta = identity(o.ObjectMeta)
		o.BinaryData = nil
	case *corev1.Service, *discoveryv1.EndpointSlice:
		dropLastApplied(m)
	}
	return obj, nil
}

// identity is the metadata of m that the transform keeps of Secrets and
// ConfigMaps: name, namespace, UID, resourceVersion and creation time.
func identity(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		CreationTimestamp: m.CreationTimestamp,
	}
}

func dropLastApplied(m metav1.Object) {
	if a := m.GetAnnotations(); a != nil {
		delete(a, corev1.LastAppliedConfigAnnotation)
	}
}

// watchErrorHandler reports the errors of an informer's list and watch
// calls to health, except the routine ends of a watch. The informer
// retries by itself, with back-off.
func watchErrorHandler(resource string, health *Health) cache.WatchErrorHandlerWithContext {
	return func(ctx context.Context, _ *cache.Reflector, err error) {
		switch {
		case ctx.Err() != nil,
			errors.Is(err, io.EOF),
			errors.Is(err, io.ErrUnexpectedEOF),
			apierrors.IsResourceExpired(err),
			apierrors.IsGone(err):
			return
		}
		health.failed(resource, reflectorVerb(err), err)
	}
}
