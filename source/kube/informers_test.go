package kube

import (
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

var managedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}

func TestTransform(t *testing.T) {
	secret := newSecret("a", "tls")
	secret.ManagedFields = managedFields
	secret.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"data":{"password":"..."}}`, "keep": "me"}
	secret.Data["ca.crt"] = []byte("ca")
	secret.Data["password"] = []byte("hunter2")
	secret.StringData = map[string]string{"token": "secret"}

	ing := newIngress("a", "web")
	ing.ManagedFields = managedFields
	ing.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}

	svc := newService("a", "web")
	svc.ManagedFields = managedFields
	svc.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}

	for _, obj := range []any{secret, ing, svc} {
		got, err := transform(obj)
		if err != nil || got != obj {
			t.Fatalf("got %p, %v, want the same object and no error", got, err)
		}
	}
	if _, err := transform(secret); err != nil {
		t.Fatalf("got error %v transforming twice, want none", err)
	}

	if got, want := slices.Sorted(maps.Keys(secret.Data)), []string{"ca.crt", "tls.crt", "tls.key"}; !slices.Equal(got, want) {
		t.Errorf("got secret data keys %v, want %v", got, want)
	}
	if secret.StringData != nil {
		t.Errorf("got stringData %v, want none", secret.StringData)
	}
	if got, want := secret.Annotations, map[string]string{"keep": "me"}; !maps.Equal(got, want) {
		t.Errorf("got secret annotations %v, want %v", got, want)
	}
	if _, ok := svc.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		t.Error("got service last-applied-configuration, want it dropped")
	}
	if _, ok := ing.Annotations[corev1.LastAppliedConfigAnnotation]; !ok {
		t.Error("got ingress last-applied-configuration dropped, want it kept")
	}
	for _, m := range []metav1.Object{secret, ing, svc} {
		if m.GetManagedFields() != nil {
			t.Errorf("got managedFields on %s, want none", m.GetName())
		}
	}

	tombstone := cache.DeletedFinalStateUnknown{Key: "a/tls", Obj: newSecret("a", "tls")}
	if got, err := transform(tombstone); err != nil || got != any(tombstone) {
		t.Errorf("got %v, %v for a tombstone, want it unchanged", got, err)
	}
}

// TestSecretsInCache checks that Secrets are listed by type and enter the
// cache stripped.
func TestSecretsInCache(t *testing.T) {
	secret := newSecret("a", "tls")
	secret.Data["password"] = []byte("hunter2")
	secret.ManagedFields = managedFields
	client := fake.NewClientset(secret)
	s := newSource(t, client, nil)
	u := run(t, s)

	snap := u.last()
	if len(snap.Secrets) != 1 {
		t.Fatalf("got %d secrets, want 1", len(snap.Secrets))
	}
	if got, want := slices.Sorted(maps.Keys(snap.Secrets[0].Data)), []string{"tls.crt", "tls.key"}; !slices.Equal(got, want) {
		t.Errorf("got secret data keys %v, want %v", got, want)
	}
	if snap.Secrets[0].ManagedFields != nil {
		t.Errorf("got managedFields %v, want none", snap.Secrets[0].ManagedFields)
	}

	var selectors []string
	for _, a := range client.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "secrets" {
			selectors = append(selectors, l.GetListRestrictions().Fields.String())
		}
	}
	if want := []string{"type=kubernetes.io/tls"}; !slices.Equal(selectors, want) {
		t.Errorf("got secret lists with field selectors %q, want %q", selectors, want)
	}
}

func TestObjectHandler(t *testing.T) {
	s := newSource(t, fake.NewClientset(), nil)
	h := s.objectHandler()
	changed := func() bool {
		select {
		case <-s.dirty:
			return true
		default:
			return false
		}
	}

	versioned := newIngress("a", "web")
	versioned.ResourceVersion = "3"
	tests := []struct {
		name   string
		notify func()
		want   bool
	}{
		{"add", func() { h.OnAdd(newIngress("a", "web"), false) }, true},
		{"update", func() { h.OnUpdate(versioned, newIngress("a", "web")) }, true},
		{"re-list of the same version", func() { h.OnUpdate(versioned, versioned.DeepCopy()) }, false},
		{"delete", func() { h.OnDelete(newIngress("a", "web")) }, true},
		{"delete tombstone", func() {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "a/web", Obj: newIngress("a", "web")})
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.notify()
			if got := changed(); got != tt.want {
				t.Errorf("got changed %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPublishedHandler(t *testing.T) {
	s := newSource(t, fake.NewClientset(), func(c *Config) {
		c.PublishService = types.NamespacedName{Namespace: "caddy-ingress", Name: "caddy-ingress"}
	})
	h := s.publishedHandler()
	woken := func() bool {
		select {
		case <-s.reports.wake:
			return true
		default:
			return false
		}
	}

	tests := []struct {
		name   string
		notify func()
		want   bool
	}{
		{"add", func() { h.OnAdd(newService("caddy-ingress", "caddy-ingress"), false) }, true},
		{"update", func() {
			h.OnUpdate(newService("caddy-ingress", "caddy-ingress"), newService("caddy-ingress", "caddy-ingress"))
		}, true},
		{"other service", func() { h.OnAdd(newService("caddy-ingress", "other"), false) }, false},
		{"same name elsewhere", func() { h.OnAdd(newService("default", "caddy-ingress"), false) }, false},
		{"delete tombstone", func() {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "caddy-ingress/caddy-ingress", Obj: newService("caddy-ingress", "caddy-ingress")})
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.notify()
			if got := woken(); got != tt.want {
				t.Errorf("got woken %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPublishedServiceInformer checks which informer holds the published
// Service: the Services informer of a watched namespace, or one of its own.
func TestPublishedServiceInformer(t *testing.T) {
	tests := []struct {
		name       string
		namespaces []string
		own        bool
	}{
		{"all namespaces", nil, false},
		{"watched namespace", []string{"apps", "caddy-ingress"}, false},
		{"unwatched namespace", []string{"apps"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			published := newService("caddy-ingress", "caddy-ingress")
			client := fake.NewClientset(published, newService("caddy-ingress", "other"))
			s := newSource(t, client, func(c *Config) {
				c.Namespaces = tt.namespaces
				c.PublishService = types.NamespacedName{Namespace: "caddy-ingress", Name: "caddy-ingress"}
			})
			startInformers(t, s)
			own := !slices.Contains(slices.Collect(maps.Values(s.inf.services)), s.inf.published)
			if own != tt.own {
				t.Errorf("got an informer of its own %v, want %v", own, tt.own)
			}
			if got := s.inf.publishedService("caddy-ingress", "caddy-ingress"); got == nil || got.Name != "caddy-ingress" {
				t.Errorf("got published service %v, want caddy-ingress/caddy-ingress", got)
			}
		})
	}
}

// lbIP is a load-balancer status entry with an IP address.
func lbIP(ip string) networkingv1.IngressLoadBalancerIngress {
	return networkingv1.IngressLoadBalancerIngress{IP: ip}
}
