package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/caddy-ingress/caddy-ingress/kubeclient/kubeclienttest"
)

func TestRunDeliversSyncedSnapshot(t *testing.T) {
	client := newFakeClient(
		newIngress("b", "web"), newIngress("a", "web"), newIngress("a", "api"),
		newIngressClass("caddy"),
		newService("a", "web"),
		newEndpointSlice("a", "web-1"),
		newSecret("a", "tls"),
	)
	s := newSource(t, client, nil)
	u := run(t, s)

	snap := u.last()
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"ingresses", names(snap.Ingresses), []string{"a/api", "a/web", "b/web"}},
		{"ingress classes", names(snap.IngressClasses), []string{"/caddy"}},
		{"services", names(snap.Services), []string{"a/web"}},
		{"endpoint slices", names(snap.EndpointSlices), []string{"a/web-1"}},
		{"secrets", names(snap.Secrets), []string{"a/tls"}},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestRunWatchesNamespaces(t *testing.T) {
	client := newFakeClient(
		newIngress("a", "web"), newIngress("b", "web"), newIngress("c", "web"),
		newService("a", "web"), newService("c", "web"),
		newSecret("b", "tls"), newSecret("c", "tls"),
		newIngressClass("caddy"),
	)
	s := newSource(t, client, func(c *Config) { c.Namespaces = []string{"b", "a", "b"} })
	u := run(t, s)

	snap := u.last()
	if got, want := names(snap.Ingresses), []string{"a/web", "b/web"}; !slices.Equal(got, want) {
		t.Errorf("got ingresses %v, want %v", got, want)
	}
	if got, want := names(snap.Services), []string{"a/web"}; !slices.Equal(got, want) {
		t.Errorf("got services %v, want %v", got, want)
	}
	if got, want := names(snap.Secrets), []string{"b/tls"}; !slices.Equal(got, want) {
		t.Errorf("got secrets %v, want %v", got, want)
	}
	if got, want := names(snap.IngressClasses), []string{"/caddy"}; !slices.Equal(got, want) {
		t.Errorf("got ingress classes %v, want %v", got, want)
	}
}

