// Package ingress translates Kubernetes Ingress objects into Caddy routes.
//
// Translation is pure: it takes a Snapshot of API objects and Options and
// returns a Result with routes per host, the certificates wanted and the
// problems found on individual objects. It does no I/O, reads no clock and
// logs nothing; the same input gives the same output, byte for byte.
package ingress

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Snapshot is a consistent view of the objects that translation reads.
// Objects are never modified by this package. Order does not matter.
type Snapshot struct {
	Ingresses      []*networkingv1.Ingress
	IngressClasses []*networkingv1.IngressClass
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Secrets        []*corev1.Secret
	// ConfigMaps are those that ConfigMapRefs names; sources need not
	// deliver others.
	ConfigMaps []*corev1.ConfigMap
}

// Same reports whether s and o hold the very same objects (pointers), kind
// by kind, in the same order. Sources keep unchanged objects' pointers, so
// this tells whether anything changed.
func (s *Snapshot) Same(o *Snapshot) bool {
	return slices.Equal(s.EndpointSlices, o.EndpointSlices) && s.SameRouteInputs(o)
}

// SameRouteInputs is Same for the objects that Translate reads: all but
// EndpointSlices.
func (s *Snapshot) SameRouteInputs(o *Snapshot) bool {
	return slices.Equal(s.Ingresses, o.Ingresses) &&
		slices.Equal(s.IngressClasses, o.IngressClasses) &&
		slices.Equal(s.Services, o.Services) &&
		slices.Equal(s.Secrets, o.Secrets) &&
		slices.Equal(s.ConfigMaps, o.ConfigMaps)
}
