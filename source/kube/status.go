package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// fieldManager names this controller in the managedFields of what it writes.
const fieldManager = "caddy-ingress"

// requestTimeout bounds each status write.
const requestTimeout = 10 * time.Second

// StatusFromAddresses returns the load-balancer status for addresses: IP
// addresses as ip, other names as hostname.
func StatusFromAddresses(addrs []string) []networkingv1.IngressLoadBalancerIngress {
	var out []networkingv1.IngressLoadBalancerIngress
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil {
			out = append(out, networkingv1.IngressLoadBalancerIngress{IP: ip.String()})
		} else {
			out = append(out, networkingv1.IngressLoadBalancerIngress{Hostname: a})
		}
	}
	return out
}

// statusFromService returns the load-balancer status that Ingresses get
// from a published Service: the addresses of its load balancer, with their
// ports, then its external IPs; for an ExternalName Service, that name.
func statusFromService(svc *corev1.Service) []networkingv1.IngressLoadBalancerIngress {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return []networkingv1.IngressLoadBalancerIngress{{Hostname: svc.Spec.ExternalName}}
	}
	var out []networkingv1.IngressLoadBalancerIngress
	for _, lb := range svc.Status.LoadBalancer.Ingress {
		e := networkingv1.IngressLoadBalancerIngress{IP: lb.IP, Hostname: lb.Hostname}
		for _, p := range lb.Ports {
			port := networkingv1.IngressPortStatus{Port: p.Port, Protocol: p.Protocol}
			if p.Error != nil {
				msg := *p.Error
				port.Error = &msg
			}
			e.Ports = append(e.Ports, port)
		}
		out = append(out, e)
	}
	for _, ip := range svc.Spec.ExternalIPs {
		if !slices.ContainsFunc(out, func(e networkingv1.IngressLoadBalancerIngress) bool { return e.IP == ip }) {
			out = append(out, networkingv1.IngressLoadBalancerIngress{IP: ip})
		}
	}
	return out
}

// wantedStatus returns the status of owned Ingresses, and false when
// status is to be left alone: when none is configured, or the published
// Service does not exist.
func (s *Source) wantedStatus() ([]networkingv1.IngressLoadBalancerIngress, bool) {
	switch p := s.cfg.PublishService; {
	case len(s.status) > 0:
		return s.status, true
	case p.Name != "":
		svc := s.inf.publishedService(p.Namespace, p.Name)
		if svc == nil {
			if !s.missingService {
				s.logger.Warn("published service not found; ingress status left alone", zap.String("service", p.String()))
			}
			s.missingService = true
			return nil, false
		}
		s.missingService = false
		return statusFromService(svc), true
	}
	return nil, false
}

// writtenStatus is what this source set, or found already set, in the
// status of an Ingress.
type writtenStatus struct {
	status []networkingv1.IngressLoadBalancerIngress
	// over is the resourceVersion of the cached Ingress that the status
	// was written over; empty when nothing was written or it is unknown.
	// While the cache still holds that version, the write is not in the
	// cache yet and is not repeated.
	over string
}

// writeStatus writes the wanted status into every owned Ingress that
// lacks it, and clears the status of Ingresses that are not owned (any
// more) but carry the wanted status or the status this source gave them.
// Other Ingresses are left alone. It returns the errors of all writes.
func (s *Source) writeStatus(ctx context.Context, owned []ingress.ObjectRef) error {
	want, ok := s.wantedStatus()
	if !ok {
		return nil
	}
	var errs []error
	isOwned := make(map[string]bool, len(owned))
	for _, ref := range owned {
		isOwned[ref.Namespace+"/"+ref.Name] = true
		if ing := s.inf.ingress(ref.Namespace, ref.Name); ing != nil {
			if err := s.ensureStatus(ctx, ing, want); err != nil {
				errs = append(errs, err)
			}
		}
	}

	present := make(map[string]bool)
	// In no order: listing unsorted spares a sort of every Ingress per
	// report.
	var all []*networkingv1.Ingress
	for _, inf := range s.inf.ingresses {
		for _, obj := range inf.GetStore().List() {
			if ing, ok := obj.(*networkingv1.Ingress); ok {
				all = append(all, ing)
			}
		}
	}
	for _, ing := range all {
		key := ing.Namespace + "/" + ing.Name
		present[key] = true
		if isOwned[key] {
			continue
		}
		cur := ing.Status.LoadBalancer.Ingress
		w, wrote := s.written[key]
		if len(cur) == 0 || !(sameStatus(cur, want) || wrote && len(w.status) > 0 && sameStatus(cur, w.status)) {
			// Empty, or someone else's.
			delete(s.written, key)
			continue
		}
		if err := s.ensureStatus(ctx, ing, nil); err != nil {
			errs = append(errs, err)
		}
	}
	for key := range s.written {
		if !present[key] {
			delete(s.written, key)
		}
	}
	return errors.Join(errs...)
}

// ensureStatus sets the load-balancer status of ing to want unless it has
// it already or this source just wrote it, and remembers it.
func (s *Source) ensureStatus(ctx context.Context, ing *networkingv1.Ingress, want []networkingv1.IngressLoadBalancerIngress) error {
	key := ing.Namespace + "/" + ing.Name
	w, ok := s.written[key]
	switch {
	case sameStatus(ing.Status.LoadBalancer.Ingress, want):
		s.written[key] = writtenStatus{status: want}
		return nil
	case ok && w.over != "" && w.over == ing.ResourceVersion && sameStatus(w.status, want):
		return nil
	}
	if err := s.setStatus(ctx, ing, want); err != nil {
		return err
	}
	s.written[key] = writtenStatus{status: want, over: ing.ResourceVersion}
	return nil
}

// setStatus sets the load-balancer status of ing to want. The first
// attempt updates a copy of the cached object; after a conflict, a copy of
// the object as read from the API server.
func (s *Source) setStatus(ctx context.Context, ing *networkingv1.Ingress, want []networkingv1.IngressLoadBalancerIngress) error {
	client := s.cfg.Client.Ingresses(ing.Namespace)
	cur := ing
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ctx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		if cur == nil {
			fresh, err := client.Get(ctx, ing.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if sameStatus(fresh.Status.LoadBalancer.Ingress, want) {
				return nil
			}
			cur = fresh
		}
		upd := cur.DeepCopy()
		cur = nil
		upd.Status.LoadBalancer.Ingress = nil
		for _, e := range want {
			upd.Status.LoadBalancer.Ingress = append(upd.Status.LoadBalancer.Ingress, *e.DeepCopy())
		}
		_, err := client.UpdateStatus(ctx, upd, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ingress %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	s.logger.Debug("ingress status written", zap.String("ingress", ing.Namespace+"/"+ing.Name), zap.String("addresses", statusString(want)))
	return nil
}

// sameStatus reports whether a and b are equal; nil equals empty.
func sameStatus(a, b []networkingv1.IngressLoadBalancerIngress) bool {
	return equality.Semantic.DeepEqual(a, b)
}

// statusString lists the addresses of a status, for logs.
func statusString(lbs []networkingv1.IngressLoadBalancerIngress) string {
	addrs := make([]string, 0, len(lbs))
	for _, lb := range lbs {
		addrs = append(addrs, lb.IP+lb.Hostname)
	}
	return strings.Join(addrs, ",")
}