// TestStartDoesNotWaitForSync checks that Start returns while a list
// fails, that the failure is logged at error level naming the resource and
// the API server, that nothing is delivered meanwhile, and that the source
// stops when its context is done.
func TestStartDoesNotWaitForSync(t *testing.T) {
	client := newFakeClient(newIngress("a", "web"))
	client.PrependReactor("list", "ingresses", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	core, logs := observer.New(zap.ErrorLevel)
	s := newSource(t, client, func(c *Config) { c.Health = NewHealth(zap.New(core), "https://api.test:6443") })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.Start(ctx)
	u := &updates{t: t}
	s.Subscribe(u.update)

	want := "cannot list ingresses.networking.k8s.io at https://api.test:6443: connection refused"
	eventually(t, "the error logged", func() bool { return logs.FilterMessage(want).Len() > 0 })
	// The list keeps failing, so the caches cannot have synced.
	if s.Synced() {
		t.Error("got synced while the list fails, want not synced")
	}
	if got := u.count(); got != 0 {
		t.Errorf("got %d updates, want 0", got)
	}
	cancel()
	if !s.Wait(10 * time.Second) {
		t.Error("the source did not stop within 10s of its context's end")
	}
}

// TestSubscribeAfterSync checks that a subscriber that comes after the
// caches synced, as the new config of a reload, gets the latest snapshot
// before Subscribe returns, and that an ended subscription gets nothing.
func TestSubscribeAfterSync(t *testing.T) {
	client := newFakeClient(newIngress("a", "web"))
	s := newSource(t, client, nil)
	first := run(t, s)
	late := &updates{t: t}
	unsubscribe := s.Subscribe(late.update)
	if got := late.count(); got != 1 {
		t.Fatalf("got %d updates when Subscribe returned, want 1", got)
	}
	if late.last() != first.last() {
		t.Error("got another snapshot than the first subscriber's, want the same")
	}
	unsubscribe()
	if _, err := client.NetworkingV1().Ingresses("a").Create(t.Context(), newIngress("a", "api"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first subscriber's second snapshot", func() bool { return first.count() >= 2 })
	if got := late.count(); got != 1 {
		t.Errorf("got %d updates after unsubscribing, want still 1", got)
	}
}

func TestChangesAreDelivered(t *testing.T) {
	client := newFakeClient()
	s := newSource(t, client, func(c *Config) {
		c.Debounce = 100 * time.Millisecond
		c.MaxDelay = 2 * time.Second
	})
	u := run(t, s)

	names := []string{"a", "b", "c", "d", "e"}
	for _, name := range names {
		if _, err := client.NetworkingV1().Ingresses("default").Create(t.Context(), newIngress("default", name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "a snapshot with every Ingress", func() bool { return len(u.last().Ingresses) == len(names) })
	// Debounced: the changes in a row came in fewer snapshots than
	// changes (the timing is checked in TestWatchBurst and TestSettle).
	if got := u.count() - 1; got >= len(names) {
		t.Errorf("got %d snapshots for %d changes, want fewer", got, len(names))
	}
}

// TestSettle checks, on a fake clock, that settle waits for Debounce of
// quiet after the last change, and for MaxDelay at most when changes keep
// coming.
func TestSettle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSource(t, newFakeClient(), func(c *Config) {
			c.Debounce = 50 * time.Millisecond
			c.MaxDelay = 150 * time.Millisecond
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()

		// Two more changes 20ms apart: quiet from 40ms on, done at 90ms.
		go func() {
			for range 2 {
				time.Sleep(20 * time.Millisecond)
				s.changed()
			}
		}()
		start := time.Now()
		if !s.settle(ctx) {
			t.Fatal("got false, want true")
		}
		if got, want := time.Since(start), 90*time.Millisecond; got != want {
			t.Errorf("debounce: got settle after %v, want %v", got, want)
		}

		// Changes every 5ms: MaxDelay ends the wait.
		stop := make(chan struct{})
		go func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					s.changed()
				}
			}
		}()
		start = time.Now()
		if !s.settle(ctx) {
			t.Fatal("got false, want true")
		}
		close(stop)
		if got, want := time.Since(start), 150*time.Millisecond; got != want {
			t.Errorf("max delay: got settle after %v, want %v", got, want)
		}
		cancel()
		if s.settle(ctx) {
			t.Error("got true after the context was done, want false")
		}
	})
}

// TestWatchLoneChange checks, on a fake clock, that a change that comes
// when the worker has been idle for Debounce is delivered at once, with no
// wait for Debounce, however long it is.
func TestWatchLoneChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSource(t, newFakeClient(), func(c *Config) {
			c.Debounce = time.Hour
			c.MaxDelay = 2 * time.Hour
		})
		u, _ := watchInBubble(t, s)
		time.Sleep(time.Hour)

		addIngress(t, s, newIngress("a", "web"))
		synctest.Wait()
		if got := u.count(); got != 2 {
			t.Fatalf("got %d snapshots with no time passed since the change, want 2", got)
		}
		if got, want := names(u.last().Ingresses), []string{"a/web"}; !slices.Equal(got, want) {
			t.Errorf("got ingresses %v, want %v", got, want)
		}
	})
}

// TestWatchBurst checks, on a fake clock, that a burst of changes 1ms
// apart makes two snapshots: the first change at once, the rest together
// once the burst paused for Debounce, and that the last holds every change.
func TestWatchBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSource(t, newFakeClient(), func(c *Config) {
			c.Debounce = 50 * time.Millisecond
			c.MaxDelay = 500 * time.Millisecond
		})
		u, _ := watchInBubble(t, s)
		time.Sleep(s.cfg.Debounce)

		const n = 20
		for i := range n {
			addIngress(t, s, newIngress("a", fmt.Sprintf("web-%02d", i)))
			synctest.Wait()
			if got := u.count(); got != 2 {
				t.Fatalf("after change %d: got %d snapshots, want 2 (the first change at once, the rest waiting)", i+1, got)
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(s.cfg.Debounce - time.Millisecond)
		synctest.Wait()
		if got := u.count(); got != 3 {
			t.Fatalf("got %d snapshots %v after the last change, want 3", got, s.cfg.Debounce)
		}
		if got := len(u.last().Ingresses); got != n {
			t.Errorf("got %d ingresses in the last snapshot, want %d", got, n)
		}
	})
}

// TestWatchStopsWhileSettling checks that the worker returns as soon as
// its context is done while it waits for a burst to pause.
func TestWatchStopsWhileSettling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSource(t, newFakeClient(), func(c *Config) {
			c.Debounce = time.Hour
			c.MaxDelay = 2 * time.Hour
		})
		u, stop := watchInBubble(t, s)
		// Within Debounce of the first snapshot: the worker settles.
		addIngress(t, s, newIngress("a", "web"))
		synctest.Wait()
		if got := u.count(); got != 1 {
			t.Fatalf("got %d snapshots, want 1 (the change waiting)", got)
		}
		start := time.Now()
		stop()
		if got := time.Since(start); got != 0 {
			t.Errorf("got the worker done %v after its context, want at once", got)
		}
	})
}

