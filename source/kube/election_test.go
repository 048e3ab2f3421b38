package kube

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zaptest"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// newTestElector is a candidate named identity for the Lease
// caddy-ingress/leader on client, with a lease of 4s renewed every 1s.
func newTestElector(t *testing.T, client *fake.Clientset, identity string) *elector {
	t.Helper()
	l := Lease{Namespace: "caddy-ingress", Name: "leader", Identity: identity,
		Duration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: time.Second}
	if err := checkLease(l); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	return &elector{leases: client.CoordinationV1().Leases(l.Namespace), cfg: l, logger: zaptest.NewLogger(t)}
}

// newLeaseClient is a fake clientset whose Leases have resourceVersions
// and whose updates fail with a conflict when they carry another
// resourceVersion than the stored one, as the API server's do (the fake's
// tracker takes any).
func newLeaseClient(objects ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objects...)
	var version int
	client.PrependReactor("*", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		a, ok := action.(k8stesting.CreateAction) // updates too: the same methods
		if !ok {
			return false, nil, nil
		}
		var err error
		switch action.GetVerb() {
		case "create":
			lease := a.GetObject().(*coordinationv1.Lease).DeepCopy()
			version++
			lease.ResourceVersion = strconv.Itoa(version)
			err = client.Tracker().Create(a.GetResource(), lease, lease.Namespace)
			return true, lease, err
		case "update":
			lease := a.GetObject().(*coordinationv1.Lease).DeepCopy()
			stored, err := client.Tracker().Get(a.GetResource(), lease.Namespace, lease.Name)
			if err != nil {
				return true, nil, err
			}
			if rv := stored.(*coordinationv1.Lease).ResourceVersion; rv != lease.ResourceVersion {
				return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), lease.Name,
					fmt.Errorf("resourceVersion %s, stored %s", lease.ResourceVersion, rv))
			}
			version++
			lease.ResourceVersion = strconv.Itoa(version)
			err = client.Tracker().Update(a.GetResource(), lease, lease.Namespace)
			return true, lease, err
		}
		return false, nil, nil
	})
	return client
}

func getLease(t *testing.T, client *fake.Clientset) *coordinationv1.Lease {
	t.Helper()
	lease, err := client.CoordinationV1().Leases("caddy-ingress").Get(context.Background(), "leader", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	return lease
}

// lead runs e until cancel, leading with work that goes on for stopping
// after its term (status writes finishing), and returns once e leads;
// done is closed when run has returned.
func lead(t *testing.T, e *elector, stopping time.Duration) (cancel context.CancelFunc, done <-chan struct{}) {
	ctx, cancel := context.WithCancel(t.Context())
	leading := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		e.run(ctx, func(term context.Context) {
			close(leading)
			<-term.Done()
			time.Sleep(stopping)
		})
	}()
	<-leading
	return cancel, ended
}

// TestElectorTakesAndReleases checks that a candidate creates a missing
// Lease, holds it while it leads, and gives it up when stopped.
func TestElectorTakesAndReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := newLeaseClient()
		e := newTestElector(t, client, "a")
		cancel, done := lead(t, e, 0)
		time.Sleep(10 * time.Second) // renewals, on the fake clock
		lease := getLease(t, client)
		if got, want := holder(lease), "a"; got != want {
			t.Errorf("got holder %q, want %q", got, want)
		}
		if got, want := *lease.Spec.LeaseDurationSeconds, int32(4); got != want {
			t.Errorf("got lease duration %d, want %d", got, want)
		}
		if got := time.Since(lease.Spec.RenewTime.Time); got > time.Second {
			t.Errorf("got renewal %v ago, want within the 1s retry period", got)
		}
		if got := time.Since(lease.Spec.AcquireTime.Time); got < 10*time.Second {
			t.Errorf("got acquire time %v ago, want the first one, 10s ago", got)
		}
		cancel()
		<-done
		lease = getLease(t, client)
		if got := holder(lease); got != "" {
			t.Errorf("got holder %q after stopping, want none", got)
		}
		if got, want := *lease.Spec.LeaseDurationSeconds, int32(1); got != want {
			t.Errorf("got lease duration %d after stopping, want %d", got, want)
		}
	})
}

