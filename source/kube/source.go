// Package kube is the Kubernetes API source: it watches Ingresses,
// IngressClasses, Services, EndpointSlices and Secrets with shared
// informers and hands consistent snapshots of them to the ingress app.
// Secrets of every type are watched, since annotations refer to Opaque
// ones too, but only their tls.crt, tls.key, ca.crt and ca.crl are kept,
// and only those that hold one of these are delivered. ConfigMaps are
// watched only when named (Config.ConfigMapRefs), each on its own.
//
// It is thin glue. Event handlers only note that something changed; one
// worker lists everything from the informer caches and calls update: at
// once after a lone change, and once the changes pause after a burst.
// Translation happens elsewhere.
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
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/kubeclient"
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
	Client kubeclient.Interface

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

	// Health reports list and watch failures. Default: one that logs
	// to Logger and does not see successes (see Health.WrapTransport).
	Health *Health

	// Debounce is how long a burst of changes must pause before the
	// source builds a snapshot of them. A change that comes when the
	// source has been idle for Debounce (it built and applied no
	// snapshot meanwhile) is applied at once. One that comes sooner, such
	// as the second object of a `kubectl apply` or of a re-list, is part
	// of a burst: the source waits until no change came for Debounce, so
	// that the rest of the burst is applied with it, in one snapshot.
	// Default: 50ms.
	Debounce time.Duration
	// MaxDelay bounds that wait when changes keep coming, so that a long
	// burst is applied in steps. Default: 500ms.
	MaxDelay time.Duration

	// ConfigMapRefs returns the ConfigMaps, as sorted "namespace/name",
	// that translating ings reads (see ingress.ConfigMapRefs). Only
	// those are watched, each by an informer of its own that lists and
	// watches that name alone, in any namespace, whatever Namespaces
	// says; snapshots hold those that exist. The worker calls it for
	// every snapshot, with that snapshot's Ingresses, which it must not
	// modify. Default: nil, no ConfigMap is watched.
	ConfigMapRefs func(ings []*networkingv1.Ingress) []string
}

// Lease configures leader election with a coordination.k8s.io Lease.
type Lease struct {
	// Namespace of the Lease. Default: $POD_NAMESPACE, else the pod's
	// own, else "default".
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
	// dirty holds a token when objects changed since the last snapshot;
	// pending says which.
	dirty   chan struct{}
	pending pending
	// baseMu guards base, the last snapshot built, which the next one
	// patches.
	baseMu sync.Mutex
	base   *ingress.Snapshot
	// refs are the ConfigMaps that Config.ConfigMapRefs named for the
	// Ingresses refsFor, under baseMu.
	refs    []string
	refsFor []*networkingv1.Ingress
	refsSet bool

	// subMu serializes deliveries; it guards subs and prev.
	subMu sync.Mutex
	subs  []*subscriber
	// prev is the last snapshot delivered, nil before the caches synced.
	prev *ingress.Snapshot

	reports *reports
	// recorder records Events; set by Run unless a test set it.
	recorder record.EventRecorder
	// election is this instance's candidate in leader election.
	election *elector
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
	if cfg.Health == nil {
		cfg.Health = NewHealth(cfg.Logger, "the API server")
	}
	cfg.Debounce = cmp.Or(cfg.Debounce, DefaultDebounce)
	cfg.MaxDelay = cmp.Or(cfg.MaxDelay, DefaultMaxDelay)
	cfg.Lease.Name = cmp.Or(cfg.Lease.Name, DefaultLeaseName)
	cfg.Lease.Namespace = cmp.Or(cfg.Lease.Namespace, kubeclient.PodNamespace(), "default")
	cfg.Lease.Duration = cmp.Or(cfg.Lease.Duration, DefaultLeaseDuration)
	cfg.Lease.RenewDeadline = cmp.Or(cfg.Lease.RenewDeadline, DefaultRenewDeadline)
	cfg.Lease.RetryPeriod = cmp.Or(cfg.Lease.RetryPeriod, DefaultRetryPeriod)
	cfg.Lease.Identity = cmp.Or(cfg.Lease.Identity, DefaultIdentity())
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
	election, err := s.newElector()
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
// "_" and a random suffix: each source its own, so that a config reload
// (a new source while the old one stops) is a new candidate.
func DefaultIdentity() string {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix) // never fails (crypto/rand)
	return kubeclient.PodName() + "_" + hex.EncodeToString(suffix)
}

