package kube

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
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
	factories      []informers.SharedInformerFactory
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
	newFactory := func(namespace string, tweak func(*metav1.ListOptions)) informers.SharedInformerFactory {
		opts := []informers.SharedInformerOption{informers.WithNamespace(namespace), informers.WithTransform(transform)}
		if tweak != nil {
			opts = append(opts, informers.WithTweakListOptions(tweak))
		}
		f := informers.NewSharedInformerFactoryWithOptions(client, 0, opts...)
		set.factories = append(set.factories, f)
		return f
	}
	add := func(m map[string]cache.SharedIndexInformer, namespace, resource string, inf cache.SharedIndexInformer) {
		m[namespace] = inf
		handler := s.objectHandler(resource)
		if resource == resourceSecrets {
			handler = s.secretHandler()
		}
		set.setUp(inf, resource, s.cfg.Health, handler)
	}

	cluster := newFactory(metav1.NamespaceAll, nil)
	add(set.ingressClasses, "", resourceIngressClasses, cluster.Networking().V1().IngressClasses().Informer())
	namespaces := s.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		f := newFactory(ns, nil)
		add(set.ingresses, ns, resourceIngresses, f.Networking().V1().Ingresses().Informer())
		add(set.services, ns, resourceServices, f.Core().V1().Services().Informer())
		add(set.endpointSlices, ns, resourceEndpointSlices, f.Discovery().V1().EndpointSlices().Informer())
		add(set.secrets, ns, resourceSecrets, f.Core().V1().Secrets().Informer())
	}

	if p := s.cfg.PublishService; p.Name != "" {
		inf := set.services[metav1.NamespaceAll]
		if inf == nil {
			inf = set.services[p.Namespace]
		}
		if inf == nil {
			byName := fields.OneTermEqualSelector("metadata.name", p.Name).String()
			f := newFactory(p.Namespace, func(o *metav1.ListOptions) { o.FieldSelector = byName })
			inf = f.Core().V1().Services().Informer()
			set.setUp(inf, resourceServices, s.cfg.Health, nil)
		}
		set.published = inf
		set.handle(inf, s.publishedHandler())
	}
	return set
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
	for _, f := range set.factories {
		f.StartWithContext(ctx)
	}
}

// shutdown waits until the informers, once stopped, are done.
func (set *informerSet) shutdown() {
	for _, f := range set.factories {
		f.Shutdown()
	}
	set.configMaps.shutdown()
}

// waitForSync waits until every informer started by start has listed its
// objects once.
func (set *informerSet) waitForSync(ctx context.Context) error {
	for _, f := range set.factories {
		if res := f.WaitForCacheSyncWithContext(ctx); res.Err != nil {
			return res.Err
		}
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
