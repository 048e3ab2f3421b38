// Package kubeclient is the part of the Kubernetes API that caddy-ingress
// uses, and no more: clients of Services, Secrets, ConfigMaps, Events,
// Ingresses, IngressClasses, EndpointSlices and Leases, over a scheme that
// knows only the core, networking.k8s.io, discovery.k8s.io and
// coordination.k8s.io groups.
//
// client-go's Clientset and its typed clients register every API group in
// one scheme (k8s.io/client-go/kubernetes/scheme), so that any of them
// links the types of all groups into the binary: some 13 MiB of Caddy's
// size (bench/README.md). The clients here are client-go's own generic
// ones (k8s.io/client-go/gentype), the code that the typed clients are
// made of, over this package's smaller scheme, so they behave alike.
//
// Interface is met both by New's clients and, in tests, by adapters of
// client-go's fake clientset (see the kubeclienttest package).
package kubeclient

import (
	"context"
	"fmt"
	"net/http"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Scheme knows the API groups of this package and the options of
// metav1, as client-go's scheme does for all groups.
var Scheme = runtime.NewScheme()

// Codecs and ParameterCodec encode and decode with Scheme.
var (
	Codecs         = serializer.NewCodecFactory(Scheme)
	ParameterCodec = runtime.NewParameterCodec(Scheme)
)

func init() {
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	utilruntime.Must(corev1.AddToScheme(Scheme))
	utilruntime.Must(networkingv1.AddToScheme(Scheme))
	utilruntime.Must(discoveryv1.AddToScheme(Scheme))
	utilruntime.Must(coordinationv1.AddToScheme(Scheme))
}

// Client reads and writes objects of type T (lists L) in one namespace, or
// of a cluster-scoped kind. Its methods are those of client-go's typed
// clients.
type Client[T, L runtime.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

// StatusClient is Client for kinds with a status subresource.
type StatusClient[T, L runtime.Object] interface {
	Client[T, L]
	UpdateStatus(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// Interface gives the clients of every kind caddy-ingress reads or
// writes. Namespace "" (metav1.NamespaceAll) lists and watches all
// namespaces.
type Interface interface {
	Services(namespace string) Client[*corev1.Service, *corev1.ServiceList]
	Secrets(namespace string) Client[*corev1.Secret, *corev1.SecretList]
	ConfigMaps(namespace string) Client[*corev1.ConfigMap, *corev1.ConfigMapList]
	Events(namespace string) Client[*corev1.Event, *corev1.EventList]
	Ingresses(namespace string) StatusClient[*networkingv1.Ingress, *networkingv1.IngressList]
	IngressClasses() Client[*networkingv1.IngressClass, *networkingv1.IngressClassList]
	EndpointSlices(namespace string) Client[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList]
	Leases(namespace string) Client[*coordinationv1.Lease, *coordinationv1.LeaseList]
}

// Clientset is the Interface of New: one REST client per API group, over
// one HTTP client and one rate limiter, as client-go's Clientset.
type Clientset struct {
	core, networking, discovery, coordination rest.Interface
}

// New returns the clients for cfg. Like kubernetes.NewForConfig, it
// makes no API call; the groups share one connection pool and, when
// cfg.QPS is set, one rate limiter.
func New(cfg *rest.Config) (*Clientset, error) {
	c := *cfg
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if c.RateLimiter == nil && c.QPS > 0 {
		if c.Burst <= 0 {
			return nil, fmt.Errorf("kubernetes client: burst must be greater than 0 when qps is set")
		}
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.QPS, c.Burst)
	}
	httpClient, err := rest.HTTPClientFor(&c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	cs := new(Clientset)
	for _, g := range []struct {
		client  *rest.Interface
		gv      schema.GroupVersion
		apiPath string
	}{
		{&cs.core, corev1.SchemeGroupVersion, "/api"},
		{&cs.networking, networkingv1.SchemeGroupVersion, "/apis"},
		{&cs.discovery, discoveryv1.SchemeGroupVersion, "/apis"},
		{&cs.coordination, coordinationv1.SchemeGroupVersion, "/apis"},
	} {
		if *g.client, err = restClient(&c, httpClient, g.gv, g.apiPath); err != nil {
			return nil, fmt.Errorf("kubernetes client for %s: %w", g.gv, err)
		}
	}
	return cs, nil
}

// restClient is the REST client of one API group, set up as the typed
// clients' setConfigDefaults does.
func restClient(cfg *rest.Config, httpClient *http.Client, gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
	c := *cfg
	c.GroupVersion = &gv
	c.APIPath = apiPath
	c.NegotiatedSerializer = rest.CodecFactoryForGeneratedClient(Scheme, Codecs).WithoutConversion()
	return rest.RESTClientForConfigAndClient(&c, httpClient)
}

// newClient is gentype's client of resource over c, preferring protobuf
// where the config asks for it, as the typed clients do.
func newClient[O, LO any, T interface {
	*O
	runtime.Object
	metav1.Object
}, L interface {
	*LO
	runtime.Object
}](c rest.Interface, resource, namespace string) *gentype.ClientWithList[T, L] {
	return gentype.NewClientWithList(resource, c, ParameterCodec, namespace,
		func() T { return new(O) }, func() L { return new(LO) },
		gentype.PrefersProtobuf[T]())
}

func (cs *Clientset) Services(namespace string) Client[*corev1.Service, *corev1.ServiceList] {
	return newClient[corev1.Service, corev1.ServiceList](cs.core, "services", namespace)
}

func (cs *Clientset) Secrets(namespace string) Client[*corev1.Secret, *corev1.SecretList] {
	return newClient[corev1.Secret, corev1.SecretList](cs.core, "secrets", namespace)
}

func (cs *Clientset) ConfigMaps(namespace string) Client[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return newClient[corev1.ConfigMap, corev1.ConfigMapList](cs.core, "configmaps", namespace)
}

func (cs *Clientset) Events(namespace string) Client[*corev1.Event, *corev1.EventList] {
	return newClient[corev1.Event, corev1.EventList](cs.core, "events", namespace)
}

func (cs *Clientset) Ingresses(namespace string) StatusClient[*networkingv1.Ingress, *networkingv1.IngressList] {
	return newClient[networkingv1.Ingress, networkingv1.IngressList](cs.networking, "ingresses", namespace)
}

func (cs *Clientset) IngressClasses() Client[*networkingv1.IngressClass, *networkingv1.IngressClassList] {
	return newClient[networkingv1.IngressClass, networkingv1.IngressClassList](cs.networking, "ingressclasses", "")
}

func (cs *Clientset) EndpointSlices(namespace string) Client[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList] {
	return newClient[discoveryv1.EndpointSlice, discoveryv1.EndpointSliceList](cs.discovery, "endpointslices", namespace)
}

func (cs *Clientset) Leases(namespace string) Client[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return newClient[coordinationv1.Lease, coordinationv1.LeaseList](cs.coordination, "leases", namespace)
}

// Interface guards
var _ Interface = (*Clientset)(nil)
