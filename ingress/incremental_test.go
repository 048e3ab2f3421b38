package ingress_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// randomWorld makes random snapshots whose objects collide often: few
// hosts, names, Services and Secrets, wildcards, aliases, www peers,
// canaries, catch-alls, annotations that read Secrets and ConfigMaps.
type randomWorld struct {
	rnd     *rand.Rand
	certs   map[string]*corev1.Secret // pre-made TLS Secrets by name
	version int
}

var (
	randomHosts = []string{"a.example.com", "b.example.com", "www.a.example.com", "*.example.com", "x.other.org", "A.Example.com", ""}
	randomPaths = []string{"/", "/api", "/api/v1", "/x(.*)", "/healthz"}
	randomTypes = []networkingv1.PathType{networkingv1.PathTypePrefix, networkingv1.PathTypeExact, networkingv1.PathTypeImplementationSpecific}
	randomNS    = []string{"ns1", "ns2"}
)

func (w *randomWorld) pick(list []string) string { return list[w.rnd.IntN(len(list))] }

func (w *randomWorld) annotations() map[string]string {
	pool := [][]string{
		{"server-alias", "alias.example.com, b.example.com"},
		{"from-to-www-redirect", "true"},
		{"from-to-www-redirect", "true"},
		{"from-to-www-redirect", "true"},
		{"use-regex", "true"},
		{"rewrite-target", "/$1"},
		{"canary", "true", "canary-weight", "30"},
		{"auth-type", "basic", "auth-secret", "users", "auth-realm", "r"},
		{"custom-headers", "hdrs"},
		{"ssl-redirect", "false"},
		{"server-snippet", `more_set_headers "X-S: 1";`},
		{"whitelist-source-range", "10.0.0.0/8"},
		{"app-root", "/app"},
		{"default-backend", "svc1"},
		{"auth-url", "http://auth.example.com/check"},
		{"proxy-ssl-secret", "tls0", "backend-protocol", "HTTPS"},
		{"upstream-vhost", "bad value $host"},
	}
	a := map[string]string{}
	for n := w.rnd.IntN(3); n > 0; n-- {
		kv := pool[w.rnd.IntN(len(pool))]
		for i := 0; i < len(kv); i += 2 {
			a["nginx.ingress.kubernetes.io/"+kv[i]] = kv[i+1]
		}
	}
	return a
}

func (w *randomWorld) ingress(ns, name string) *networkingv1.Ingress {
	w.version++
	class := "caddy"
	if w.rnd.IntN(8) == 0 {
		class = "other"
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: fmt.Sprint(w.version), Annotations: w.annotations(),
			CreationTimestamp: metav1.NewTime(testNow.Add(-time.Duration(w.rnd.IntN(3)) * time.Hour))},
		Spec: networkingv1.IngressSpec{IngressClassName: &class},
	}
	backend := func() networkingv1.IngressBackend {
		port := networkingv1.ServiceBackendPort{Number: 80}
		if w.rnd.IntN(3) == 0 {
			port = networkingv1.ServiceBackendPort{Name: "http"}
		}
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: w.pick([]string{"svc0", "svc1", "svc2"}), Port: port}}
	}
	for n := w.rnd.IntN(3); n > 0; n-- {
		rule := networkingv1.IngressRule{Host: w.pick(randomHosts), IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		for m := 1 + w.rnd.IntN(2); m > 0; m-- {
			typ := randomTypes[w.rnd.IntN(len(randomTypes))]
			rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: w.pick(randomPaths), PathType: &typ, Backend: backend()})
		}
		ing.Spec.Rules = append(ing.Spec.Rules, rule)
	}
	if w.rnd.IntN(3) == 0 || len(ing.Spec.Rules) == 0 {
		b := backend()
		ing.Spec.DefaultBackend = &b
	}
	if w.rnd.IntN(2) == 0 {
		entry := networkingv1.IngressTLS{SecretName: w.pick([]string{"tls0", "tls1", "missing", ""})}
		for n := w.rnd.IntN(3); n > 0; n-- {
			if h := w.pick(randomHosts); h != "" {
				entry.Hosts = append(entry.Hosts, h)
			}
		}
		ing.Spec.TLS = append(ing.Spec.TLS, entry)
	}
	return ing
}

func (w *randomWorld) service(ns, name string) *corev1.Service {
	w.version++
	port := corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}
	if w.rnd.IntN(3) == 0 {
		port.Port = 81
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: fmt.Sprint(w.version)},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{port}, ClusterIP: "10.0.0.1"}}
}

func (w *randomWorld) secret(ns, name string) *corev1.Secret {
	w.version++
	switch name {
	case "users":
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: fmt.Sprint(w.version)},
			Data: map[string][]byte{"auth": []byte(w.pick([]string{"alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", "bob:plain\n"}))}}
	}
	s := w.certs[name].DeepCopy()
	s.Namespace, s.ResourceVersion = ns, fmt.Sprint(w.version)
	return s
}