// Start starts the informers and the goroutines of the source, bound to
// ctx, and returns at once: it makes no API call itself. The caches sync
// in the background; while the API server cannot be reached or refuses the
// lists (RBAC), the errors are logged (see Health) and the source keeps
// trying, with back-off. Once synced, the first snapshot goes to every
// subscriber, and a worker delivers a new one after changes; leader
// election decides whether this source writes status and Events. An
// unreachable API server then leaves the last snapshot in service.
//
// Call Start once. Wait waits for what it started once ctx is done.
func (s *Source) Start(ctx context.Context) {
	s.logger.Info("waiting for caches to sync", zap.Strings("namespaces", s.cfg.Namespaces))
	if s.recorder == nil {
		// core/v1 Events: their correlator tells problems apart by
		// message, where events.k8s.io series merge every problem of an
		// Ingress into one Event by reason and action.
		broadcaster := record.NewBroadcaster(record.WithContext(ctx))
		broadcaster.StartRecordingToSink(kubeclient.EventSink{Client: s.cfg.Client})
		s.recorder = broadcaster.NewRecorder(kubeclient.Scheme, corev1.EventSource{Component: reportingController})
		s.wg.Go(func() {
			<-ctx.Done()
			broadcaster.Shutdown()
		})
	}
	s.inf.start(ctx)
	s.wg.Go(func() {
		<-ctx.Done()
		s.inf.shutdown()
	})
	s.wg.Go(func() {
		if !s.sync(ctx) {
			return
		}
		s.wg.Go(func() { s.elect(ctx) })
		s.wg.Go(func() { s.serve(ctx) })
		s.watch(ctx)
	})
}

// sync waits until the caches are synced and delivers the first
// snapshot; false when ctx was done first.
func (s *Source) sync(ctx context.Context) bool {
	start := time.Now()
	if err := s.inf.waitForSync(ctx); err != nil {
		return false
	}
	select {
	case <-s.dirty:
	default:
	}
	snap := s.snapshot(ctx)
	if ctx.Err() != nil {
		return false
	}
	s.logger.Info("caches synced", zap.Duration("duration", time.Since(start)),
		zap.Int("ingresses", len(snap.Ingresses)), zap.Int("services", len(snap.Services)), zap.Int("secrets", len(snap.Secrets)),
		zap.Int("configmaps", len(snap.ConfigMaps)))
	s.deliver(snap)
	return true
}

// Synced reports whether the caches have synced and the first snapshot
// was delivered: a new subscriber gets a snapshot at once.
func (s *Source) Synced() bool {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	return s.prev != nil
}

// Subscribe adds update to the functions that get every snapshot. When
// the source has synced, update gets the latest snapshot before Subscribe
// returns. Calls to one update never overlap. The returned function ends
// the subscription; once it returns, update is not called again.
func (s *Source) Subscribe(update func(*ingress.Snapshot, []ingress.Problem)) (unsubscribe func()) {
	sub := &subscriber{update: update}
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.subs = append(s.subs, sub)
	if s.prev != nil {
		update(s.prev, nil)
	}
	return func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		s.subs = slices.DeleteFunc(s.subs, func(x *subscriber) bool { return x == sub })
	}
}

// subscriber is one Subscribe call; a pointer, so that the same function
// may subscribe twice.
type subscriber struct {
	update func(*ingress.Snapshot, []ingress.Problem)
}

// deliver makes snap the latest snapshot and hands it to every
// subscriber, one after the other.
func (s *Source) deliver(snap *ingress.Snapshot) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.prev = snap
	for _, sub := range s.subs {
		sub.update(snap, nil)
	}
}

// Wait waits until the goroutines of Start are done, after its context
// is done, for at most timeout; it reports whether they are.
func (s *Source) Wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// watch delivers a snapshot whenever objects changed, until ctx is done.
// It is called right after the first snapshot. A change that comes when
// the worker has been idle for Debounce since its last snapshot is taken
// at once (the leading edge); one that comes sooner, while the worker was
// busy included, is part of a burst, and settle waits for the burst to
// pause.
func (s *Source) watch(ctx context.Context) {
	idle := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		}
		if time.Since(idle) < s.cfg.Debounce && !s.settle(ctx) {
			return
		}
		snap := s.snapshot(ctx)
		if ctx.Err() != nil {
			return
		}
		if !snap.Same(s.latest()) {
			s.deliver(snap)
		}
		idle = time.Now()
	}
}

// latest returns the snapshot delivered last.
func (s *Source) latest() *ingress.Snapshot {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	return s.prev
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

// Refresh makes the source build a snapshot soon, as after a change of
// objects, and deliver it if anything differs. Call it when
// Config.ConfigMapRefs may name other ConfigMaps for the same Ingresses.
// It never blocks.
func (s *Source) Refresh() {
	s.pending.all(refreshConfigMapRefs)
	s.changed()
}

// refreshConfigMapRefs is the pending entry that makes the next snapshot
// ask Config.ConfigMapRefs again.
const refreshConfigMapRefs = "configmap-refs"

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
