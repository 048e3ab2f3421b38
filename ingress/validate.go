package ingress

import (
	"fmt"
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// validateHost checks a rule or TLS host as the API server does: a
// lowercase DNS subdomain, optionally with "*." as its whole first label,
// and not an IP address.
func validateHost(host string) error {
	if _, err := netip.ParseAddr(host); err == nil {
		return fmt.Errorf("host %q: must be a DNS name, not an IP address", host)
	}
	name := host
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		name = rest
	}
	if strings.Contains(name, "*") {
		return fmt.Errorf("host %q: a wildcard may only be the whole first label", host)
	}
	if !isDNSSubdomain(name) {
		return fmt.Errorf("host %q: must be a lowercase DNS name of letters, digits, '-' and '.'", host)
	}
	return nil
}

var (
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

// fieldError is an error about one field below the one being read.
type fieldError struct {
	field string // such as ".path"
	msg   string
}

func (e *fieldError) Error() string { return e.msg }

func pathError(format string, args ...any) error {
	return &fieldError{".path", fmt.Sprintf(format, args...)}
}

func pathTypeError(format string, args ...any) error {
	return &fieldError{".pathType", fmt.Sprintf(format, args...)}
}

// normalizePath validates an HTTP path rule and returns the path and type
// it matches with. Exact and Prefix paths follow the API server's rules;
// ImplementationSpecific paths must be absolute and match as Prefix; an
// empty ImplementationSpecific path means "/".
func normalizePath(p networkingv1.HTTPIngressPath) (string, PathType, error) {
	if p.PathType == nil {
		return "", "", pathTypeError("must be Exact, Prefix or ImplementationSpecific")
	}
	path := p.Path
	var typ PathType
	switch *p.PathType {
	case networkingv1.PathTypeExact:
		typ = PathExact
	case networkingv1.PathTypePrefix:
		typ = PathPrefix
	case networkingv1.PathTypeImplementationSpecific:
		typ = PathPrefix
		if path == "" {
			path = "/"
		}
	default:
		return "", "", pathTypeError("pathType %q: must be Exact, Prefix or ImplementationSpecific", *p.PathType)
	}
	if !strings.HasPrefix(path, "/") {
		return "", "", pathError("path %q: must be an absolute path", path)
	}
	for _, c := range path {
		if c < 0x21 || c == 0x7f {
			return "", "", pathError("path %q: must not contain spaces or control characters", path)
		}
	}
	if *p.PathType != networkingv1.PathTypeImplementationSpecific {
		for _, seq := range invalidPathSequences {
			if strings.Contains(path, seq) {
				return "", "", pathError("path %q: must not contain %q", path, seq)
			}
		}
		for _, suf := range invalidPathSuffixes {
			if strings.HasSuffix(path, suf) {
				return "", "", pathError("path %q: must not end with %q", path, suf)
			}
		}
	}
	if typ == PathPrefix {
		path = TrimPrefixPath(path)
	}
	return path, typ, nil
}

// TrimPrefixPath drops the trailing slashes of a Prefix path: Prefix "/foo/"
// matches exactly what Prefix "/foo" matches. "/" stays "/".
func TrimPrefixPath(p string) string {
	for len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	return p
}

// isDNSSubdomain is validation.IsDNS1123Subdomain without the regular
// expression, which is the most expensive part of translating a host:
// at most 253 characters of dot-separated labels of lowercase letters,
// digits and inner dashes.
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isDNSLabel(label, 63) {
			return false
		}
	}
	return true
}

// isDNSLabel reports whether s is a DNS-1123 label of at most max
// characters: lowercase letters, digits and '-', not starting or ending
// with '-'.
func isDNSLabel(s string, max int) bool {
	if len(s) == 0 || len(s) > max || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
