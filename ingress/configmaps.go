package ingress

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// configMapAnnotations are the annotations whose value names a ConfigMap
// ("namespace/name", or a name in the Ingress's namespace).
var configMapAnnotations = []string{"custom-headers", "auth-proxy-set-headers", "fastcgi-params-configmap"}

// ConfigMapRefs returns the ConfigMaps, as sorted and distinct
// "namespace/name", that the annotations of ings (under the prefixes of
// opts) and opts themselves name. Sources watch only these: a ConfigMap
// nothing names is never read. References that do not parse are left
// out; translation reports them on their Ingress.
func ConfigMapRefs(ings []*networkingv1.Ingress, opts *Options) []string {
	var refs []string
	for _, name := range []string{opts.Headers.Add, opts.Headers.ProxySet} {
		if ref, err := ParseConfigMapRef(name, ""); name != "" && err == nil {
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
				if ref, err := ParseConfigMapRef(v, ing.Namespace); err == nil {
					refs = append(refs, ref.String())
				}
				break
			}
		}
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

// configMapFor resolves a ConfigMap reference from an annotation of an
// Ingress in namespace: a bare name is in that namespace; another
// namespace needs allow_cross_namespace_secrets, as for Secrets.
func (t *translation) configMapFor(namespace, value string) (string, *corev1.ConfigMap, error) {
	ref, err := ParseConfigMapRef(value, namespace)
	if err != nil {
		return "", nil, err
	}
	if ref.Namespace != namespace && !t.opts.AllowCrossNamespaceSecrets {
		return "", nil, fmt.Errorf("configmap %s is in another namespace than the Ingress, and allow_cross_namespace_secrets is off", ref)
	}
	cm := t.configMap(ref.String())
	if cm == nil {
		return "", nil, fmt.Errorf("configmap %s not found", ref)
	}
	return ref.String(), cm, nil
}

// headerLines checks the entries of a ConfigMap of headers and returns
// them sorted as "name\x00value" lines joined by "\n": names must be
// header names, values literal (printable, no $).
func headerLines(name string, cm *corev1.ConfigMap) (string, error) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
		v := strings.TrimSpace(cm.Data[k])
		if !authHeaderName.MatchString(k) {
			return "", fmt.Errorf("configmap %s: %s is not a header name", name, quoted(k))
		}
		if !headerValue.MatchString(v) {
			return "", fmt.Errorf("configmap %s: header %s: invalid value %s: want printable text without $", name, k, quoted(v))
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(http.CanonicalHeaderKey(k) + "\x00" + v)
	}
	return b.String(), nil
}

// authProxyHeaders reads the ConfigMap of auth-proxy-set-headers.
func (t *translation) authProxyHeaders(namespace, value string) (string, error) {
	name, cm, err := t.configMapFor(namespace, value)
	if err != nil {
		return "", err
	}
	return headerLines(name, cm)
}