func (w *randomWorld) configMap(ns string) *corev1.ConfigMap {
	w.version++
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hdrs", ResourceVersion: fmt.Sprint(w.version)},
		Data: map[string]string{w.pick([]string{"X-Frame-Options", "Set-Cookie"}): w.pick([]string{"DENY", "SAMEORIGIN", "$x"})}}
}

// mutate changes one random object of snap (a copy), or adds or removes
// one, and sometimes shuffles a list.
func (w *randomWorld) mutate(snap *ingress.Snapshot) *ingress.Snapshot {
	next := &ingress.Snapshot{
		Ingresses: slices.Clone(snap.Ingresses), Services: slices.Clone(snap.Services),
		Secrets: slices.Clone(snap.Secrets), ConfigMaps: slices.Clone(snap.ConfigMaps), IngressClasses: snap.IngressClasses,
	}
	for n := 1 + w.rnd.IntN(2); n > 0; n-- {
		ns := w.pick(randomNS)
		switch w.rnd.IntN(10) {
		case 0, 1, 2, 3:
			name := fmt.Sprintf("ing%d", w.rnd.IntN(8))
			next.Ingresses = replace(next.Ingresses, ns, name, w.ingress(ns, name), w.rnd.IntN(5) == 0)
		case 4, 5:
			name := w.pick([]string{"svc0", "svc1", "svc2"})
			next.Services = replace(next.Services, ns, name, w.service(ns, name), w.rnd.IntN(4) == 0)
		case 6, 7:
			name := w.pick([]string{"tls0", "tls1", "users"})
			next.Secrets = replace(next.Secrets, ns, name, w.secret(ns, name), w.rnd.IntN(3) == 0)
		case 8:
			next.ConfigMaps = replace(next.ConfigMaps, ns, "hdrs", w.configMap(ns), w.rnd.IntN(3) == 0)
		case 9:
			w.rnd.Shuffle(len(next.Ingresses), func(i, j int) { next.Ingresses[i], next.Ingresses[j] = next.Ingresses[j], next.Ingresses[i] })
		}
	}
	return next
}

// replace puts obj in place of the object ns/name of list (appending it if
// there is none), or removes that object.
func replace[T interface {
	GetNamespace() string
	GetName() string
}](list []T, ns, name string, obj T, remove bool) []T {
	i := slices.IndexFunc(list, func(o T) bool { return o.GetNamespace() == ns && o.GetName() == name })
	switch {
	case remove && i >= 0:
		return slices.Delete(list, i, i+1)
	case remove:
		return list
	case i >= 0:
		list[i] = obj
		return list
	}
	return append(list, obj)
}

// TestIncrementalEqualsFull: after every step of random change
// sequences, the incremental translation equals a fresh full one, byte
// for byte, problems and owned Ingresses included.
func TestIncrementalEqualsFull(t *testing.T) {
	certs := map[string]*corev1.Secret{
		"tls0": selfSignedSecret(t, "ns1", "tls0", "*.example.com", testNow.Add(-time.Hour), testNow.Add(30*time.Minute)),
		"tls1": selfSignedSecret(t, "ns1", "tls1", "x.other.org", testNow.Add(time.Hour), testNow.Add(48*time.Hour)),
	}
	steps := 300
	if testing.Short() {
		steps = 60
	}
	for seed := uint64(1); seed <= 12; seed++ {
		w := &randomWorld{rnd: rand.New(rand.NewPCG(seed, 7)), certs: certs}
		opts := ingress.Options{IngressClass: "caddy", Controller: "caddy-ingress.io/controller", HTTPSPort: 443, Now: testNow,
			AutomaticCertificates: seed%2 == 0, Headers: ingress.Headers{AllowedResponse: []string{"X-Frame-Options"}}}
		if seed%3 == 0 {
			opts.DefaultBackend = &ingress.ServiceRef{Namespace: "ns1", Name: "svc0", Port: networkingv1.ServiceBackendPort{Number: 80}}
		}
		snap := &ingress.Snapshot{}
		var in ingress.Incremental
		for step := 0; step < steps; step++ {
			snap = w.mutate(snap)
			if step%50 == 49 {
				opts.Now = opts.Now.Add(20 * time.Minute) // certificates change validity
			}
			got := in.Translate(snap, opts)
			want := ingress.Translate(snap, opts)
			if g, wt := describe(t, got), describe(t, want); g != wt {
				t.Fatalf("seed %d, step %d: incremental and full translations differ:\n%s", seed, step, firstDifference(g, wt))
			}
		}
		if fulls, _ := in.Counts(); fulls > steps/10 {
			t.Errorf("seed %d: %d of %d translations were whole, want the others incremental", seed, fulls, steps)
		}
	}
}

// describe renders everything a result holds.
func describe(t *testing.T, res *ingress.Result) string {
	return render(t, res) + fmt.Sprint(res.Ingresses, res.NextChange)
}

func firstDifference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	start := max(0, i-300)
	return fmt.Sprintf("incremental: …%s…\nfull:        …%s…", got[start:min(len(got), i+300)], want[start:min(len(want), i+300)])
}
