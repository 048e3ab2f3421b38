// Package kube is the Kubernetes API source: it watches Ingresses,
// IngressClasses, Services, EndpointSlices and Secrets with shared
// informers and hands consistent snapshots of them to the ingress app.
// Secrets of every type are watched, since annotations refer to Opaque
// ones too, but only their tls.crt, tls.key, ca.crt and ca.crl are kept,
// and only those that hold one of these are delivered.
//
// It is thin glue. Event handlers only note that something changed; one
// worker waits for the changes to settle, lists everything from the
// informer caches and calls update. Translation happens elsewhere.
//
// Reporting back is gated by leader election: every replica serves, but
// only the holder of a Lease writes the status of owned Ingresses and
// records Warning Events for their problems, so replicas neither fight
// over status nor record every Event once per replica.
package kube

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/record"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// Defaults of Config.
const (
	DefaultLeaseName     = "caddy-ingress-leader"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	DefaultDebounce      = 50 * time.Millisecond
	DefaultMaxDelay      = 500 * time.Millisecond
)

// reportingController names this controller in the Events it records.
const reportingController = "caddy-ingress"

// Config configures a Source.
type Config struct {
	// Client talks to the API server. Required.
	Client kubernetes.Interface

	// Namespaces are the namespaces whose Ingresses, Services,
	// EndpointSlices and Secrets are watched; empty watches all.
	// IngressClasses are cluster-scoped and always watched.
	Namespaces []string

	// PublishService, when its Name is set, is the Service whose
	// load-balancer addresses are written into the status of owned
	// Ingresses.
	PublishService types.NamespacedName

	// StatusAddresses are written into the status of owned Ingresses
	// instead: IP addresses as ip, names as hostname. With neither
	// StatusAddresses nor PublishService, status is left alone.
	StatusAddresses []string

	// Lease configures the leader election that gates status writes
	// and Events.
	Lease Lease

	// Logger logs; default: none.
	Logger *zap.Logger

	// Debounce is how long the source waits after a change for the
	// next one before it builds a snapshot. Default: 50ms.
	Debounce time.Duration
	// MaxDelay bounds that wait when changes keep coming. Default: 500ms.
	MaxDelay time.Duration
}

// Lease configures leader election with a coordination.k8s.io Lease.
type Lease struct {
	// Namespace of the Lease. Default: $POD_NAMESPACE, else "default".
	Namespace string
	// Name of the Lease. Default: caddy-ingress-leader.
	Name string
	// Identity of this candidate. Default: $POD_NAME (else the host
	// name) and a random suffix, so that two instances in one process,
	// as during a Caddy config reload, are different candidates.
	Identity string
	// Duration, RenewDeadline and RetryPeriod are those of
	// client-go's leaderelection. Defaults: 15s, 10s, 2s.
	Duration      time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
}

// Source watches the API server. Create it with New; Run it once.
type Source struct {
	cfg    Config
	logger *zap.Logger
	// status is what owned Ingresses get in status.loadBalancer.ingress
	// when StatusAddresses is set.
	status []networkingv1.IngressLoadBalancerIngress

	inf *informerSet
	// dirty holds a token when objects changed since the last snapshot.
	dirty chan struct{}
	// prev is the last snapshot delivered; it belongs to the worker.
	prev *ingress.Snapshot

	reports *reports
	// recorder records Events; set by Run unless a test set it.
	recorder record.EventRecorder
	// election configures leader election.
	election leaderelection.LeaderElectionConfig
	// leading receives the context of each leadership term.
	leading chan context.Context
	// written maps the namespace/name of Ingresses to the status this
	// source wrote, or found in place, while it owned them or when it
	// cleared them; it belongs to the reporting goroutine.
	written map[string]writtenStatus
	// missingService is whether the published Service was missing at
	// the last look, so that it is logged once.
	missingService bool

	// wg counts the goroutines of Run, informers included.
	wg sync.WaitGroup
}

