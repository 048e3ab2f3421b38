package ingress

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Endpoints returns the ready endpoint addresses ("ip:port", sorted and
// without duplicates) of every Service port that EndpointSlices list.
// Endpoints that are not ready, non-TCP ports, FQDN slices and addresses
// that do not parse are left out. It is separate from Translate so that
// endpoint changes never rebuild routes.
func Endpoints(list []*discoveryv1.EndpointSlice) map[UpstreamKey][]string {
	byKey := make(map[UpstreamKey][]netip.AddrPort)
	for _, s := range list {
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		for _, p := range s.Ports {
			if p.Port == nil || *p.Port < 1 || *p.Port > 65535 {
				continue
			}
			if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
				continue
			}
			k := UpstreamKey{Namespace: s.Namespace, Service: svc}
			if p.Name != nil {
				k.PortName = *p.Name
			}
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, a := range ep.Addresses {
					ip, err := netip.ParseAddr(a)
					if err != nil || ip.Zone() != "" {
						continue
					}
					byKey[k] = append(byKey[k], netip.AddrPortFrom(ip.Unmap(), uint16(*p.Port)))
				}
			}
		}
	}
	out := make(map[UpstreamKey][]string, len(byKey))
	for k, addrs := range byKey {
		slices.SortFunc(addrs, netip.AddrPort.Compare)
		addrs = slices.Compact(addrs)
		dial := make([]string, len(addrs))
		for i, a := range addrs {
			dial[i] = a.String()
		}
		out[k] = dial
	}
	return out
}
