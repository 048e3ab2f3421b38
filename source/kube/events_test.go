package kube

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/record"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func TestRecordEvents(t *testing.T) {
	client := newFakeClient(newIngress("a", "x"), newIngress("a", "y"))
	s := newSource(t, client, nil)
	startInformers(t, s)
	recorder := record.NewFakeRecorder(100)
	s.recorder = recorder

	problem := func(kind, name, field, reason string) ingress.Problem {
		return ingress.Problem{Object: ingress.ObjectRef{Kind: kind, Namespace: "a", Name: name}, Field: field, Reason: reason}
	}
	p1 := problem("Ingress", "x", "spec.rules[0].host", "bad host")
	p2 := problem("Ingress", "y", "", "has neither rules nor a defaultBackend")
	p3 := problem("Ingress", "x", "spec.tls[0].secretName", "secret a/tls not found")
	secret := problem("Secret", "tls", "", "bad")
	missing := problem("Ingress", "gone", "", "bad")

	recorded := make(map[ingress.Problem]struct{})
	steps := []struct {
		name     string
		problems []ingress.Problem
		want     []string
	}{
		{"new problems", []ingress.Problem{p1, p2, secret, missing}, []string{
			"Warning Problem spec.rules[0].host: bad host",
			"Warning Problem has neither rules nor a defaultBackend",
		}},
		{"same problems", []ingress.Problem{p1, p2, secret, missing}, nil},
		{"one more", []ingress.Problem{p1, p2, p3}, []string{"Warning Problem spec.tls[0].secretName: secret a/tls not found"}},
		{"one fixed", []ingress.Problem{p1, p3}, nil},
		{"back again", []ingress.Problem{p1, p2, p3}, []string{"Warning Problem has neither rules nor a defaultBackend"}},
		{"all fixed", nil, nil},
		{"reported after a fix", []ingress.Problem{p1}, []string{"Warning Problem spec.rules[0].host: bad host"}},
	}
	for _, step := range steps {
		recorded = s.recordEvents(step.problems, recorded)
		var got []string
		for len(recorder.Events) > 0 {
			got = append(got, <-recorder.Events)
		}
		if !slices.Equal(got, step.want) {
			t.Errorf("%s: got events %q, want %q", step.name, got, step.want)
		}
	}
}

func TestEventNote(t *testing.T) {
	long := strings.Repeat("é", 600)
	tests := []struct {
		name    string
		problem ingress.Problem
		want    string
	}{
		{"field and reason", ingress.Problem{Field: "spec.rules[0].host", Reason: "bad host"}, "spec.rules[0].host: bad host"},
		{"reason only", ingress.Problem{Reason: "bad"}, "bad"},
		{"percent signs", ingress.Problem{Field: "metadata.annotations[a]", Reason: `invalid value "100%s"`}, `metadata.annotations[a]: invalid value "100%s"`},
		{"too long", ingress.Problem{Reason: long}, strings.Repeat("é", 510) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eventNote(tt.problem)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(got) > maxNoteBytes {
				t.Errorf("got %d bytes, want at most %d", len(got), maxNoteBytes)
			}
		})
	}
}
