package ingress

import "fmt"

// ObjectRef names the object a Problem belongs to.
type ObjectRef struct {
	// Kind is the object's kind, such as "Ingress" or "Secret". Problems
	// that do not belong to an API object use "File" (a manifest that does
	// not parse, Name is its path) or "Config" (the app's own settings).
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (o ObjectRef) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Problem is something wrong with one object. The object, or the part of
// it named by Field, is left out of the result; everything else is served.
type Problem struct {
	Object ObjectRef `json:"object"`
	// Field is the path of the offending field, such as
	// "spec.rules[0].http.paths[1].backend.service.port.name", or a
	// "line N" position for a manifest file.
	Field string `json:"field,omitempty"`
	// Reason says what is wrong, in lowercase words.
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("%s: %s", p.Object, p.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", p.Object, p.Field, p.Reason)
}
