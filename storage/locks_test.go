package kubestorage

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

// newFakeStorage returns a storage on a fake clientset, with its logs.
func newFakeStorage(t *testing.T, holder string) (*Storage, *observer.ObservedLogs, *k8stesting.Fake) {
	client := newFakeClientset()
	core, logs := observer.New(zap.InfoLevel)
	s := &Storage{Namespace: "storage", HolderIdentity: holder, LeaseDuration: caddyDuration(3 * time.Second)}
	if err := s.setup(zap.New(core)); err != nil {
		t.Fatal(err)
	}
	s.st.secrets, s.st.leases = client.CoreV1().Secrets(s.Namespace), client.CoordinationV1().Leases(s.Namespace)
	return s, logs, &client.Fake
}

// TestLockErrors: Lock keeps trying through errors that may pass (the API
// server unreachable) and says so once, and gives up at once on those
// that cannot (RBAC).
func TestLockErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, logs, fake := newFakeStorage(t, "a")
		failures := 3
		fake.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			if failures > 0 {
				failures--
				return true, nil, errors.New("connection refused")
			}
			return false, nil, nil
		})
		if err := s.Lock(t.Context(), "x"); err != nil {
			t.Fatal(err)
		}
		if n := logs.FilterMessage("cannot take lock yet; trying again").Len(); n != 1 {
			t.Errorf("got %d warnings, want 1", n)
		}
		if err := s.Unlock(t.Context(), "x"); err != nil {
			t.Fatal(err)
		}

		fake.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "y", errors.New("RBAC"))
		})
		err := s.Lock(t.Context(), "y")
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "lock y: reading lease storage/caddy-storage-lock-") {
			t.Errorf("got %v, want the Forbidden error naming the lock and Lease", err)
		}
	})
}

// TestRenewalOutage: a holder that cannot reach the API server for less
// than the lease duration keeps its lock; it says so once, and again when
// it can renew.
func TestRenewalOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, logs, fake := newFakeStorage(t, "a")
		// Installed before the renewer starts: the fake's reactor list is
		// not safe to change while it runs.
		var failing atomic.Bool
		fake.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			if failing.Load() {
				return true, nil, errors.New("connection refused")
			}
			return false, nil, nil
		})
		if err := s.Lock(t.Context(), "x"); err != nil {
			t.Fatal(err)
		}
		failing.Store(true)
		time.Sleep(s.duration/3 + time.Millisecond) // one renewal fails
		synctest.Wait()
		if n := logs.FilterMessage("cannot renew lock; trying again").Len(); n != 1 {
			t.Fatalf("got %d warnings, want 1", n)
		}
		failing.Store(false)
		time.Sleep(s.duration / 3) // the next one works
		synctest.Wait()
		if n := logs.FilterMessage("lock renewed again").Len(); n != 1 {
			t.Errorf("got %d infos that renewal works again, want 1", n)
		}
		if err := s.RenewLockLease(t.Context(), "x", time.Minute); err != nil {
			t.Errorf("RenewLockLease after the outage: %v", err)
		}
		if err := s.Unlock(t.Context(), "x"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestForeignSecret: a Secret of the same name that this storage did not
// write is neither read nor overwritten.
func TestForeignSecret(t *testing.T) {
	s, _, _ := newFakeStorage(t, "a")
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s.secretName("k")}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"value": []byte("theirs")}}
	if _, err := s.st.secrets.Create(context.Background(), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "secret storage/" + s.secretName("k") + " is not this storage's secret of the key"
	if err := s.Store(context.Background(), "k", []byte("mine")); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Store: got %v, want %q", err, want)
	}
	if _, err := s.Load(context.Background(), "k"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load: got %v, want %q", err, want)
	}
	got, err := s.st.secrets.Get(context.Background(), foreign.Name, metav1.GetOptions{})
	if err != nil || string(got.Data["value"]) != "theirs" {
		t.Errorf("the foreign Secret: got %v, %v; want it untouched", got, err)
	}
}
