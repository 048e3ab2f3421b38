package kubestorage

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// unlockTimeout bounds the API calls of Unlock, whose context certmagic
// never cancels.
const unlockTimeout = 10 * time.Second

// maxPoll is the longest wait between two tries of Lock.
const maxPoll = time.Second

// held is a lock that a holder of this process holds or is taking.
type held struct {
	// released is closed when the lock is released here, or was not
	// taken after all: local waiters try again at once.
	released chan struct{}

	// The fields below are set once the Lease is held.
	stop    context.CancelFunc
	renewer sync.WaitGroup

	// mu guards the fields below and serializes the renewals.
	mu    sync.Mutex
	lease *coordinationv1.Lease
	// lostTo names the holder that took the Lease over, or says that it
	// is gone; the lock is then no longer held.
	lostTo string
}

// heldLocks are the locks held in this process, by namespace, Lease and
// holder: within one process, a holder's locks exclude each other without
// asking the API server, across the storage instances of config reloads.
var heldLocks = struct {
	sync.Mutex
	m map[string]*held
}{m: make(map[string]*held)}

// observation is when a Lease held by another was first seen in its
// current version.
type observation struct {
	resourceVersion string
	seen            time.Time
}

func (s *Storage) heldKey(lease string) string {
	return s.Namespace + "/" + lease + "/" + s.HolderIdentity
}

// Lock takes the lock name, waiting until it is free or ctx is done.
// While held, its Lease is renewed in the background until Unlock.
func (s *Storage) Lock(ctx context.Context, name string) error {
	// A kubeconfig that cannot be read does not get better by waiting.
	if _, _, err := s.clients(); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	var lastErr error
	for {
		ok, wait, err := s.tryLock(ctx, name)
		if ok {
			return nil
		}
		if err != nil {
			if permanent(err) {
				return err
			}
			if lastErr == nil {
				s.logger.Warn("cannot take lock yet; trying again", zap.String("lock", name), zap.Error(err))
			}
			lastErr = err
		}
		poll := min(maxPoll, s.duration/4)
		timer := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			if lastErr != nil {
				return fmt.Errorf("lock %s: %w (last error: %v)", name, context.Cause(ctx), lastErr)
			}
			return fmt.Errorf("lock %s: %w", name, context.Cause(ctx))
		case <-wait:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// permanent reports whether trying again cannot help.
func permanent(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
}

// TryLock takes the lock name if it is free or expired, without waiting.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	ok, _, err := s.tryLock(ctx, name)
	return ok, err
}

// tryLock tries once to take the lock name. When this holder holds it in
// this process already (another storage instance, or another goroutine),
// it returns a channel that is closed when it is released here.
func (s *Storage) tryLock(ctx context.Context, name string) (ok bool, wait <-chan struct{}, err error) {
	_, leases, err := s.clients()
	if err != nil {
		return false, nil, err
	}
	leaseName := s.leaseName(name)
	key := s.heldKey(leaseName)

	heldLocks.Lock()
	if h := heldLocks.m[key]; h != nil {
		heldLocks.Unlock()
		return false, h.released, nil
	}
	h := &held{released: make(chan struct{})}
	heldLocks.m[key] = h
	heldLocks.Unlock()

	lease, err := s.acquire(ctx, leases, leaseName, name)
	if lease == nil {
		heldLocks.Lock()
		delete(heldLocks.m, key)
		heldLocks.Unlock()
		close(h.released)
		return false, nil, err
	}
	renewCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	// Published under heldLocks: Unlock and RenewLockLease read them so.
	heldLocks.Lock()
	h.lease, h.stop = lease, stop
	heldLocks.Unlock()
	h.renewer.Go(func() { s.renew(renewCtx, leases, h, name) })
	return true, nil, nil
}

// acquire takes the Lease of lock name if it does not exist or has
// expired, and returns it; nil if another holds it.
func (s *Storage) acquire(ctx context.Context, leases leaseClient, leaseName, name string) (*coordinationv1.Lease, error) {
	now := metav1.NewMicroTime(time.Now())
	seconds := int32(s.duration / time.Second)
	cur, err := leases.Get(ctx, leaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.forget(leaseName)
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name:        leaseName,
				Labels:      map[string]string{labelManagedBy: managedBy, labelStorage: s.Prefix},
				Annotations: map[string]string{annotationLock: name},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       &s.HolderIdentity,
				LeaseDurationSeconds: &seconds,
				AcquireTime:          &now,
				RenewTime:            &now,
			},
		}
		created, err := leases.Create(ctx, lease, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil, nil // taken meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: creating lease %s/%s: %w", name, s.Namespace, leaseName, err)
		}
		return created, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: reading lease %s/%s: %w", name, s.Namespace, leaseName, err)
	}
	if !s.expired(cur, now.Time) {
		return nil, nil
	}
	previous := holderOf(cur)
	transitions := int32(1)
	if cur.Spec.LeaseTransitions != nil {
		transitions = *cur.Spec.LeaseTransitions + 1
	}
	lease := cur.DeepCopy()
	lease.Spec = coordinationv1.LeaseSpec{
		HolderIdentity:       &s.HolderIdentity,
		LeaseDurationSeconds: &seconds,
		AcquireTime:          &now,
		RenewTime:            &now,
		LeaseTransitions:     &transitions,
	}
	// Conditional on the resourceVersion read: of two replicas taking an
	// expired Lease over, one gets a conflict.
	updated, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: taking over lease %s/%s: %w", name, s.Namespace, leaseName, err)
	}
	s.forget(leaseName)
	if previous != "" {
		s.logger.Info("lock taken over", zap.String("lock", name), zap.String("lease", leaseName), zap.String("previous_holder", previous))
	}
	return updated, nil
}

