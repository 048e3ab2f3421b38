package kube

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/caddy-ingress/caddy-ingress/kubeclient"
)

// JitterFactor scales the random delay added to Lease.RetryPeriod
// between two attempts to take the Lease, as in client-go's
// leaderelection; RenewDeadline must exceed RetryPeriod times it.
const JitterFactor = 1.2

// elector takes part in leader election with a coordination.k8s.io
// Lease. It is the algorithm of client-go's leaderelection.LeaderElector
// (tryAcquireOrRenew, renew, and release as with ReleaseOnCancel) over a
// LeaseLock, without that package: it links client-go's Clientset and
// informers of every API group. Candidates of either kind interoperate.
//
// A Lease held by another candidate counts as expired when it has not
// changed for its LeaseDurationSeconds on this candidate's clock, so that
// clocks that differ between nodes do not matter.
type elector struct {
	leases   kubeclient.Client[*coordinationv1.Lease, *coordinationv1.LeaseList]
	cfg      Lease
	logger   *zap.Logger
	onLeader func(identity string)

	// The fields below belong to the goroutine of run.

	// lease is the Lease as last read or written, nil before.
	lease *coordinationv1.Lease
	// observed is when lease last changed (its resourceVersion or spec),
	// on this candidate's clock.
	observed time.Time
	// reported is the holder last passed to onLeader.
	reported string
}

// checkLease checks the timings and identity of l as client-go's
// NewLeaderElector does.
func checkLease(l Lease) error {
	switch {
	case l.Duration <= l.RenewDeadline:
		return fmt.Errorf("leader election: leaseDuration must be greater than renewDeadline")
	case l.RenewDeadline <= time.Duration(JitterFactor*float64(l.RetryPeriod)):
		return fmt.Errorf("leader election: renewDeadline must be greater than retryPeriod*JitterFactor")
	case l.Duration < 1, l.RenewDeadline < 1, l.RetryPeriod < 1:
		return fmt.Errorf("leader election: durations must be greater than zero")
	case l.Identity == "":
		return fmt.Errorf("leader election: empty identity")
	}
	return nil
}

// run takes the Lease, waiting for it as long as ctx allows, then calls
// lead with a context that is done when the Lease is lost or ctx is done,
// and keeps renewing it. It gives the Lease up (holder empty, duration
// 1s) once lead has returned, or RenewDeadline after the term ended, and
// returns once the term is over and lead has returned; it returns
// at once, without lead, when ctx is done before the Lease was taken.
func (e *elector) run(ctx context.Context, lead func(context.Context)) {
	if !e.acquire(ctx) {
		return
	}
	term, cancel := context.WithCancel(ctx)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		lead(term)
	}()
	e.renew(term)
	cancel()
	// The term's writes (lead's) stop before the Lease is given up, so
	// that the next leader's do not overlap them. A lead that has not
	// returned within RenewDeadline does not keep the Lease.
	timer := time.NewTimer(e.cfg.RenewDeadline)
	select {
	case <-ended:
	case <-timer.C:
		e.logger.Warn("giving up the lease before the term's work has stopped", zap.String("lease", e.describe()), zap.Duration("renew_deadline", e.cfg.RenewDeadline))
	}
	timer.Stop()
	e.release()
	<-ended
}

// acquire tries to take the Lease every RetryPeriod, plus jitter, until it
// holds it (true) or ctx is done (false).
func (e *elector) acquire(ctx context.Context) bool {
	for {
		ok := e.tryAcquireOrRenew(ctx)
		e.reportLeader()
		if ok {
			return true
		}
		timer := time.NewTimer(wait.Jitter(e.cfg.RetryPeriod, JitterFactor))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}

// renew renews the Lease every RetryPeriod until ctx is done or a renewal
// did not succeed within RenewDeadline, retried every RetryPeriod.
func (e *elector) renew(ctx context.Context) {
	for {
		deadline, cancel := context.WithTimeout(ctx, e.cfg.RenewDeadline)
		err := wait.PollUntilContextCancel(deadline, e.cfg.RetryPeriod, true, func(ctx context.Context) (bool, error) {
			return e.tryAcquireOrRenew(ctx), nil
		})
		cancel()
		e.reportLeader()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			e.logger.Warn("lease not renewed in time", zap.String("lease", e.describe()), zap.Duration("renew_deadline", e.cfg.RenewDeadline))
			return
		}
		timer := time.NewTimer(e.cfg.RetryPeriod)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// tryAcquireOrRenew takes or renews the Lease once, and reports whether
// this candidate holds it now.
func (e *elector) tryAcquireOrRenew(ctx context.Context) bool {
	now := time.Now()
	// The fast path of the leader: update the Lease last written, and
	// read it only when that fails (a conflict).
	if e.leading() && e.valid(now) {
		if e.write(ctx, e.lease, e.spec(e.lease, now), now) == nil {
			return true
		}
	}
	lease, err := e.leases.Get(ctx, e.cfg.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.Name}}
		lease.Spec = e.spec(nil, now)
		created, err := e.leases.Create(ctx, lease, metav1.CreateOptions{})
		if err != nil {
			e.logger.Debug("creating lease", zap.String("lease", e.describe()), zap.Error(err))
			return false
		}
		e.lease, e.observed = created, now
		return true
	}
	if err != nil {
		e.logger.Debug("reading lease", zap.String("lease", e.describe()), zap.Error(err))
		return false
	}
	if e.lease == nil || lease.ResourceVersion != e.lease.ResourceVersion || !equality.Semantic.DeepEqual(lease.Spec, e.lease.Spec) {
		e.lease, e.observed = lease, now
	}
	if holder(lease) != "" && e.valid(now) && !e.leading() {
		return false
	}
	return e.write(ctx, lease, e.spec(lease, now), now) == nil
}

