package ingress

import (
	networkingv1 "k8s.io/api/networking/v1"
)

const (
	// legacyClassAnnotation selects a class on Ingresses written before
	// spec.ingressClassName existed.
	legacyClassAnnotation = "kubernetes.io/ingress.class"
	// defaultClassAnnotation marks the IngressClass that claims Ingresses
	// naming no class.
	defaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
)

// classes decides which Ingresses belong to this controller.
type classes struct {
	byName      map[string]*networkingv1.IngressClass
	controller  string
	className   string
	ownsDefault bool
}

func newClasses(list []*networkingv1.IngressClass, opts Options) *classes {
	c := &classes{
		byName:     make(map[string]*networkingv1.IngressClass, len(list)),
		controller: opts.Controller,
		className:  opts.IngressClass,
	}
	for _, ic := range list {
		c.byName[ic.Name] = ic
		if ic.Annotations[defaultClassAnnotation] == "true" && ic.Spec.Controller == opts.Controller {
			c.ownsDefault = true
		}
	}
	return c
}

// owns reports whether ing is ours: its class (spec.ingressClassName, else
// the legacy annotation) names an IngressClass whose controller is ours, or
// names our configured class when no IngressClass of that name exists; an
// Ingress naming no class is ours when one of our IngressClasses is marked
// as the default class.
func (c *classes) owns(ing *networkingv1.Ingress) bool {
	var name string
	switch {
	case ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName != "":
		name = *ing.Spec.IngressClassName
	case ing.Annotations[legacyClassAnnotation] != "":
		name = ing.Annotations[legacyClassAnnotation]
	default:
		return c.ownsDefault
	}
	if ic, ok := c.byName[name]; ok {
		return ic.Spec.Controller == c.controller
	}
	return name == c.className
}