// TestUnchangedObjectsKeepPointers checks that a snapshot after a change
// holds the previous pointers of the objects that did not change.
func TestUnchangedObjectsKeepPointers(t *testing.T) {
	client := newFakeClient(newIngress("a", "one"), newIngress("a", "two"), newService("a", "web"))
	s := newSource(t, client, nil)
	u := run(t, s)
	first := u.last()

	changed := newIngress("a", "one")
	changed.Annotations = map[string]string{"changed": "yes"}
	if _, err := client.NetworkingV1().Ingresses("a").Update(t.Context(), changed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a second snapshot", func() bool { return u.count() >= 2 })
	second := u.last()

	if second.Ingresses[0] == first.Ingresses[0] {
		t.Error("got the same pointer for the changed ingress, want a new one")
	}
	if second.Ingresses[1] != first.Ingresses[1] {
		t.Error("got a new pointer for the unchanged ingress, want the same")
	}
	if second.Services[0] != first.Services[0] {
		t.Error("got a new pointer for the unchanged service, want the same")
	}
}

// TestCollectReusesSameVersion checks that an object re-listed with an
// unchanged resourceVersion keeps the previous snapshot's pointer.
func TestCollectReusesSameVersion(t *testing.T) {
	client := newFakeClient()
	s := newSource(t, client, nil)
	startInformers(t, s)

	old := newIngress("a", "web")
	old.ResourceVersion = "7"
	relisted := old.DeepCopy()
	other := newIngress("a", "zz")
	other.ResourceVersion = "8"
	newer := other.DeepCopy()
	newer.ResourceVersion = "9"
	store := s.inf.ingresses[metav1.NamespaceAll].GetStore()
	for _, obj := range []*networkingv1.Ingress{relisted, newer} {
		if err := store.Add(obj); err != nil {
			t.Fatal(err)
		}
	}

	got := collect[*networkingv1.Ingress](s.inf.ingresses, []*networkingv1.Ingress{old, other})
	if len(got) != 2 || got[0] != old || got[1] != newer {
		t.Errorf("got %v, want the previous a/web and the new a/zz", got)
	}
}

func TestSameVersion(t *testing.T) {
	v := func(uid, rv string) *networkingv1.Ingress {
		ing := newIngress("a", "web")
		ing.UID, ing.ResourceVersion = types.UID(uid), rv
		return ing
	}
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"same version", v("1", "5"), v("1", "5"), true},
		{"new version", v("1", "5"), v("1", "6"), false},
		{"recreated", v("1", "5"), v("2", "5"), false},
		{"no version", v("1", ""), v("1", ""), false},
		{"not objects", "a", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameVersion(tt.a, tt.b); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no client", Config{}, "no kubernetes client"},
		{
			"publish service and addresses",
			Config{
				Client:          kubeclienttest.New(newFakeClient()),
				PublishService:  types.NamespacedName{Namespace: "a", Name: "b"},
				StatusAddresses: []string{"192.0.2.1"},
			},
			"mutually exclusive",
		},
		{
			"lease timings",
			Config{Client: kubeclienttest.New(newFakeClient()), Lease: Lease{Duration: time.Second, RenewDeadline: 2 * time.Second}},
			"leader election: leaseDuration must be greater than renewDeadline",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "ingress-system")
	t.Setenv("POD_NAME", "caddy-ingress-7d9f")
	s, err := New(Config{Client: kubeclienttest.New(newFakeClient())})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	l := s.cfg.Lease
	if l.Namespace != "ingress-system" || l.Name != DefaultLeaseName {
		t.Errorf("got lease %s/%s, want ingress-system/%s", l.Namespace, l.Name, DefaultLeaseName)
	}
	if !strings.HasPrefix(l.Identity, "caddy-ingress-7d9f_") || len(l.Identity) != len("caddy-ingress-7d9f_")+8 {
		t.Errorf("got identity %q, want caddy-ingress-7d9f_ and 8 hex digits", l.Identity)
	}
	if l.Duration != DefaultLeaseDuration || l.RenewDeadline != DefaultRenewDeadline || l.RetryPeriod != DefaultRetryPeriod {
		t.Errorf("got lease timings %v %v %v, want the defaults", l.Duration, l.RenewDeadline, l.RetryPeriod)
	}
	other, err := New(Config{Client: kubeclienttest.New(newFakeClient())})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if other.cfg.Lease.Identity == l.Identity {
		t.Errorf("got identity %q twice, want two identities", l.Identity)
	}
}