// spec is the Lease spec that makes this candidate the holder from now,
// after old (nil: none).
func (e *elector) spec(old *coordinationv1.Lease, now time.Time) coordinationv1.LeaseSpec {
	at := &metav1.MicroTime{Time: now}
	spec := coordinationv1.LeaseSpec{
		HolderIdentity:       new(e.cfg.Identity),
		LeaseDurationSeconds: new(int32(e.cfg.Duration / time.Second)),
		AcquireTime:          at,
		RenewTime:            at,
		LeaseTransitions:     new(int32(0)),
	}
	if old == nil {
		return spec
	}
	transitions := int32(0)
	if old.Spec.LeaseTransitions != nil {
		transitions = *old.Spec.LeaseTransitions
	}
	if holder(old) == e.cfg.Identity {
		spec.AcquireTime = old.Spec.AcquireTime
	} else {
		transitions++
	}
	spec.LeaseTransitions = &transitions
	return spec
}

// write updates lease with spec; on success the result is the Lease last
// seen, changed at now.
func (e *elector) write(ctx context.Context, lease *coordinationv1.Lease, spec coordinationv1.LeaseSpec, now time.Time) error {
	upd := lease.DeepCopy()
	upd.Spec = spec
	written, err := e.leases.Update(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		e.logger.Debug("updating lease", zap.String("lease", e.describe()), zap.Error(err))
		return err
	}
	e.lease, e.observed = written, now
	return nil
}

// release gives the Lease up if this candidate holds it, within
// RenewDeadline: the next candidate need not wait for it to expire.
func (e *elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RenewDeadline)
	defer cancel()
	for e.leading() && ctx.Err() == nil {
		lease, err := e.leases.Get(ctx, e.cfg.Name, metav1.GetOptions{})
		if err != nil {
			e.logger.Debug("releasing lease", zap.String("lease", e.describe()), zap.Error(err))
			return
		}
		if holder(lease) != e.cfg.Identity {
			return
		}
		now := &metav1.MicroTime{Time: time.Now()}
		spec := coordinationv1.LeaseSpec{
			HolderIdentity:       new(""),
			LeaseDurationSeconds: new(int32(1)),
			AcquireTime:          now,
			RenewTime:            now,
			LeaseTransitions:     lease.Spec.LeaseTransitions,
		}
		err = e.write(ctx, lease, spec, now.Time)
		if err == nil || !apierrors.IsConflict(err) {
			return
		}
	}
}

// reportLeader passes a new holder of the Lease to onLeader.
func (e *elector) reportLeader() {
	if h := holder(e.lease); h != e.reported {
		e.reported = h
		if e.onLeader != nil {
			e.onLeader(h)
		}
	}
}

// leading reports whether this candidate held the Lease when last seen.
func (e *elector) leading() bool {
	return e.lease != nil && holder(e.lease) == e.cfg.Identity
}

// valid reports whether the Lease last seen is unexpired at now.
func (e *elector) valid(now time.Time) bool {
	var seconds int32
	if e.lease != nil && e.lease.Spec.LeaseDurationSeconds != nil {
		seconds = *e.lease.Spec.LeaseDurationSeconds
	}
	return e.observed.Add(time.Duration(seconds) * time.Second).After(now)
}

func (e *elector) describe() string { return e.cfg.Namespace + "/" + e.cfg.Name }

// holder is the holder identity of lease, "" for none or a nil lease.
func holder(lease *coordinationv1.Lease) string {
	if lease == nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}
