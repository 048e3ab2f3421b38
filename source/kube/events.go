package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// The Events recorded for problems.
const (
	EventReason = "Problem"
	// maxNoteBytes is the longest note the API server accepts.
	maxNoteBytes = 1024
)

// recordEvents records a Warning Event on the Ingress of each problem
// that is not in recorded, and returns the problems that now count as
// recorded. A problem that persists is thus recorded once; one that goes
// away and comes back is recorded again. Problems of other kinds are for
// the log only.
func (s *Source) recordEvents(problems []ingress.Problem, recorded map[ingress.Problem]struct{}) map[ingress.Problem]struct{} {
	now := make(map[ingress.Problem]struct{}, len(problems))
	for _, p := range problems {
		if p.Object.Kind != "Ingress" {
			continue
		}
		if _, ok := recorded[p]; ok {
			now[p] = struct{}{}
			continue
		}
		ing := s.inf.ingress(p.Object.Namespace, p.Object.Name)
		if ing == nil {
			continue
		}
		s.recorder.Event(ingressReference(ing), corev1.EventTypeWarning, EventReason, eventNote(p))
		now[p] = struct{}{}
	}
	return now
}

// ingressReference refers to ing, without its resourceVersion, so that
// repeats of an Event on later versions form one series.
func ingressReference(ing *networkingv1.Ingress) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind:       "Ingress",
		APIVersion: networkingv1.SchemeGroupVersion.String(),
		Namespace:  ing.Namespace,
		Name:       ing.Name,
		UID:        ing.UID,
	}
}

// eventNote is the note of the Event for p: its field and reason.
func eventNote(p ingress.Problem) string {
	note := p.Reason
	if p.Field != "" {
		note = p.Field + ": " + p.Reason
	}
	if len(note) > maxNoteBytes {
		note = strings.ToValidUTF8(note[:maxNoteBytes-3], "") + "..."
	}
	return note
}