// expired reports whether lease, held by another, may be taken over at
// now: it names no holder, or its holder has not renewed it for its
// duration as this instance observed it, or its renewTime is older than
// twice its duration. Observing makes it independent of the holder's
// clock; the renewTime rule frees Leases left long ago at once.
func (s *Storage) expired(lease *coordinationv1.Lease, now time.Time) bool {
	if holderOf(lease) == "" {
		return true
	}
	d := s.duration
	if lease.Spec.LeaseDurationSeconds != nil && *lease.Spec.LeaseDurationSeconds > 0 {
		d = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	if r := lease.Spec.RenewTime; r != nil && now.Sub(r.Time) > 2*d {
		return true
	}
	s.st.obsMu.Lock()
	defer s.st.obsMu.Unlock()
	obs, ok := s.st.observed[lease.Name]
	if !ok || obs.resourceVersion != lease.ResourceVersion {
		if s.st.observed == nil {
			s.st.observed = make(map[string]observation)
		}
		s.st.observed[lease.Name] = observation{resourceVersion: lease.ResourceVersion, seen: now}
		return false
	}
	return now.Sub(obs.seen) >= d
}

// forget drops the observation of a Lease.
func (s *Storage) forget(leaseName string) {
	s.st.obsMu.Lock()
	delete(s.st.observed, leaseName)
	s.st.obsMu.Unlock()
}

// sameTenure reports whether cur is still the Lease that this holder
// took as mine: the same object, holder and acquireTime. The acquireTime
// tells a take-over apart even by a holder of the same identity.
func sameTenure(cur, mine *coordinationv1.Lease) bool {
	return cur.UID == mine.UID && holderOf(cur) == holderOf(mine) &&
		cur.Spec.AcquireTime != nil && mine.Spec.AcquireTime != nil && cur.Spec.AcquireTime.Equal(mine.Spec.AcquireTime)
}

func holderOf(lease *coordinationv1.Lease) string {
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// renew renews h's Lease every third of the lease duration until ctx is
// done or the Lease is lost.
func (s *Storage) renew(ctx context.Context, leases leaseClient, h *held, name string) {
	ticker := time.NewTicker(s.duration / 3)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		err := s.renewOnce(ctx, leases, h, name)
		switch {
		case err == nil:
			if failing {
				s.logger.Info("lock renewed again", zap.String("lock", name))
			}
			failing = false
		case h.lost() != "":
			s.logger.Warn("lock lost", zap.String("lock", name), zap.String("to", h.lost()), zap.Error(err))
			return
		case ctx.Err() != nil:
			return
		case !failing:
			s.logger.Warn("cannot renew lock; trying again", zap.String("lock", name), zap.Duration("lease_duration", s.duration), zap.Error(err))
			failing = true
		}
	}
}

func (h *held) lost() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lostTo
}

