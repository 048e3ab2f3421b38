package ingress

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// FastCGITransportModule is the reverse_proxy transport of backends that
// speak FastCGI (backend-protocol FCGI): Caddy's fastcgi transport, given
// the params ingress-nginx sends.
const FastCGITransportModule = "ingress_fastcgi"

// fastcgiConfig is what fastcgi-index and fastcgi-params-configmap say.
// They do something only with backend-protocol FCGI, as in ingress-nginx.
type fastcgiConfig struct {
	// index is appended to a path that ends in "/" in
	// $fastcgi_script_name (nginx's fastcgi_index).
	index string
	// configMap is fastcgi-params-configmap as annotated.
	configMap string
	// params are the ConfigMap's entries, checked: sorted
	// "NAME\x00VALUE" lines joined by "\n".
	params string
}

// fastcgiPlan is how a path speaks FastCGI: comparable and canonical.
type fastcgiPlan struct {
	index, params string
}

var fastcgiFamily = family{
	annotations: []annotationSpec{
		{name: "fastcgi-index", fails: ignoreIngress, doc: "With backend-protocol FCGI: a file name (such as index.php) appended to a path that ends in / in SCRIPT_NAME and $fastcgi_script_name."},
		{name: "fastcgi-params-configmap", fails: denyPaths, doc: "With backend-protocol FCGI: a ConfigMap (namespace/name, or a name in the Ingress's namespace) whose entries are sent as FastCGI params, each key a param name, each value its value, which may use $fastcgi_script_name, $uri, $document_uri, $request_uri, $query_string, $args, $request_method, $scheme and $host. A missing ConfigMap makes the paths answer 503; an entry ingress-nginx refuses leaves the Ingress out. A change of the ConfigMap applies at once.",
			differs: "Other nginx variables ($document_root among them: ingress-nginx's is its own html directory), names with . or -, and a ConfigMap in another namespace (ingress-nginx ignores the annotation) make the paths answer 503."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("fastcgi-index"); ok && v != "" {
			if !fastcgiIndexValue.MatchString(v) {
				r.invalid("fastcgi-index", fmt.Errorf("invalid value %s: want a file name such as index.php", quoted(v)))
			} else {
				c.fastcgi.index = v
			}
		}
		if v, ok := r.value("fastcgi-params-configmap"); ok && v != "" {
			if !fastcgiConfigMapValue.MatchString(v) {
				r.fail("fastcgi-params-configmap", ignoreIngress, fmt.Sprintf("invalid value %s: want namespace/name of a ConfigMap", quoted(v)))
			} else {
				c.fastcgi.configMap = v
			}
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) {
		f := &c.fastcgi
		if (f.index != "" || f.configMap != "") && c.backend.protocol != "FCGI" {
			name := "fastcgi-index"
			if f.index == "" {
				name = "fastcgi-params-configmap"
			}
			r.warn(name, "has no effect without backend-protocol FCGI")
		}
		if f.configMap == "" {
			return
		}
		name, cm, err := t.configMapFor(r.ing.Namespace, f.configMap)
		if err != nil {
			r.invalid("fastcgi-params-configmap", err)
			return
		}
		params, refused, err := fastcgiParams(name, cm)
		switch {
		case refused:
			// ingress-nginx refuses the entry too: a validation error.
			r.fail("fastcgi-params-configmap", ignoreIngress, err.Error())
		case err != nil:
			r.invalid("fastcgi-params-configmap", err)
		default:
			f.params = params
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		if c.backend.protocol == "FCGI" {
			p.proxy.fastcgi = fastcgiPlan{index: c.fastcgi.index, params: c.fastcgi.params}
		}
	},
}

var (
	// fastcgiIndexValue is what ingress-nginx accepts as fastcgi-index.
	fastcgiIndexValue = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	// fastcgiConfigMapValue is what ingress-nginx accepts as the
	// annotation's value (its BasicCharsRegex).
	fastcgiConfigMapValue = regexp.MustCompile(`^[/\-._~a-zA-Z0-9:]+$`)
	// nginxParamName and nginxParamValue are what ingress-nginx accepts
	// in the ConfigMap; paramName is what we send.
	nginxParamName  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	nginxParamValue = regexp.MustCompile(`^[A-Za-z0-9_${}/.-]*$`)
	paramName       = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// FastCGIVars are the nginx variables that FastCGI param values may use.
// The transport computes each for the request, as nginx does:
//
//   - fastcgi_script_name: the path, with the fastcgi-index appended when
//     it ends in "/";
//   - uri, document_uri: the path (decoded, cleaned, after rewrites);
//   - request_uri: the client's path and query, as sent;
//   - query_string, args: the query;
//   - request_method, scheme;
//   - host: the request's host, lower case, without port.
var FastCGIVars = []string{"args", "document_uri", "fastcgi_script_name", "host", "query_string", "request_method", "request_uri", "scheme", "uri"}

// FastCGIPart is a piece of a FastCGI param value: literal Text, or the
// value of the nginx variable Var (one of FastCGIVars).
type FastCGIPart struct {
	Text string `json:"text,omitempty"`
	Var  string `json:"var,omitempty"`
}

// FastCGIParam is a FastCGI param sent to the backend: its value is its
// parts, concatenated. Nothing in it is a Caddy placeholder.
type FastCGIParam struct {
	Name  string        `json:"name"`
	Value []FastCGIPart `json:"value,omitempty"`
}

// fastcgiParams checks the entries of a ConfigMap of FastCGI params and
// returns them as sorted "NAME\x00VALUE" lines. refused says ingress-nginx
// refuses the entry as well.
func fastcgiParams(name string, cm *corev1.ConfigMap) (params string, refused bool, err error) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
		v := cm.Data[k]
		if !nginxParamName.MatchString(k) {
			return "", true, fmt.Errorf("configmap %s: %s is not a FastCGI param name", name, quoted(k))
		}
		if !nginxParamValue.MatchString(v) {
			return "", true, fmt.Errorf("configmap %s: param %s: invalid value %s: want letters, digits and _-./ with $variables", name, k, quoted(v))
		}
		if !paramName.MatchString(k) {
			return "", false, fmt.Errorf("configmap %s: param name %s: want letters, digits and _", name, quoted(k))
		}
		if _, err := ParseFastCGIValue(v); err != nil {
			return "", false, fmt.Errorf("configmap %s: param %s: %w", name, k, err)
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k + "\x00" + v)
	}
	return b.String(), false, nil
}

// ParseFastCGIValue splits an nginx param value into literal text and
// variables ($name or ${name}), each one of FastCGIVars. A name is the
// longest run of letters, digits and _ after $, as nginx reads it.
func ParseFastCGIValue(v string) ([]FastCGIPart, error) {
	var parts []FastCGIPart
	for v != "" {
		i := strings.IndexByte(v, '$')
		if i < 0 {
			i = len(v)
		}
		if i > 0 {
			if strings.ContainsAny(v[:i], "{}") {
				return nil, fmt.Errorf("invalid value: { and } only in ${variable}")
			}
			parts = append(parts, FastCGIPart{Text: v[:i]})
			v = v[i:]
			continue
		}
		v = v[1:]
		var name string
		if rest, ok := strings.CutPrefix(v, "{"); ok {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("invalid value: ${ without }")
			}
			name, v = rest[:end], rest[end+1:]
		} else {
			end := 0
			for end < len(v) && isVarByte(v[end]) {
				end++
			}
			name, v = v[:end], v[end:]
		}
		if name == "" {
			return nil, fmt.Errorf("invalid value: $ without a variable name")
		}
		if !slices.Contains(FastCGIVars, name) {
			reason := ""
			if name == "document_root" {
				reason = " (ingress-nginx's is its own html directory, not the backend's: write the backend's directory, as in /var/www/html$fastcgi_script_name)"
			}
			return nil, fmt.Errorf("variable $%s is not supported%s; want one of $%s", name, reason, strings.Join(FastCGIVars, ", $"))
		}
		parts = append(parts, FastCGIPart{Var: name})
	}
	return parts, nil
}

func isVarByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// fastcgiTransport renders the FastCGI transport of f.
func fastcgiTransport(f *fastcgiPlan) map[string]any {
	tr := map[string]any{"protocol": FastCGITransportModule}
	if f.index != "" {
		tr["index"] = f.index
	}
	if f.params != "" {
		var params []FastCGIParam
		for _, line := range strings.Split(f.params, "\n") {
			name, value, _ := strings.Cut(line, "\x00")
			parts, _ := ParseFastCGIValue(value) // checked when resolved
			params = append(params, FastCGIParam{Name: name, Value: parts})
		}
		tr["params"] = params
	}
	return tr
}
