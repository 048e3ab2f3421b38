package manifests

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	serializerjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// kind describes a kind this source reads.
type kind struct {
	// apiVersion is the only supported version.
	apiVersion string
	// groups are the API groups in which the kind name means this kind.
	// The same name in another group (a Knative Service, say) is someone
	// else's kind and is ignored.
	groups     []string
	namespaced bool
	new        func() apiObject
}

var kinds = map[string]kind{
	"Ingress": {
		apiVersion: "networking.k8s.io/v1",
		groups:     []string{"networking.k8s.io", "extensions"},
		namespaced: true,
		new:        func() apiObject { return &networkingv1.Ingress{} },
	},
	"IngressClass": {
		apiVersion: "networking.k8s.io/v1",
		groups:     []string{"networking.k8s.io"},
		new:        func() apiObject { return &networkingv1.IngressClass{} },
	},
	"Service": {
		apiVersion: "v1",
		groups:     []string{""},
		namespaced: true,
		new:        func() apiObject { return &corev1.Service{} },
	},
	"Secret": {
		apiVersion: "v1",
		groups:     []string{""},
		namespaced: true,
		new:        func() apiObject { return &corev1.Secret{} },
	},
	"ConfigMap": {
		apiVersion: "v1",
		groups:     []string{""},
		namespaced: true,
		new:        func() apiObject { return &corev1.ConfigMap{} },
	},
	"EndpointSlice": {
		apiVersion: "discovery.k8s.io/v1",
		groups:     []string{"discovery.k8s.io"},
		namespaced: true,
		new:        func() apiObject { return &discoveryv1.EndpointSlice{} },
	},
}

// apiObject is a typed API object.
type apiObject interface {
	runtime.Object
	metav1.Object
}

// object is one decoded API object and where it was defined.
type object struct {
	kind      string
	namespace string
	name      string
	line      int
	obj       apiObject
}

// header is what is read of an object before decoding it.
type header struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// The decoders are strict, as kubectl's client-side validation is: unknown
// and duplicate fields are errors, and field names are case-sensitive.
// Their scheme is empty on purpose: an object whose type is not registered
// is decoded straight into the object given.
var (
	emptyScheme = runtime.NewScheme()
	yamlDecoder = serializerjson.NewSerializerWithOptions(serializerjson.DefaultMetaFactory, emptyScheme, emptyScheme,
		serializerjson.SerializerOptions{Yaml: true, Strict: true})
	jsonDecoder = serializerjson.NewSerializerWithOptions(serializerjson.DefaultMetaFactory, emptyScheme, emptyScheme,
		serializerjson.SerializerOptions{Strict: true})
)