// renewOnce writes a new renewTime into h's Lease, conditional on the
// version last written; a conflict is looked into: the Lease is lost if
// another holder has it or it is gone.
func (s *Storage) renewOnce(ctx context.Context, leases leaseClient, h *held, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lostTo != "" {
		return fmt.Errorf("lock %s: taken over by %s", name, h.lostTo)
	}
	for range 2 {
		lease := h.lease.DeepCopy()
		now := metav1.NewMicroTime(time.Now())
		lease.Spec.RenewTime = &now
		updated, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
		if err == nil {
			h.lease = updated
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("lock %s: renewing lease %s/%s: %w", name, s.Namespace, lease.Name, err)
		}
		cur, err := leases.Get(ctx, lease.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			h.lostTo = "(lease deleted)"
			return fmt.Errorf("lock %s: lease %s/%s was deleted", name, s.Namespace, lease.Name)
		case err != nil:
			return fmt.Errorf("lock %s: reading lease %s/%s: %w", name, s.Namespace, lease.Name, err)
		case !sameTenure(cur, lease):
			h.lostTo = holderOf(cur)
			return fmt.Errorf("lock %s: lease %s/%s taken over by %q", name, s.Namespace, lease.Name, h.lostTo)
		}
		h.lease = cur // still ours: write again on top of it
	}
	return fmt.Errorf("lock %s: lease %s/%s keeps changing", name, s.Namespace, h.lease.Name)
}

// RenewLockLease makes sure the lock name is still held, renewing its
// Lease now. certmagic calls it before each attempt of an order. The Lease
// keeps lease_duration rather than the duration asked for: it is renewed
// in the background for as long as it is held, and a longer Lease would
// only delay the take-over from a holder that died.
func (s *Storage) RenewLockLease(ctx context.Context, name string, _ time.Duration) error {
	_, leases, err := s.clients()
	if err != nil {
		return err
	}
	heldLocks.Lock()
	h := heldLocks.m[s.heldKey(s.leaseName(name))]
	isHeld := h != nil && h.stop != nil
	heldLocks.Unlock()
	if !isHeld {
		return fmt.Errorf("lock %s: not held by %s", name, s.HolderIdentity)
	}
	return s.renewOnce(ctx, leases, h, name)
}

// Unlock releases the lock name: it stops renewing its Lease and deletes
// it, if this holder still holds it. The Lease of another holder is never
// touched: releasing a lock that is not held here, or that another holder
// took over, is an error.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	_, leases, err := s.clients()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, unlockTimeout)
	defer cancel()
	leaseName := s.leaseName(name)
	key := s.heldKey(leaseName)
	heldLocks.Lock()
	h := heldLocks.m[key]
	if h == nil || h.stop == nil {
		heldLocks.Unlock()
		holder := "nobody"
		if cur, err := leases.Get(ctx, leaseName, metav1.GetOptions{}); err == nil {
			holder = fmt.Sprintf("%q", holderOf(cur))
		}
		return fmt.Errorf("lock %s: not held by %s (lease %s/%s is held by %s); left alone", name, s.HolderIdentity, s.Namespace, leaseName, holder)
	}
	delete(heldLocks.m, key)
	heldLocks.Unlock()
	defer close(h.released)

	h.stop()
	h.renewer.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lostTo != "" {
		return fmt.Errorf("lock %s: lease %s/%s was taken over by %s before it was released", name, s.Namespace, leaseName, h.lostTo)
	}
	for range 2 {
		uid, rv := h.lease.UID, h.lease.ResourceVersion
		// Deletes only the version this holder wrote last.
		err := leases.Delete(ctx, leaseName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("lock %s: deleting lease %s/%s: %w", name, s.Namespace, leaseName, err)
		}
		cur, err := leases.Get(ctx, leaseName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("lock %s: reading lease %s/%s: %w", name, s.Namespace, leaseName, err)
		case !sameTenure(cur, h.lease):
			return fmt.Errorf("lock %s: lease %s/%s was taken over by %q before it was released", name, s.Namespace, leaseName, holderOf(cur))
		}
		h.lease = cur
	}
	return fmt.Errorf("lock %s: lease %s/%s keeps changing", name, s.Namespace, leaseName)
}