// New returns a Source for cfg, with defaults filled in. It makes no API
// calls.
func New(cfg Config) (*Source, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("no kubernetes client")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	cfg.Debounce = cmp.Or(cfg.Debounce, DefaultDebounce)
	cfg.MaxDelay = cmp.Or(cfg.MaxDelay, DefaultMaxDelay)
	cfg.Lease.Name = cmp.Or(cfg.Lease.Name, DefaultLeaseName)
	cfg.Lease.Namespace = cmp.Or(cfg.Lease.Namespace, os.Getenv("POD_NAMESPACE"), "default")
	cfg.Lease.Duration = cmp.Or(cfg.Lease.Duration, DefaultLeaseDuration)
	cfg.Lease.RenewDeadline = cmp.Or(cfg.Lease.RenewDeadline, DefaultRenewDeadline)
	cfg.Lease.RetryPeriod = cmp.Or(cfg.Lease.RetryPeriod, DefaultRetryPeriod)
	if cfg.Lease.Identity == "" {
		id, err := DefaultIdentity()
		if err != nil {
			return nil, err
		}
		cfg.Lease.Identity = id
	}
	if cfg.PublishService.Name != "" && len(cfg.StatusAddresses) > 0 {
		return nil, fmt.Errorf("publish service and status addresses are mutually exclusive")
	}
	cfg.Namespaces = slices.Clone(cfg.Namespaces)
	slices.Sort(cfg.Namespaces)
	cfg.Namespaces = slices.Compact(cfg.Namespaces)

	s := &Source{
		cfg:     cfg,
		logger:  cfg.Logger,
		status:  StatusFromAddresses(cfg.StatusAddresses),
		dirty:   make(chan struct{}, 1),
		reports: newReports(),
		leading: make(chan context.Context),
		written: make(map[string]writtenStatus),
	}
	election, err := s.elector()
	if err != nil {
		return nil, err
	}
	s.election = election
	s.inf = newInformerSet(s)
	if s.inf.err != nil {
		return nil, s.inf.err
	}
	return s, nil
}

// DefaultIdentity returns $POD_NAME, or else the host name, followed by
// "_" and a random suffix.
func DefaultIdentity() (string, error) {
	name := os.Getenv("POD_NAME")
	if name == "" {
		var err error
		if name, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("leader election identity: %w", err)
		}
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("leader election identity: %w", err)
	}
	return name + "_" + hex.EncodeToString(suffix), nil
}

// Run starts the informers, waits for their caches to sync and delivers
// the first snapshot, then runs until ctx is done: a worker delivers a new
// snapshot after changes, and leader election decides whether this
// instance writes status and Events.
//
// Waiting for the caches has no timeout of its own: while the API server
// cannot be reached or refuses the lists (RBAC), Run blocks, and so does
// the start of Caddy, until ctx is done; the errors are logged. After
// that, watches reconnect by themselves with back-off, and an unreachable
// API server leaves the last snapshot in service.
func (s *Source) Run(ctx context.Context, update func(*ingress.Snapshot, []ingress.Problem)) error {
	start := time.Now()
	s.logger.Info("waiting for caches to sync", zap.Strings("namespaces", s.cfg.Namespaces))
	s.inf.start(ctx)
	s.wg.Go(func() {
		<-ctx.Done()
		s.inf.shutdown()
	})
	if err := s.inf.waitForSync(ctx); err != nil {
		return fmt.Errorf("waiting for caches to sync: %w", err)
	}
	select {
	case <-s.dirty:
	default:
	}
	s.prev = s.snapshot()
	s.logger.Info("caches synced", zap.Duration("duration", time.Since(start)),
		zap.Int("ingresses", len(s.prev.Ingresses)), zap.Int("services", len(s.prev.Services)), zap.Int("secrets", len(s.prev.Secrets)))
	update(s.prev, nil)

	if s.recorder == nil {
		// core/v1 Events: their correlator tells problems apart by
		// message, where events.k8s.io series merge every problem of an
		// Ingress into one Event by reason and action.
		broadcaster := record.NewBroadcaster(record.WithContext(ctx))
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.cfg.Client.CoreV1().Events("")})
		context.AfterFunc(ctx, broadcaster.Shutdown)
		s.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: reportingController})
	}
	s.wg.Go(func() { s.watch(ctx, update) })
	s.wg.Go(func() { s.elect(ctx) })
	s.wg.Go(func() { s.serve(ctx) })
	return nil
}

// watch delivers a snapshot whenever objects changed and the changes
// settled, until ctx is done.
func (s *Source) watch(ctx context.Context, update func(*ingress.Snapshot, []ingress.Problem)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		}
		if !s.settle(ctx) {
			return
		}
		snap := s.snapshot()
		if snap.Same(s.prev) {
			continue
		}
		s.prev = snap
		update(snap, nil)
	}
}

// settle waits until no change came for Debounce, or MaxDelay passed. It
// returns false when ctx is done.
func (s *Source) settle(ctx context.Context) bool {
	quiet := time.NewTimer(s.cfg.Debounce)
	defer quiet.Stop()
	deadline := time.NewTimer(s.cfg.MaxDelay)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-s.dirty:
			quiet.Reset(s.cfg.Debounce)
		case <-quiet.C:
			return true
		case <-deadline.C:
			return true
		}
	}
}

// changed notes that objects changed; it never blocks.
func (s *Source) changed() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// Report hands the outcome of a translation to the reporting goroutine:
// the Ingresses of our class and every current problem. It never blocks;
// only the latest report is kept.
func (s *Source) Report(owned []ingress.ObjectRef, problems []ingress.Problem) {
	s.reports.put(&report{owned: slices.Clone(owned), problems: slices.Clone(problems)})
}
