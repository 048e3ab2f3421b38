package kube

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func TestStatusFromAddresses(t *testing.T) {
	got := StatusFromAddresses([]string{"192.0.2.1", "2001:DB8::1", "lb.example.com"})
	want := []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}, {IP: "2001:db8::1"}, {Hostname: "lb.example.com"}}
	if !sameStatus(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestStatusFromService(t *testing.T) {
	tests := []struct {
		name string
		svc  corev1.Service
		want []networkingv1.IngressLoadBalancerIngress
	}{
		{
			name: "load balancer",
			svc: corev1.Service{
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalIPs: []string{"192.0.2.1", "192.0.2.9"}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
					{IP: "192.0.2.1", Ports: []corev1.PortStatus{{Port: 443, Protocol: corev1.ProtocolTCP, Error: new("pending")}}},
					{Hostname: "lb.example.com"},
				}}},
			},
			want: []networkingv1.IngressLoadBalancerIngress{
				{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP, Error: new("pending")}}},
				{Hostname: "lb.example.com"},
				{IP: "192.0.2.9"},
			},
		},
		{
			name: "pending load balancer",
			svc:  corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
			want: nil,
		},
		{
			name: "external name",
			svc:  corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "edge.example.com"}},
			want: []networkingv1.IngressLoadBalancerIngress{{Hostname: "edge.example.com"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusFromService(&tt.svc); !sameStatus(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// statusUpdates lists the namespace/name of the Ingresses whose status
// client was asked to update.
func statusUpdates(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		if u, ok := a.(k8stesting.UpdateAction); ok && a.GetResource().Resource == "ingresses" && a.GetSubresource() == "status" {
			m := u.GetObject().(metav1.Object)
			out = append(out, m.GetNamespace()+"/"+m.GetName())
		}
	}
	return out
}

func refs(keys ...string) []ingress.ObjectRef {
	var out []ingress.ObjectRef
	for _, k := range keys {
		ns, name, _ := strings.Cut(k, "/")
		out = append(out, ingress.ObjectRef{Kind: "Ingress", Namespace: ns, Name: name})
	}
	return out
}

func TestWriteStatus(t *testing.T) {
	ours := lbIP("192.0.2.1")
	client := newFakeClient(
		newIngress("a", "own"),
		newIngress("a", "own-already", ours),
		newIngress("a", "disowned", ours),
		newIngress("a", "foreign", lbIP("198.51.100.7")),
		newIngress("a", "empty"),
	)
	s := newSource(t, client, func(c *Config) { c.StatusAddresses = []string{"192.0.2.1"} })
	startInformers(t, s)

	if err := s.writeStatus(t.Context(), refs("a/own", "a/own-already", "a/deleted")); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got, want := statusUpdates(client), []string{"a/own", "a/disowned"}; !slices.Equal(got, want) {
		t.Errorf("got status updates of %v, want %v", got, want)
	}
	tests := []struct {
		name string
		want []networkingv1.IngressLoadBalancerIngress
	}{
		{"own", []networkingv1.IngressLoadBalancerIngress{ours}},
		{"own-already", []networkingv1.IngressLoadBalancerIngress{ours}},
		{"disowned", nil},
		{"foreign", []networkingv1.IngressLoadBalancerIngress{lbIP("198.51.100.7")}},
		{"empty", nil},
	}
	for _, tt := range tests {
		if got := ingressStatus(t, client, "a", tt.name); !sameStatus(got, tt.want) {
			t.Errorf("%s: got status %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestWriteStatusFollowsPublishedService checks that owned Ingresses get
// the addresses of the published Service, and that an Ingress that is
// disowned while those change loses the addresses it was given.
func TestWriteStatusFollowsPublishedService(t *testing.T) {
	svc := newService("caddy-ingress", "caddy-ingress")
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	client := newFakeClient(svc, newIngress("apps", "web"), newIngress("apps", "other"))
	s := newSource(t, client, func(c *Config) {
		c.Namespaces = []string{"apps"}
		c.PublishService = types.NamespacedName{Namespace: "caddy-ingress", Name: "caddy-ingress"}
	})
	startInformers(t, s)

	if err := s.writeStatus(t.Context(), refs("apps/web", "apps/other")); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	for _, name := range []string{"web", "other"} {
		if got, want := ingressStatus(t, client, "apps", name), []networkingv1.IngressLoadBalancerIngress{lbIP("192.0.2.1")}; !sameStatus(got, want) {
			t.Errorf("%s: got status %v, want %v", name, got, want)
		}
	}

	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}}
	if _, err := client.CoreV1().Services("caddy-ingress").UpdateStatus(t.Context(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the informers to see the changes", func() bool {
		got := s.inf.publishedService("caddy-ingress", "caddy-ingress")
		other := s.inf.ingress("apps", "other")
		return len(got.Status.LoadBalancer.Ingress) == 1 && got.Status.LoadBalancer.Ingress[0].Hostname != "" &&
			len(other.Status.LoadBalancer.Ingress) == 1
	})
	if err := s.writeStatus(t.Context(), refs("apps/web")); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got, want := ingressStatus(t, client, "apps", "web"), []networkingv1.IngressLoadBalancerIngress{{Hostname: "lb.example.com"}}; !sameStatus(got, want) {
		t.Errorf("web: got status %v, want %v", got, want)
	}
	if got := ingressStatus(t, client, "apps", "other"); len(got) != 0 {
		t.Errorf("other: got status %v, want none", got)
	}
}

// TestWriteStatusLeftAlone checks that without status settings, or while
// the published Service is missing, no status is written or cleared.
func TestWriteStatusLeftAlone(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no status settings", nil},
		{"published service missing", func(c *Config) {
			c.PublishService = types.NamespacedName{Namespace: "caddy-ingress", Name: "caddy-ingress"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newFakeClient(newIngress("a", "own"), newIngress("a", "disowned", lbIP("192.0.2.1")))
			s := newSource(t, client, tt.edit)
			startInformers(t, s)
			if err := s.writeStatus(t.Context(), refs("a/own")); err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := statusUpdates(client); len(got) != 0 {
				t.Errorf("got status updates of %v, want none", got)
			}
		})
	}
}

func TestWriteStatusRetriesOnConflict(t *testing.T) {
	client := newFakeClient(newIngress("a", "own"))
	conflicts := 1
	client.PrependReactor("update", "ingresses", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" && conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "own", errors.New("modified"))
		}
		return false, nil, nil
	})
	s := newSource(t, client, func(c *Config) { c.StatusAddresses = []string{"192.0.2.1"} })
	startInformers(t, s)

	if err := s.writeStatus(t.Context(), refs("a/own")); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got, want := ingressStatus(t, client, "a", "own"), []networkingv1.IngressLoadBalancerIngress{lbIP("192.0.2.1")}; !sameStatus(got, want) {
		t.Errorf("got status %v, want %v", got, want)
	}
	if got, want := statusUpdates(client), []string{"a/own", "a/own"}; !slices.Equal(got, want) {
		t.Errorf("got status updates of %v, want %v", got, want)
	}
}

func TestWriteStatusError(t *testing.T) {
	client := newFakeClient(newIngress("a", "own"), newIngress("a", "second"))
	client.PrependReactor("update", "ingresses", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "own", errors.New("no RBAC"))
		}
		return false, nil, nil
	})
	s := newSource(t, client, func(c *Config) { c.StatusAddresses = []string{"192.0.2.1"} })
	startInformers(t, s)

	err := s.writeStatus(t.Context(), refs("a/own", "a/second"))
	if err == nil || !strings.Contains(err.Error(), "ingress a/own:") || !strings.Contains(err.Error(), "ingress a/second:") {
		t.Errorf("got error %v, want one naming a/own and a/second", err)
	}
}

