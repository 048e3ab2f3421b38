package kubestorage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap/zaptest"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The contract tests run against client-go's fake clientset (with
// resourceVersions, see newFakeClientset) in a synctest bubble, or, when
// these variables name a cluster, against its API server with real time:
// integration/kube/e2e runs them so against a real kube-apiserver.
const (
	envKubeconfig = "KUBESTORAGE_TEST_KUBECONFIG"
	envNamespace  = "KUBESTORAGE_TEST_NAMESPACE"
)

// contractEnv makes the storages of one contract test: all of them share
// one prefix, so they see the same Secrets and Leases, as replicas do.
type contractEnv struct {
	prefix string
	// duration is the storages' lease_duration.
	duration time.Duration
	mk       func(holder string) *Storage
}

// storage returns a new storage instance with holder identity holder.
func (e *contractEnv) storage(holder string) *Storage { return e.mk(holder) }

// TestContract runs the storage contract: what certmagic expects of a
// Storage (compared with its FileStorage where the semantics are its),
// the size limit, and the locks between holders.
func TestContract(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T, *contractEnv)
	}{
		{"StoreLoad", testStoreLoad},
		{"ListStatExistsDelete", testListStatExistsDelete},
		{"Prefixes", testPrefixes},
		{"Size", testSize},
		{"LockExclusion", testLockExclusion},
		{"LocalExclusion", testLocalExclusion},
		{"UnlockByOther", testUnlockByOther},
		{"ExpiredTakeover", testExpiredTakeover},
		{"Renewal", testRenewal},
		{"Lost", testLost},
		{"RacingTakeovers", testRacingTakeovers},
	}
	kubeconfig, ns := os.Getenv(envKubeconfig), os.Getenv(envNamespace)
	if kubeconfig != "" {
		t.Logf("against the API server of %s, namespace %s", kubeconfig, ns)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if kubeconfig != "" {
				tc.run(t, realEnv(t, kubeconfig, ns))
				return
			}
			synctest.Test(t, func(t *testing.T) {
				e := fakeEnv(t)
				// A test that fails holding locks leaves no renewer
				// running in the bubble.
				defer stopRenewers(e.prefix)
				tc.run(t, e)
			})
		})
	}
}

// stopRenewers stops renewing the locks of the storages with prefix that
// are still held.
func stopRenewers(prefix string) {
	heldLocks.Lock()
	defer heldLocks.Unlock()
	for key, h := range heldLocks.m {
		if strings.Contains(key, "/"+prefix+"-lock-") && h.stop != nil {
			h.stop()
			h.renewer.Wait()
			delete(heldLocks.m, key)
		}
	}
}

func randomPrefix(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "t-" + hex.EncodeToString(b)
}

// The storages' lease_duration in the contract tests: against a real API
// server on a busy machine, a renewal may take a while.
const (
	fakeLeaseDuration = 2 * time.Second
	realLeaseDuration = 3 * time.Second
)

func fakeEnv(t *testing.T) *contractEnv {
	client := newFakeClientset()
	prefix := randomPrefix(t)
	return &contractEnv{prefix: prefix, duration: fakeLeaseDuration, mk: func(holder string) *Storage {
		s := &Storage{Namespace: "storage", Prefix: prefix, HolderIdentity: holder, LeaseDuration: caddyDuration(fakeLeaseDuration)}
		if err := s.setup(zaptest.NewLogger(t)); err != nil {
			t.Fatal(err)
		}
		s.st.secrets, s.st.leases = client.CoreV1().Secrets(s.Namespace), client.CoordinationV1().Leases(s.Namespace)
		return s
	}}
}