// TestElectorWaitsForExpiry checks that a Lease held by another candidate
// is taken only once it has not changed for its duration, and that
// taking it counts a transition.
func TestElectorWaitsForExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := &metav1.MicroTime{Time: time.Now()}
		client := newLeaseClient(&coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "caddy-ingress", Name: "leader"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: new("other"), LeaseDurationSeconds: new(int32(6)),
				AcquireTime: now, RenewTime: now, LeaseTransitions: new(int32(3))},
		})
		e := newTestElector(t, client, "a")
		var leaders []string
		e.onLeader = func(identity string) { leaders = append(leaders, identity) }
		start := time.Now()
		var took time.Duration
		ctx, cancel := context.WithCancel(t.Context())
		e.run(ctx, func(context.Context) {
			took = time.Since(start)
			cancel()
		})
		if took < 6*time.Second || took > 6*time.Second+time.Duration(2*JitterFactor*float64(time.Second)) {
			t.Errorf("took the lease after %v, want after its 6s duration, within a retry", took)
		}
		if got, want := leaders, []string{"other", "a"}; !slices.Equal(got, want) {
			t.Errorf("got leaders %q, want %q", got, want)
		}
		if got, want := *getLease(t, client).Spec.LeaseTransitions, int32(4); got != want {
			t.Errorf("got %d transitions, want %d", got, want)
		}
	})
}

// TestElectorLosesLease checks that a term ends when another candidate
// took the Lease over, and that the Lease is then left to it.
func TestElectorLosesLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := newLeaseClient()
		e := newTestElector(t, client, "a")
		ended := make(chan time.Time, 1)
		var stolen time.Time
		e.run(t.Context(), func(term context.Context) {
			lease := getLease(t, client)
			lease.Spec.HolderIdentity = new("b")
			lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			if _, err := client.CoordinationV1().Leases("caddy-ingress").Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
				t.Errorf("got error %v, want none", err)
			}
			stolen = time.Now()
			<-term.Done()
			ended <- time.Now()
		})
		if got := (<-ended).Sub(stolen); got > 4*time.Second {
			t.Errorf("term ended %v after the lease was taken, want within the 3s renew deadline (+1s)", got)
		}
		if got, want := holder(getLease(t, client)), "b"; got != want {
			t.Errorf("got holder %q, want %q: a lost lease is not released", got, want)
		}
	})
}

func TestCheckLease(t *testing.T) {
	ok := Lease{Identity: "a", Duration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
	tests := []struct {
		name string
		edit func(*Lease)
		want string
	}{
		{"defaults", func(*Lease) {}, ""},
		{"renew deadline not below duration", func(l *Lease) { l.RenewDeadline = l.Duration }, "leaseDuration must be greater than renewDeadline"},
		{"retry period too long", func(l *Lease) { l.RetryPeriod = 9 * time.Second }, "renewDeadline must be greater than retryPeriod*JitterFactor"},
		{"no retry period", func(l *Lease) { l.RetryPeriod = 0 }, "greater than zero"},
		{"no identity", func(l *Lease) { l.Identity = "" }, "empty identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ok
			tt.edit(&l)
			err := checkLease(l)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestElectorReleasesAfterTheTerm checks that the Lease is given up only
// once the term's work has stopped, so that the next leader's writes do
// not overlap it, and that work which does not stop keeps the Lease no
// longer than RenewDeadline.
func TestElectorReleasesAfterTheTerm(t *testing.T) {
	for _, c := range []struct {
		name     string
		stopping time.Duration // how long lead works on after its term
		released time.Duration // when the Lease is given up, after the term
	}{
		{"lead stops", 2 * time.Second, 2 * time.Second},
		{"lead does not stop in time", time.Minute, 3 * time.Second}, // RenewDeadline
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client := newLeaseClient()
				e := newTestElector(t, client, "a")
				cancel, done := lead(t, e, c.stopping)
				cancel()
				ended := time.Now()
				for holder(getLease(t, client)) == "a" {
					time.Sleep(100 * time.Millisecond)
				}
				if got := time.Since(ended); got < c.released || got > c.released+time.Second {
					t.Errorf("Lease given up %v after the term, want %v", got, c.released)
				}
				<-done
				if got := time.Since(ended); got < c.stopping {
					t.Errorf("run returned %v after the term, before lead (%v)", got, c.stopping)
				}
			})
		})
	}
}