// TestLeaderReports checks the whole way from Report to the API server:
// the leader writes status and records Events.
func TestLeaderReports(t *testing.T) {
	client := newFakeClient(newIngress("a", "web"))
	s := newSource(t, client, func(c *Config) { c.StatusAddresses = []string{"lb.example.com"} })
	run(t, s)

	s.Report(refs("a/web"), []ingress.Problem{{
		Object: ingress.ObjectRef{Kind: "Ingress", Namespace: "a", Name: "web"},
		Field:  "spec.rules[0].host",
		Reason: `host "10.0.0.1": must be a DNS name, not an IP address`,
	}})
	eventually(t, "the status", func() bool {
		return len(ingressStatus(t, client, "a", "web")) == 1
	})
	var events []string
	eventually(t, "an event", func() bool {
		list, err := client.CoreV1().Events("a").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		events = nil
		for _, e := range list.Items {
			events = append(events, strings.Join([]string{e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, string(e.InvolvedObject.UID), e.Message}, " "))
		}
		return len(events) > 0
	})
	want := []string{`Warning Problem Ingress web a-web spec.rules[0].host: host "10.0.0.1": must be a DNS name, not an IP address`}
	if !slices.Equal(events, want) {
		t.Errorf("got events %q, want %q", events, want)
	}
	lease, err := client.CoordinationV1().Leases("caddy-ingress").Get(t.Context(), "leader", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got := *lease.Spec.HolderIdentity; got != "test" {
		t.Errorf("got lease holder %q, want test", got)
	}
}

// TestOnlyLeaderReports checks that nothing is written while another
// replica holds the lease, and that this one takes over when the lease
// expires.
func TestOnlyLeaderReports(t *testing.T) {
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "caddy-ingress", Name: "leader"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       new("other"),
			LeaseDurationSeconds: new(int32(2)),
			AcquireTime:          &metav1.MicroTime{Time: time.Now()},
			RenewTime:            &metav1.MicroTime{Time: time.Now()},
		},
	}
	client := newFakeClient(lease, newIngress("a", "web"))
	s := newSource(t, client, func(c *Config) { c.StatusAddresses = []string{"192.0.2.1"} })
	run(t, s)
	s.Report(refs("a/web"), nil)

	time.Sleep(300 * time.Millisecond)
	if got := statusUpdates(client); len(got) != 0 {
		t.Errorf("got status updates of %v while another replica leads, want none", got)
	}
	eventually(t, "the status after taking over", func() bool {
		return len(ingressStatus(t, client, "a", "web")) == 1
	})
}

