package kube

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// Retry delays of a reporting pass that failed.
const (
	retryMin = time.Second
	retryMax = time.Minute
)

// newElector returns the candidate of s in leader election, checked.
func (s *Source) newElector() (*elector, error) {
	l := s.cfg.Lease
	if err := checkLease(l); err != nil {
		return nil, err
	}
	return &elector{
		leases: s.cfg.Client.Leases(l.Namespace),
		cfg:    l,
		logger: s.logger,
		onLeader: func(identity string) {
			if identity != "" && identity != l.Identity {
				s.logger.Info("leader elected", zap.String("identity", identity))
			}
		},
	}, nil
}

// elect takes part in leader election until ctx is done. A lost lease
// makes this instance a candidate again. Stopping (a config reload, a
// rolling update) hands the lease over at once instead of after its
// duration.
func (s *Source) elect(ctx context.Context) {
	for ctx.Err() == nil {
		s.election.run(ctx, func(term context.Context) {
			select {
			case s.leading <- term:
			case <-term.Done():
			}
		})
	}
}

// serve runs the leadership terms of this instance one after the other,
// so that a term's writes are over before the next term starts.
func (s *Source) serve(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case term := <-s.leading:
			s.lead(term)
		}
	}
}

// lead reports while this instance holds the lease, that is until ctx is
// done: Events for new problems and the status of Ingresses, after every
// report, when the published Service changes, and again after a failure.
func (s *Source) lead(ctx context.Context) {
	s.logger.Info("leading", zap.String("lease", s.cfg.Lease.Namespace+"/"+s.cfg.Lease.Name), zap.String("identity", s.cfg.Lease.Identity))
	// A new leader records Events for every current problem once, since
	// it cannot know which ones the previous leader recorded.
	recorded := make(map[ingress.Problem]struct{})
	backoff := retryMin
	var retry <-chan time.Time
	for {
		if rep := s.reports.get(); rep != nil {
			recorded = s.recordEvents(rep.problems, recorded)
			err := s.writeStatus(ctx, rep.owned)
			switch {
			case ctx.Err() != nil:
			case err != nil:
				s.logger.Warn("writing ingress status", zap.Error(err), zap.Duration("retry_in", backoff))
				retry = time.After(backoff)
				backoff = min(2*backoff, retryMax)
			default:
				retry = nil
				backoff = retryMin
			}
		}
		select {
		case <-ctx.Done():
			s.logger.Info("stopped leading")
			return
		case <-s.reports.wake:
		case <-retry:
		}
	}
}
