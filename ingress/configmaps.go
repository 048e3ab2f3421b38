package ingress

import (
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
)

// configMapAnnotations are the annotations whose value names a ConfigMap
// ("namespace/name", or a name in the Ingress's namespace).
var configMapAnnotations = []string{"custom-headers", "auth-proxy-set-headers"}

// ConfigMapRefs returns the ConfigMaps, as sorted and distinct
// "namespace/name", that the annotations of ings (under the prefixes of
// opts) and opts themselves name. Sources watch only these: a ConfigMap
// nothing names is never read. References that do not parse are left
// out; translation reports them on their Ingress.
func ConfigMapRefs(ings []*networkingv1.Ingress, opts *Options) []string {
	var refs []string
	for _, name := range []string{opts.Headers.Add, opts.Headers.ProxySet} {
		if ref, err := ParseSecretRef(name, ""); name != "" && err == nil {
			refs = append(refs, ref.String())
		}
	}
	prefixes := annotationPrefixes(opts)
	for _, ing := range ings {
		if len(ing.Annotations) == 0 {
			continue
		}
		for _, a := range configMapAnnotations {
			for _, p := range prefixes {
				v, ok := ing.Annotations[p+a]
				if !ok {
					continue
				}
				if ref, err := ParseSecretRef(v, ing.Namespace); err == nil {
					refs = append(refs, ref.String())
				}
				break
			}
		}
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}