// TestReportDoesNotBlock checks that reports pile up without anyone
// reading them, the latest one winning.
func TestReportDoesNotBlock(t *testing.T) {
	s := newSource(t, newFakeClient(), nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			s.Report(refs("a/web-"+string(rune('a'+i%26))), nil)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out: Report blocks")
	}
	if got, want := s.reports.get().owned, refs("a/web-v"); !slices.Equal(got, want) {
		t.Errorf("got latest report of %v, want %v", got, want)
	}
}

// TestEnsureStatusCacheLag checks that a status just written is not
// written again while the cache still holds the version it was written
// over, and is written again once a newer version lacks it.
func TestEnsureStatusCacheLag(t *testing.T) {
	client := newFakeClient(newIngress("a", "web"))
	s := newSource(t, client, nil)
	want := []networkingv1.IngressLoadBalancerIngress{lbIP("192.0.2.1")}

	stale := newIngress("a", "web")
	stale.ResourceVersion = "5"
	for range 2 {
		if err := s.ensureStatus(t.Context(), stale, want); err != nil {
			t.Fatalf("got error %v, want none", err)
		}
	}
	if got, want := statusUpdates(client), []string{"a/web"}; !slices.Equal(got, want) {
		t.Errorf("got status updates of %v, want %v", got, want)
	}

	reset := newIngress("a", "web")
	reset.ResourceVersion = "7"
	if err := s.ensureStatus(t.Context(), reset, want); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got, want := statusUpdates(client), []string{"a/web", "a/web"}; !slices.Equal(got, want) {
		t.Errorf("got status updates of %v, want %v", got, want)
	}
}
