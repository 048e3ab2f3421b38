// Package kubeclienttest adapts client-go's fake clientset to
// kubeclient.Interface, for tests. It links every API group; only tests
// import it.
package kubeclienttest

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/watchlist"

	"github.com/caddy-ingress/caddy-ingress/kubeclient"
)

// Clients is kubeclient.Interface over a client-go clientset, such as
// fake.NewClientset.
type Clients struct {
	kubernetes.Interface
}

// New returns the clients of cs.
func New(cs kubernetes.Interface) Clients { return Clients{cs} }

func (c Clients) Services(namespace string) kubeclient.Client[*corev1.Service, *corev1.ServiceList] {
	return c.CoreV1().Services(namespace)
}

func (c Clients) Secrets(namespace string) kubeclient.Client[*corev1.Secret, *corev1.SecretList] {
	return c.CoreV1().Secrets(namespace)
}

func (c Clients) ConfigMaps(namespace string) kubeclient.Client[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return c.CoreV1().ConfigMaps(namespace)
}

func (c Clients) Events(namespace string) kubeclient.Client[*corev1.Event, *corev1.EventList] {
	return c.CoreV1().Events(namespace)
}

func (c Clients) Ingresses(namespace string) kubeclient.StatusClient[*networkingv1.Ingress, *networkingv1.IngressList] {
	return c.NetworkingV1().Ingresses(namespace)
}

func (c Clients) IngressClasses() kubeclient.Client[*networkingv1.IngressClass, *networkingv1.IngressClassList] {
	return c.NetworkingV1().IngressClasses()
}

func (c Clients) EndpointSlices(namespace string) kubeclient.Client[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList] {
	return c.DiscoveryV1().EndpointSlices(namespace)
}

func (c Clients) Leases(namespace string) kubeclient.Client[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return c.CoordinationV1().Leases(namespace)
}

// IsWatchListSemanticsUnSupported passes on what the clientset says, so
// that informers over the fake clientset, which does not support watch
// lists, do not ask for them.
func (c Clients) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(c.Interface)
}

// Interface guards
var _ kubeclient.Interface = Clients{}
