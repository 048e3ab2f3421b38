package kube

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/kubeclient/kubeclienttest"
)

// newSource returns a Source on client with short timings for tests;
// edit changes the configuration before New.
func newSource(t *testing.T, client *fake.Clientset, edit func(*Config)) *Source {
	t.Helper()
	cfg := Config{
		Client:   kubeclienttest.New(client),
		Logger:   zaptest.NewLogger(t),
		Debounce: 20 * time.Millisecond,
		MaxDelay: 200 * time.Millisecond,
		Lease: Lease{
			Namespace:     "caddy-ingress",
			Name:          "leader",
			Identity:      "test",
			Duration:      time.Second,
			RenewDeadline: 500 * time.Millisecond,
			RetryPeriod:   100 * time.Millisecond,
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	return s
}

// updates records the snapshots a Source delivers.
type updates struct {
	mu    sync.Mutex
	snaps []*ingress.Snapshot
	// calls counts the calls in flight, to catch overlapping calls.
	calls int
	t     *testing.T
}

func (u *updates) update(snap *ingress.Snapshot, problems []ingress.Problem) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls++
	if u.calls > 1 {
		u.t.Errorf("got overlapping calls of update")
	}
	if problems != nil {
		u.t.Errorf("got problems %v, want none", problems)
	}
	u.snaps = append(u.snaps, snap)
	u.calls--
}

func (u *updates) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.snaps)
}

func (u *updates) last() *ingress.Snapshot {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.snaps) == 0 {
		return nil
	}
	return u.snaps[len(u.snaps)-1]
}

// run starts s until the test ends, subscribes to it and returns its
// updates once the first one has been delivered.
func run(t *testing.T, s *Source) *updates {
	t.Helper()
	u := &updates{t: t}
	s.Start(testContext(t, s))
	s.Subscribe(u.update)
	eventually(t, "the first snapshot", func() bool { return u.count() >= 1 })
	if got := u.count(); got != 1 {
		t.Fatalf("got %d updates after the caches synced, want 1", got)
	}
	return u
}

// watchInBubble delivers a first snapshot of s, as sync does, then runs
// the worker of s until stop is called or the test ends, and returns the
// updates of a subscriber. stop returns once the worker has. Call it in a
// synctest bubble. No informer runs: tests change objects with addIngress.
func watchInBubble(t *testing.T, s *Source) (u *updates, stop func()) {
	t.Helper()
	u = &updates{t: t}
	s.Subscribe(u.update)
	ctx, cancel := context.WithCancel(context.Background())
	s.deliver(s.snapshot(ctx))
	done := make(chan struct{})
	go func() {
		s.watch(ctx)
		close(done)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return u, stop
}

// addIngress puts ing into the informer store of s and notes a change,
// as the event handler does.
func addIngress(t *testing.T, s *Source, ing *networkingv1.Ingress) {
	t.Helper()
	if err := s.inf.ingresses[metav1.NamespaceAll].GetStore().Add(ing); err != nil {
		t.Fatal(err)
	}
	s.pending.add(resourceIngresses, ing.Namespace+"/"+ing.Name)
	s.changed()
}

// testContext returns a context for running s that is done when the
// test ends; the goroutines of s are over before the test's cleanup
// functions registered earlier run.
func testContext(t *testing.T, s *Source) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		if !s.Wait(10 * time.Second) {
			t.Error("the source's goroutines did not end within 10s")
		}
	})
	return ctx
}

// startInformers runs the informers of s, without the rest of Run, until
// the test ends.
func startInformers(t *testing.T, s *Source) {
	t.Helper()
	ctx := testContext(t, s)
	s.inf.start(ctx)
	s.wg.Go(func() {
		<-ctx.Done()
		s.inf.shutdown()
	})
	if err := s.inf.waitForSync(ctx); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
}

// watched returns the running ConfigMap informers by namespace/name.
func (c *configMaps) watched() map[string]cache.SharedIndexInformer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]cache.SharedIndexInformer, len(c.running))
	for key, ci := range c.running {
		out[key] = ci.inf
	}
	return out
}

// eventually polls cond until it holds, or fails the test after 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID(namespace + "-" + name)}
}

func newIngress(namespace, name string, status ...networkingv1.IngressLoadBalancerIngress) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: meta(namespace, name),
		Spec:       networkingv1.IngressSpec{IngressClassName: new("caddy")},
		Status:     networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: status}},
	}
}

func newIngressClass(name string) *networkingv1.IngressClass {
	return &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.IngressClassSpec{Controller: "caddy-ingress.io/controller"},
	}
}

func newService(namespace, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: meta(namespace, name),
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

func newEndpointSlice(namespace, name string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  meta(namespace, name),
		AddressType: discoveryv1.AddressTypeIPv4,
	}
}

func newSecret(namespace, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: meta(namespace, name),
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key")},
	}
}

// opaqueSecret returns an Opaque Secret holding the given data keys.
func opaqueSecret(namespace, name string, keys ...string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: meta(namespace, name), Type: corev1.SecretTypeOpaque, Data: make(map[string][]byte)}
	for _, k := range keys {
		s.Data[k] = []byte(k)
	}
	return s
}

// ingressStatus reads the load-balancer status of an Ingress from client.
func ingressStatus(t *testing.T, client *fake.Clientset, namespace, name string) []networkingv1.IngressLoadBalancerIngress {
	t.Helper()
	ing, err := client.NetworkingV1().Ingresses(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	return ing.Status.LoadBalancer.Ingress
}

// names lists the namespace/name of objects.
func names[T metav1.Object](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetNamespace()+"/"+o.GetName())
	}
	return out
}