func realEnv(t *testing.T, kubeconfig, ns string) *contractEnv {
	prefix := randomPrefix(t)
	return &contractEnv{prefix: prefix, duration: realLeaseDuration, mk: func(holder string) *Storage {
		s := &Storage{Namespace: ns, Kubeconfig: kubeconfig, Prefix: prefix, HolderIdentity: holder, LeaseDuration: caddyDuration(realLeaseDuration)}
		if err := s.setup(zaptest.NewLogger(t)); err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

// eventually polls check until it returns nil or timeout passes.
func eventually(t *testing.T, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var ctx = context.Background()

func testStoreLoad(t *testing.T, e *contractEnv) {
	s := e.storage("a")
	keys := []string{
		"certificates/acme-v02.api.letsencrypt.org-directory/wildcard_.example.com/wildcard_.example.com.crt",
		"acme/CA.Example.COM/users/Admin@Example.com/admin.json",
		"a",
		"pki/authorities/local/root.key",
	}
	for i, key := range keys {
		value := []byte(fmt.Sprintf("value %d of %s", i, key))
		if err := s.Store(ctx, key, value); err != nil {
			t.Fatalf("Store(%q): %v", key, err)
		}
		got, err := s.Load(ctx, key)
		if err != nil || !bytes.Equal(got, value) {
			t.Errorf("Load(%q): got %q, %v; want %q", key, got, err, value)
		}
	}
	// Overwriting, from another instance.
	other := e.storage("b")
	if err := other.Store(ctx, "a", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx, "a"); err != nil || string(got) != "new" {
		t.Errorf("Load after overwrite: got %q, %v; want \"new\"", got, err)
	}
	// An empty value is a value.
	if err := s.Store(ctx, "empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx, "empty"); err != nil || len(got) != 0 {
		t.Errorf("Load(empty): got %q, %v; want an empty value", got, err)
	}
	if _, err := s.Load(ctx, "missing/key"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing/key): got %v, want fs.ErrNotExist", err)
	}
	// Leading and trailing slashes name the same key, as in FileStorage.
	if got, err := s.Load(ctx, "/a/"); err != nil || string(got) != "new" {
		t.Errorf("Load(/a/): got %q, %v; want \"new\"", got, err)
	}
	if err := s.Store(ctx, "", []byte("x")); err == nil {
		t.Error("Store(\"\"): got no error")
	}
}

// contractKeys are stored in both storages to compare.
var contractKeys = []string{"a/b/c1", "a/b/c2", "a/d", "a/e/f/g", "h", "ab/x"}

func testListStatExistsDelete(t *testing.T, e *contractEnv) {
	s := e.storage("a")
	file := &certmagic.FileStorage{Path: t.TempDir()}
	for _, key := range contractKeys {
		for _, st := range []certmagic.Storage{s, file} {
			if err := st.Store(ctx, key, []byte(key)); err != nil {
				t.Fatalf("Store(%q): %v", key, err)
			}
		}
	}
	compare := func(t *testing.T) {
		t.Helper()
		for _, dir := range []string{"a", "a/b", "a/e", "a/e/f", "ab", "a/d", "h", "nope", "a/nope"} {
			for _, recursive := range []bool{false, true} {
				want, wantErr := file.List(ctx, dir, recursive)
				got, err := s.List(ctx, dir, recursive)
				slices.Sort(want)
				if !slices.Equal(got, want) || errors.Is(err, fs.ErrNotExist) != errors.Is(wantErr, fs.ErrNotExist) || (err == nil) != (wantErr == nil) {
					t.Errorf("List(%q, %v): got %q, %v; want FileStorage's %q, %v", dir, recursive, got, err, want, wantErr)
				}
			}
		}
		for _, key := range append([]string{"a", "a/b", "a/e/f", "ab", "nope", "a/b/c"}, contractKeys...) {
			want, wantErr := file.Stat(ctx, key)
			got, err := s.Stat(ctx, key)
			if (err == nil) != (wantErr == nil) || errors.Is(err, fs.ErrNotExist) != errors.Is(wantErr, fs.ErrNotExist) {
				t.Errorf("Stat(%q): got error %v, want FileStorage's %v", key, err, wantErr)
				continue
			}
			if err == nil && (got.Key != want.Key || got.IsTerminal != want.IsTerminal || (got.IsTerminal && got.Size != want.Size)) {
				t.Errorf("Stat(%q): got %+v, want FileStorage's %+v", key, got, want)
			}
			if err == nil && got.IsTerminal && time.Since(got.Modified) > time.Minute {
				t.Errorf("Stat(%q): modified %v, want about now", key, got.Modified)
			}
			if gotE, wantE := s.Exists(ctx, key), file.Exists(ctx, key); gotE != wantE {
				t.Errorf("Exists(%q): got %v, want FileStorage's %v", key, gotE, wantE)
			}
		}
	}
	compare(t)
	for _, key := range []string{"a/b", "nope"} {
		for _, st := range []certmagic.Storage{s, file} {
			if err := st.Delete(ctx, key); err != nil {
				t.Fatalf("Delete(%q): %v", key, err)
			}
		}
	}
	compare(t)
	if _, err := s.Load(ctx, "a/b/c1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(a/b/c1) after Delete(a/b): got %v, want fs.ErrNotExist", err)
	}
	if got, err := s.Load(ctx, "a/d"); err != nil || string(got) != "a/d" {
		t.Errorf("Load(a/d) after Delete(a/b): got %q, %v; want it kept", got, err)
	}
	// Directories exist only through the keys beneath them, as
	// certmagic.Storage says (FileStorage keeps empty ones).
	if err := s.Delete(ctx, "a/e/f/g"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, "a/e", true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List(a/e) after its last key is deleted: got %v, want fs.ErrNotExist", err)
	}
	if s.Exists(ctx, "a/e") {
		t.Error("Exists(a/e) after its last key is deleted: got true")
	}
	if got, err := s.List(ctx, "a", false); err != nil || !slices.Equal(got, []string{"a/d"}) {
		t.Errorf("List(a) at the end: got %q, %v; want [a/d]", got, err)
	}
}

func testPrefixes(t *testing.T, e *contractEnv) {
	s := e.storage("a")
	if err := s.Store(ctx, "certificates/x/y.crt", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	other := e.storage("a")
	other.Prefix = e.prefix + "-other"
	if other.Exists(ctx, "certificates/x/y.crt") {
		t.Error("a storage with another prefix sees the key")
	}
	if _, err := other.List(ctx, "certificates", true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List under another prefix: got %v, want fs.ErrNotExist", err)
	}
	secrets, _, err := s.clients()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := secrets.Get(ctx, s.secretName("certificates/x/y.crt"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{labelManagedBy: managedBy, labelStorage: e.prefix}
	for k, v := range want {
		if secret.Labels[k] != v {
			t.Errorf("label %s: got %q, want %q", k, secret.Labels[k], v)
		}
	}
	if got := secret.Annotations[annotationKey]; got != "certificates/x/y.crt" {
		t.Errorf("annotation %s: got %q", annotationKey, got)
	}
	if secret.Type != secretType {
		t.Errorf("type: got %q, want %q", secret.Type, secretType)
	}
}

func testSize(t *testing.T, e *contractEnv) {
	s := e.storage("a")
	full := bytes.Repeat([]byte{0xa5}, maxValueSize)
	if err := s.Store(ctx, "big/full", full); err != nil {
		t.Fatalf("Store of %d bytes: %v", len(full), err)
	}
	if got, err := s.Load(ctx, "big/full"); err != nil || !bytes.Equal(got, full) {
		t.Errorf("Load of the full Secret: got %d bytes, %v; want %d", len(got), err, len(full))
	}
	err := s.Store(ctx, "big/over", append(full, 0))
	if err == nil || !strings.Contains(err.Error(), `storage key "big/over": value of 1048577 bytes exceeds the 1048576 bytes a Secret holds`) {
		t.Errorf("Store of one byte more: got %v, want the size error", err)
	}
	if s.Exists(ctx, "big/over") {
		t.Error("the value that does not fit was stored")
	}
}

func getLease(t *testing.T, s *Storage, name string) *coordinationv1.Lease {
	t.Helper()
	_, leases, err := s.clients()
	if err != nil {
		t.Fatal(err)
	}
	lease, err := leases.Get(ctx, s.leaseName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return lease
}

func testLockExclusion(t *testing.T, e *contractEnv) {
	a, b := e.storage("holder-a"), e.storage("holder-b")
	if err := a.Lock(ctx, "issue_cert_example.com"); err != nil {
		t.Fatal(err)
	}
	lease := getLease(t, a, "issue_cert_example.com")
	if lease == nil || holderOf(lease) != "holder-a" || lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil || *lease.Spec.LeaseDurationSeconds != int32(e.duration/time.Second) {
		t.Fatalf("lease: got %+v, want held by holder-a for %v with a renewTime", lease, e.duration)
	}
	if got := lease.Annotations[annotationLock]; got != "issue_cert_example.com" {
		t.Errorf("annotation %s: got %q", annotationLock, got)
	}
	if ok, err := b.TryLock(ctx, "issue_cert_example.com"); ok || err != nil {
		t.Fatalf("TryLock of a held lock: got %v, %v; want false", ok, err)
	}
	// Lock waits while a holds it, through more than one lease duration
	// (a renews it), and gives up when its context ends.
	waitCtx, cancel := context.WithTimeout(ctx, 3*e.duration)
	err := b.Lock(waitCtx, "issue_cert_example.com")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while held: got %v, want the context's deadline", err)
	}
	locked := make(chan error, 1)
	go func() { locked <- b.Lock(ctx, "issue_cert_example.com") }()
	if err := a.Unlock(ctx, "issue_cert_example.com"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-locked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return within 5s of the Unlock")
	}
	if lease := getLease(t, b, "issue_cert_example.com"); lease == nil || holderOf(lease) != "holder-b" {
		t.Fatalf("lease after a's Unlock: got %+v, want held by holder-b", lease)
	}
	if err := b.Unlock(ctx, "issue_cert_example.com"); err != nil {
		t.Fatal(err)
	}
	if lease := getLease(t, b, "issue_cert_example.com"); lease != nil {
		t.Errorf("lease after Unlock: got %+v, want it deleted", lease)
	}
}

func testLocalExclusion(t *testing.T, e *contractEnv) {
	// Two instances with one holder identity, as the old and new config
	// of a reload: they exclude each other in the process.
	a, a2 := e.storage("holder-a"), e.storage("holder-a")
	if err := a.Lock(ctx, "storage_clean"); err != nil {
		t.Fatal(err)
	}
	if ok, err := a2.TryLock(ctx, "storage_clean"); ok || err != nil {
		t.Fatalf("TryLock by the same holder: got %v, %v; want false", ok, err)
	}
	var mu sync.Mutex
	var order []string
	done := make(chan error, 1)
	go func() {
		err := a2.Lock(ctx, "storage_clean")
		mu.Lock()
		order = append(order, "second locked")
		mu.Unlock()
		done <- err
	}()
	mu.Lock()
	order = append(order, "first unlocks")
	mu.Unlock()
	if err := a.Unlock(ctx, "storage_clean"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"first unlocks", "second locked"}) {
		t.Errorf("got %q, want the second Lock to return after the first Unlock", order)
	}
	if err := a2.Unlock(ctx, "storage_clean"); err != nil {
		t.Fatal(err)
	}
}

func testUnlockByOther(t *testing.T, e *contractEnv) {
	a, b := e.storage("holder-a"), e.storage("holder-b")
	if err := a.Lock(ctx, "ari_x"); err != nil {
		t.Fatal(err)
	}
	err := b.Unlock(ctx, "ari_x")
	if err == nil || !strings.Contains(err.Error(), `not held by holder-b`) || !strings.Contains(err.Error(), `"holder-a"`) {
		t.Errorf("Unlock by another holder: got %v, want an error naming both holders", err)
	}
	if lease := getLease(t, a, "ari_x"); lease == nil || holderOf(lease) != "holder-a" {
		t.Fatalf("lease after another's Unlock: got %+v, want still held by holder-a", lease)
	}
	if err := b.RenewLockLease(ctx, "ari_x", time.Minute); err == nil {
		t.Error("RenewLockLease by another holder: got no error")
	}
	if ok, _ := b.TryLock(ctx, "ari_x"); ok {
		t.Error("TryLock after another's Unlock: got the lock")
	}
	if err := a.RenewLockLease(ctx, "ari_x", time.Minute); err != nil {
		t.Errorf("RenewLockLease by the holder: %v", err)
	}
	if err := a.Unlock(ctx, "ari_x"); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(ctx, "ari_x"); err == nil {
		t.Error("second Unlock: got no error")
	}
}

// putLease writes the Lease of lock name as a holder that is not a
// storage instance of this test, renewed at renewed.
func putLease(t *testing.T, s *Storage, name, holder string, renewed time.Time) {
	t.Helper()
	_, leases, err := s.clients()
	if err != nil {
		t.Fatal(err)
	}
	seconds := int32(s.duration / time.Second)
	at := metav1.NewMicroTime(renewed)
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: s.leaseName(name)},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, AcquireTime: &at, RenewTime: &at},
	}
	if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func testExpiredTakeover(t *testing.T, e *contractEnv) {
	b := e.storage("holder-b")
	// A holder that died just now: b waits one lease duration from when
	// it first saw the Lease unchanged, whatever the clocks say.
	putLease(t, b, "issue_cert_dead.example", "dead", time.Now())
	start := time.Now()
	if err := b.Lock(ctx, "issue_cert_dead.example"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < e.duration-100*time.Millisecond {
		t.Errorf("took over after %v, want at least the lease duration %v", took, e.duration)
	}
	lease := getLease(t, b, "issue_cert_dead.example")
	if holderOf(lease) != "holder-b" || lease.Spec.LeaseTransitions == nil || *lease.Spec.LeaseTransitions != 1 {
		t.Errorf("lease: got holder %q, transitions %v; want holder-b, 1", holderOf(lease), lease.Spec.LeaseTransitions)
	}
	if err := b.Unlock(ctx, "issue_cert_dead.example"); err != nil {
		t.Fatal(err)
	}

	// A Lease renewed long ago is taken at once.
	putLease(t, b, "issue_cert_old.example", "dead", time.Now().Add(-time.Hour))
	if ok, err := b.TryLock(ctx, "issue_cert_old.example"); !ok || err != nil {
		t.Fatalf("TryLock of a Lease renewed an hour ago: got %v, %v; want true", ok, err)
	}
	if err := b.Unlock(ctx, "issue_cert_old.example"); err != nil {
		t.Fatal(err)
	}
}

func testRenewal(t *testing.T, e *contractEnv) {
	a, b := e.storage("holder-a"), e.storage("holder-b")
	if err := a.Lock(ctx, "long"); err != nil {
		t.Fatal(err)
	}
	first := getLease(t, a, "long")
	// b polls for twice the lease duration: without renewals it would
	// take the lock over after one.
	waitCtx, cancel := context.WithTimeout(ctx, 2*e.duration)
	err := b.Lock(waitCtx, "long")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a lock held for twice its duration: got %v, want the context's deadline", err)
	}
	got := getLease(t, a, "long")
	if holderOf(got) != "holder-a" || !got.Spec.AcquireTime.Equal(first.Spec.AcquireTime) {
		t.Errorf("renewed lease: got holder %q acquired %v, want holder-a acquired %v", holderOf(got), got.Spec.AcquireTime, first.Spec.AcquireTime)
	}
	if renewed := got.Spec.RenewTime.Sub(first.Spec.RenewTime.Time); renewed < e.duration {
		t.Errorf("renewTime advanced by %v over twice the lease duration, want at least %v", renewed, e.duration)
	}
	if err := a.Unlock(ctx, "long"); err != nil {
		t.Fatal(err)
	}
}

// rewriteLease changes the Lease of lock name as another writer would,
// trying again when it races with the holder's renewal.
func rewriteLease(t *testing.T, s *Storage, name string, change func(*coordinationv1.Lease)) *coordinationv1.Lease {
	t.Helper()
	_, leases, err := s.clients()
	if err != nil {
		t.Fatal(err)
	}
	for {
		lease := getLease(t, s, name)
		change(lease)
		updated, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
		if err == nil {
			return updated
		}
		if !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
}

func testLost(t *testing.T, e *contractEnv) {
	a := e.storage("holder-a")
	if err := a.Lock(ctx, "stolen"); err != nil {
		t.Fatal(err)
	}
	// Another holder writes the Lease, as one would that took it over
	// while a could not renew it.
	thief := "thief"
	rewriteLease(t, a, "stolen", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = &thief })
	if err := a.RenewLockLease(ctx, "stolen", time.Minute); err == nil || !strings.Contains(err.Error(), `"thief"`) {
		t.Errorf("RenewLockLease of a lost lock: got %v, want an error naming the thief", err)
	}
	if err := a.Unlock(ctx, "stolen"); err == nil || !strings.Contains(err.Error(), "taken over by thief") {
		t.Errorf("Unlock of a lost lock: got %v, want an error naming the thief", err)
	}
	if got := getLease(t, a, "stolen"); got == nil || holderOf(got) != "thief" {
		t.Errorf("lease after Unlock of a lost lock: got %+v, want the thief's, untouched", got)
	}

	// A take-over by a holder of the same identity (a misconfigured
	// holder_identity shared by two replicas) is told apart by its
	// acquireTime.
	if err := a.Lock(ctx, "twin"); err != nil {
		t.Fatal(err)
	}
	twin := rewriteLease(t, a, "twin", func(l *coordinationv1.Lease) {
		later := metav1.NewMicroTime(l.Spec.AcquireTime.Add(time.Second))
		l.Spec.AcquireTime, l.Spec.RenewTime = &later, &later
	})
	if err := a.RenewLockLease(ctx, "twin", time.Minute); err == nil {
		t.Error("RenewLockLease after a take-over by the same identity: got no error")
	}
	if err := a.Unlock(ctx, "twin"); err == nil {
		t.Error("Unlock after a take-over by the same identity: got no error")
	}
	if got := getLease(t, a, "twin"); got == nil || got.ResourceVersion != twin.ResourceVersion {
		t.Errorf("lease after Unlock: got %+v, want the twin's, untouched", got)
	}
}

func testRacingTakeovers(t *testing.T, e *contractEnv) {
	// Replicas that find one expired Lease at once: one takes it.
	for i := range 5 {
		name := fmt.Sprintf("race-%d", i)
		putLease(t, e.storage("x"), name, "dead", time.Now().Add(-time.Hour))
		holders := []*Storage{e.storage("holder-a"), e.storage("holder-b"), e.storage("holder-c")}
		var wg sync.WaitGroup
		won := make([]bool, len(holders))
		for j, s := range holders {
			wg.Go(func() {
				ok, err := s.TryLock(ctx, name)
				if err != nil {
					t.Error(err)
				}
				won[j] = ok
			})
		}
		wg.Wait()
		var winners []string
		for j, ok := range won {
			if ok {
				winners = append(winners, holders[j].HolderIdentity)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%s: got winners %q, want exactly one", name, winners)
		}
		if got := holderOf(getLease(t, holders[0], name)); got != winners[0] {
			t.Errorf("%s: lease held by %q, want the winner %q", name, got, winners[0])
		}
		for j, ok := range won {
			if ok {
				if err := holders[j].Unlock(ctx, name); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

func caddyDuration(d time.Duration) caddy.Duration { return caddy.Duration(d) }