// decodeFile decodes every document of a file. Documents of kinds this
// source does not read are skipped. Any error makes the whole file fail.
func decodeFile(name string, content []byte) ([]object, []lineError) {
	var docs []document
	var splitErr *lineError
	if isJSON(name) {
		docs, splitErr = splitJSON(content)
	} else {
		docs, splitErr = splitYAML(content)
	}
	if splitErr != nil {
		return nil, []lineError{*splitErr}
	}
	var objects []object
	var errs []lineError
	for _, doc := range docs {
		objs, docErrs := decodeDocument(doc)
		objects = append(objects, objs...)
		errs = append(errs, docErrs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return objects, nil
}

// decodeDocument decodes one document: a single object or a v1 List.
func decodeDocument(doc document) ([]object, []lineError) {
	data, decoder := doc.text, jsonDecoder
	if !doc.json {
		converted, err := yaml.YAMLToJSON(doc.text)
		if err != nil {
			return nil, []lineError{doc.errorAt(err, "")}
		}
		data, decoder = converted, yamlDecoder
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		// Empty, comment-only, or not an object: not a manifest.
		return nil, nil
	}
	var typeMeta metav1.TypeMeta
	if err := utiljson.Unmarshal(data, &typeMeta); err != nil {
		return nil, nil
	}
	if typeMeta.Kind != "List" || typeMeta.APIVersion != "v1" {
		obj, errs := decodeObject(doc, decoder, doc.text, data, "")
		if obj == nil {
			return nil, errs
		}
		return []object{*obj}, nil
	}
	var list corev1.List
	if _, _, err := decoder.Decode(doc.text, nil, &list); err != nil {
		return nil, doc.errorsAt(err, "List: ")
	}
	var objects []object
	var errs []lineError
	for i, item := range list.Items {
		obj, itemErrs := decodeObject(doc, jsonDecoder, item.Raw, item.Raw, fmt.Sprintf("items[%d]: ", i))
		if obj != nil {
			objects = append(objects, *obj)
		}
		errs = append(errs, itemErrs...)
	}
	return objects, errs
}

// decodeObject decodes one object of a kind this source reads, and returns
// nil, nil for other kinds. encoded is the object as the decoder reads it,
// data the same as JSON. prefix starts error reasons.
func decodeObject(doc document, decoder runtime.Decoder, encoded, data []byte, prefix string) (*object, []lineError) {
	var h header
	if err := utiljson.Unmarshal(data, &h.TypeMeta); err != nil {
		return nil, nil
	}
	_ = utiljson.Unmarshal(data, &h) // best effort, only to name the object
	k, ok := kinds[h.Kind]
	if !ok {
		return nil, nil
	}
	namespace := h.Metadata.Namespace
	if !k.namespaced {
		namespace = ""
	} else if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	if h.Metadata.Name != "" {
		prefix += objectName(h.Kind, namespace, h.Metadata.Name) + ": "
	} else {
		prefix += h.Kind + ": "
	}
	if h.APIVersion == "" {
		return nil, []lineError{{line: doc.line, reason: fmt.Sprintf("%sapiVersion is missing, use %s", prefix, k.apiVersion)}}
	}
	gv, err := schema.ParseGroupVersion(h.APIVersion)
	if err != nil || !slices.Contains(k.groups, gv.Group) {
		return nil, nil
	}
	if h.APIVersion != k.apiVersion {
		return nil, []lineError{{line: doc.line, reason: fmt.Sprintf("%sapiVersion %s is not supported, use %s", prefix, h.APIVersion, k.apiVersion)}}
	}
	obj := k.new()
	if _, _, err := decoder.Decode(encoded, nil, obj); err != nil {
		return nil, doc.errorsAt(err, prefix)
	}
	if obj.GetName() == "" {
		return nil, []lineError{{line: doc.line, reason: prefix + "metadata.name is required"}}
	}
	if k.namespaced && obj.GetNamespace() == "" {
		obj.SetNamespace(metav1.NamespaceDefault)
	}
	if !k.namespaced {
		obj.SetNamespace("")
	}
	switch o := obj.(type) {
	case *corev1.Secret:
		mergeStringData(o)
		if o.Type == "" {
			// The API server's default: the same manifest means the
			// same Secret from either source.
			o.Type = corev1.SecretTypeOpaque
		}
	case *corev1.ConfigMap:
		// Translation reads data only, as the Kubernetes source keeps.
		o.BinaryData = nil
	}
	return &object{
		kind:      h.Kind,
		namespace: obj.GetNamespace(),
		name:      obj.GetName(),
		line:      doc.line,
		obj:       obj,
	}, nil
}

// mergeStringData moves stringData into data, as the API server does:
// stringData wins over data.
func mergeStringData(secret *corev1.Secret) {
	if len(secret.StringData) > 0 && secret.Data == nil {
		secret.Data = make(map[string][]byte, len(secret.StringData))
	}
	for k, v := range secret.StringData {
		secret.Data[k] = []byte(v)
	}
	secret.StringData = nil
}

func objectName(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

func isJSON(name string) bool {
	return strings.EqualFold(filepath.Ext(name), ".json")
}
