package ingress

import (
	"fmt"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// resolveBackend finds the Service port an Ingress backend names. A
// backend that cannot be resolved is reported and serves 503, so its
// traffic never lands on another backend by accident.
func (t *translation) resolveBackend(ns string, b *networkingv1.IngressBackend, report func(field, reason string), field string) target {
	switch {
	case b == nil:
		report(field, "backend is empty")
		return target{}
	case b.Resource != nil:
		report(field+".resource", "resource backends are not supported")
		return target{}
	case b.Service == nil:
		report(field, "backend names no service")
		return target{}
	}
	return t.resolveService(ns, b.Service.Name, b.Service.Port, report, field+".service")
}

func (t *translation) resolveService(ns, name string, port networkingv1.ServiceBackendPort, report func(field, reason string), field string) target {
	if !isDNSLabel(name, 63) || name[0] >= '0' && name[0] <= '9' {
		report(field+".name", fmt.Sprintf("service name %q: must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter)", name))
		return target{}
	}
	switch {
	case port.Name != "" && port.Number != 0:
		report(field+".port", "set either name or number, not both")
		return target{}
	case port.Name != "":
		if errs := validation.IsValidPortName(port.Name); len(errs) > 0 {
			report(field+".port.name", fmt.Sprintf("port name %q: %s", port.Name, errs[0]))
			return target{}
		}
	case port.Number < 1 || port.Number > 65535:
		report(field+".port.number", fmt.Sprintf("port %d: must be between 1 and 65535", port.Number))
		return target{}
	}
	svc := t.service(ns + "/" + name)
	if svc == nil {
		report(field+".name", fmt.Sprintf("service %s/%s not found", ns, name))
		return target{}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		report(field+".name", fmt.Sprintf("service %s/%s: type ExternalName is not supported", ns, name))
		return target{}
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
			continue
		}
		if (port.Name != "" && sp.Name == port.Name) || (port.Name == "" && sp.Port == port.Number) {
			tgt := target{upstream: &UpstreamKey{Namespace: ns, Service: name, PortName: sp.Name}, port: sp.Port}
			if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
				tgt.clusterIP = ip.String()
			}
			return tgt
		}
	}
	portText := port.Name
	if portText == "" {
		portText = strconv.Itoa(int(port.Number))
	}
	report(field+".port", fmt.Sprintf("service %s/%s: port %s not found", ns, name, portText))
	return target{}
}

// backendRef returns the Service port that b names in namespace ns, as
// written; zero when b names no Service.
func backendRef(ns string, b *networkingv1.IngressBackend) ServiceRef {
	if b == nil || b.Service == nil {
		return ServiceRef{}
	}
	return ServiceRef{Namespace: ns, Name: b.Service.Name, Port: b.Service.Port}
}
