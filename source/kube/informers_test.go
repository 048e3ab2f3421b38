package kube

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

var managedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}

func TestTransform(t *testing.T) {
	secret := newSecret("a", "tls")
	secret.ManagedFields = managedFields
	secret.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"data":{"password":"..."}}`, "cert-manager.io/issuer-name": "ca"}
	secret.Labels = map[string]string{"app": "web"}
	secret.OwnerReferences = []metav1.OwnerReference{{Kind: "Certificate", Name: "web"}}
	secret.ResourceVersion = "5"
	secret.Data["ca.crt"] = []byte("ca")
	secret.Data["ca.crl"] = []byte("crl")
	secret.Data["password"] = []byte("hunter2")
	secret.StringData = map[string]string{"token": "secret"}

	token := &corev1.Secret{
		ObjectMeta: meta("a", "token"),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"token": []byte("secret")},
	}

	ing := newIngress("a", "web")
	ing.ManagedFields = managedFields
	ing.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}

	svc := newService("a", "web")
	svc.ManagedFields = managedFields
	svc.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}

	for _, obj := range []any{secret, token, ing, svc} {
		got, err := transform(obj)
		if err != nil || got != obj {
			t.Fatalf("got %p, %v, want the same object and no error", got, err)
		}
	}
	if _, err := transform(secret); err != nil {
		t.Fatalf("got error %v transforming twice, want none", err)
	}

	if got, want := slices.Sorted(maps.Keys(secret.Data)), []string{"ca.crl", "ca.crt", "tls.crt", "tls.key"}; !slices.Equal(got, want) {
		t.Errorf("got secret data keys %v, want %v", got, want)
	}
	if secret.StringData != nil {
		t.Errorf("got stringData %v, want none", secret.StringData)
	}
	wantMeta := metav1.ObjectMeta{Namespace: "a", Name: "tls", UID: "a-tls", ResourceVersion: "5"}
	if !reflect.DeepEqual(secret.ObjectMeta, wantMeta) {
		t.Errorf("got secret metadata %+v, want %+v", secret.ObjectMeta, wantMeta)
	}
	if secret.Type != corev1.SecretTypeTLS {
		t.Errorf("got secret type %q, want %q", secret.Type, corev1.SecretTypeTLS)
	}
	if token.Data != nil {
		t.Errorf("got data keys %v of a secret without kept keys, want none", slices.Sorted(maps.Keys(token.Data)))
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

// TestSecretsInCache checks that Secrets of every type are listed and
// enter the cache stripped, and that only those holding a kept key are
// delivered.
func TestSecretsInCache(t *testing.T) {
	tlsSecret := newSecret("a", "tls")
	tlsSecret.Data["password"] = []byte("hunter2")
	tlsSecret.ManagedFields = managedFields
	client := newFakeClient(
		tlsSecret,
		opaqueSecret("a", "ca", "ca.crt", "ca.crl", "extra"),
		opaqueSecret("a", "proxy", "ca.crt", "tls.crt", "tls.key"),
		opaqueSecret("a", "password", "password"),
		&corev1.Secret{
			ObjectMeta: meta("a", "sh.helm.release.v1.web.v1"),
			Type:       "helm.sh/release.v1",
			Data:       map[string][]byte{"release": []byte("H4sI...")},
		},
		&corev1.Secret{
			ObjectMeta: meta("a", "pull"),
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte("{}")},
		},
	)
	s := newSource(t, client, nil)
	u := run(t, s)

	snap := u.last()
	if got, want := names(snap.Secrets), []string{"a/ca", "a/proxy", "a/tls"}; !slices.Equal(got, want) {
		t.Fatalf("got secrets %v, want %v", got, want)
	}
	wantKeys := [][]string{{"ca.crl", "ca.crt"}, {"ca.crt", "tls.crt", "tls.key"}, {"tls.crt", "tls.key"}}
	for i, secret := range snap.Secrets {
		if got := slices.Sorted(maps.Keys(secret.Data)); !slices.Equal(got, wantKeys[i]) {
			t.Errorf("got data keys %v in secret %s, want %v", got, secret.Name, wantKeys[i])
		}
		if secret.ManagedFields != nil {
			t.Errorf("got managedFields %v in secret %s, want none", secret.ManagedFields, secret.Name)
		}
	}
	if got := snap.Secrets[0].Type; got != corev1.SecretTypeOpaque {
		t.Errorf("got type %q of secret a/ca, want %q", got, corev1.SecretTypeOpaque)
	}
	if got := len(s.inf.secrets[metav1.NamespaceAll].GetStore().List()); got != 6 {
		t.Errorf("got %d secrets in the cache, want 6", got)
	}

	var selectors []string
	for _, a := range client.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "secrets" {
			selectors = append(selectors, l.GetListRestrictions().Fields.String())
		}
	}
	if want := []string{""}; !slices.Equal(selectors, want) {
		t.Errorf("got secret lists with field selectors %q, want %q", selectors, want)
	}
}

// TestIgnoredSecretsDeliverNothing checks that creating, updating and
// deleting Secrets that hold none of the kept keys delivers no snapshot,
// and that a Secret gaining or losing such a key does.
func TestIgnoredSecretsDeliverNothing(t *testing.T) {
	client := newFakeClient(opaqueSecret("a", "old", "password"))
	s := newSource(t, client, nil)
	u := run(t, s)
	secrets := client.CoreV1().Secrets("a")
	store := s.inf.secrets[metav1.NamespaceAll].GetStore()

	if _, err := secrets.Create(t.Context(), opaqueSecret("a", "new", "token"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	updated := opaqueSecret("a", "new", "token", "namespace")
	updated.ResourceVersion = "2"
	if _, err := secrets.Update(t.Context(), updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Delete(t.Context(), "old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cache to see the changes", func() bool {
		_, oldThere, _ := store.GetByKey("a/old")
		obj, _, _ := store.GetByKey("a/new")
		newer, _ := obj.(*corev1.Secret)
		return !oldThere && newer != nil && newer.ResourceVersion == "2"
	})
	time.Sleep(2 * s.cfg.MaxDelay)
	if got := u.count(); got != 1 {
		t.Fatalf("got %d snapshots after changes of ignored secrets, want 1", got)
	}

	gained := opaqueSecret("a", "new", "token", "ca.crt")
	gained.ResourceVersion = "3"
	if _, err := secrets.Update(t.Context(), gained, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a snapshot with the secret", func() bool { return u.count() == 2 })
	if got, want := names(u.last().Secrets), []string{"a/new"}; !slices.Equal(got, want) {
		t.Errorf("got secrets %v, want %v", got, want)
	}

	lost := opaqueSecret("a", "new", "token")
	lost.ResourceVersion = "4"
	if _, err := secrets.Update(t.Context(), lost, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a snapshot without the secret", func() bool { return u.count() == 3 })
	if got := names(u.last().Secrets); len(got) != 0 {
		t.Errorf("got secrets %v, want none", got)
	}
}

func TestSecretHandler(t *testing.T) {
	s := newSource(t, newFakeClient(), nil)
	h := s.secretHandler()
	changed := func() bool {
		select {
		case <-s.dirty:
			return true
		default:
			return false
		}
	}

	versioned := func(secret *corev1.Secret, rv string) *corev1.Secret {
		secret.ResourceVersion = rv
		return secret
	}
	ignored, ignored2 := versioned(opaqueSecret("a", "s", "token"), "1"), versioned(opaqueSecret("a", "s", "token", "namespace"), "2")
	ca, ca2 := versioned(opaqueSecret("a", "s", "ca.crt"), "3"), versioned(opaqueSecret("a", "s", "ca.crt", "ca.crl"), "4")
	tests := []struct {
		name   string
		notify func()
		want   bool
	}{
		{"add ignored", func() { h.OnAdd(ignored, false) }, false},
		{"add with ca.crt", func() { h.OnAdd(ca, false) }, true},
		{"add tls", func() { h.OnAdd(newSecret("a", "tls"), false) }, true},
		{"update ignored", func() { h.OnUpdate(ignored, ignored2) }, false},
		{"update gaining ca.crt", func() { h.OnUpdate(ignored2, ca) }, true},
		{"update with ca.crt", func() { h.OnUpdate(ca, ca2) }, true},
		{"re-list with ca.crt", func() { h.OnUpdate(ca, ca.DeepCopy()) }, false},
		{"update losing ca.crt", func() { h.OnUpdate(ca2, ignored2) }, true},
		{"delete ignored", func() { h.OnDelete(ignored) }, false},
		{"delete with ca.crt", func() { h.OnDelete(ca) }, true},
		{"delete tombstone of ignored", func() {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "a/s", Obj: ignored})
		}, false},
		{"delete tombstone with ca.crt", func() {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "a/s", Obj: ca})
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

func TestObjectHandler(t *testing.T) {
	s := newSource(t, newFakeClient(), nil)
	h := s.objectHandler(resourceIngresses)
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
	s := newSource(t, newFakeClient(), func(c *Config) {
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
			client := newFakeClient(published, newService("caddy-ingress", "other"))
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
