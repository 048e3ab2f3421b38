package caddyingress

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// reportingSource is a handSource that keeps the reports it gets.
type reportingSource struct {
	handSource
	reports []Report
}

func (s *reportingSource) Report(r Report) { s.reports = append(s.reports, r) }

// TestEndpointChangesReportNothingAgain: a change of endpoints alone
// reports nothing to the source again, nor counts the problems again;
// a translation or a change of the source's problems does.
func TestEndpointChangesReportNothingAgain(t *testing.T) {
	app := runApp(t)
	src := &reportingSource{}
	app.mu.Lock()
	app.source = src
	app.mu.Unlock()
	snap := &ingress.Snapshot{
		Ingresses: []*networkingv1.Ingress{
			testIngress("web", "web.example.com", testPath{"/", "Prefix", "web"}),
			testIngress("broken", "broken.example.com", testPath{"/", "Prefix", "missing"}),
		},
		Services:       []*corev1.Service{testService("web")},
		EndpointSlices: []*discoveryv1.EndpointSlice{loopbackSlice("web", 8080)},
	}
	app.update(snap, nil)
	if len(src.reports) != 1 || len(src.reports[0].Problems) == 0 {
		t.Fatalf("got %d reports (%v), want 1 with the missing Service's problem", len(src.reports), src.reports)
	}
	problems := src.reports[0].Problems

	endpoints := *snap
	endpoints.EndpointSlices = []*discoveryv1.EndpointSlice{loopbackSlice("web", 8081)}
	app.update(&endpoints, nil)
	if len(src.reports) != 1 {
		t.Errorf("after an endpoint change: %d reports in all, want still 1", len(src.reports))
	}
	if got := app.status.Load().problems; len(got) != len(problems) {
		t.Errorf("admin status after an endpoint change: %d problems, want the %d still current", len(got), len(problems))
	}

	sourceProblem := ingress.Problem{Object: ingress.ObjectRef{Kind: "File", Name: "bad.yaml"}, Field: "line 3", Reason: "does not parse"}
	app.update(&endpoints, []ingress.Problem{sourceProblem})
	if len(src.reports) != 2 {
		t.Fatalf("after a new source problem: %d reports in all, want 2", len(src.reports))
	}
	if got := src.reports[1].Problems; len(got) != len(problems)+1 || got[len(got)-1] != sourceProblem {
		t.Errorf("reported %v, want the translation's problems and the source's", got)
	}

	changed := endpoints
	changed.Ingresses = changed.Ingresses[:1]
	app.update(&changed, []ingress.Problem{sourceProblem})
	if len(src.reports) != 3 {
		t.Fatalf("after an Ingress change: %d reports in all, want 3", len(src.reports))
	}
	if got := src.reports[2]; len(got.Ingresses) != 1 || len(got.Problems) != 1 {
		t.Errorf("reported %d Ingresses and problems %v, want 1 and the source's alone", len(got.Ingresses), got.Problems)
	}
}
