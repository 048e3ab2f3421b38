package caddyingress

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/kubeclient"
	"github.com/caddy-ingress/caddy-ingress/source/kube"
)

// sharedSources holds the running Kubernetes sources by configuration
// (the KubernetesSource's JSON), across config reloads.
var sharedSources = caddy.NewUsagePool()

// sourceStopTimeout bounds how long stopping the watches waits for their
// goroutines, whatever the API server does.
const sourceStopTimeout = 5 * time.Second

// sharedSource is the kube.Source of the KubernetesSource instances that
// are configured alike: those of the old and the new config during a
// reload. Sharing it, a reload neither lists every object again nor joins
// leader election as a new candidate, and the new config has the current
// objects at once. It runs from the first Start until the last instance
// is cleaned up.
type sharedSource struct {
	mu     sync.Mutex
	src    *kube.Source
	err    error
	cancel context.CancelFunc
	logger *zap.Logger

	// refsMu guards refs. It is not mu: Destruct holds mu while it
	// waits for the source's worker, which calls configMapRefs.
	refsMu sync.Mutex
	// refs are the functions with which the started instances name
	// ConfigMaps.
	refs map[*KubernetesSource]func([]*networkingv1.Ingress) []string
}

// start starts the source with the settings of s, the first time it is
// called; later calls return the same source. It reads local files only
// (the kubeconfig, or the service account's token and CA) and makes no
// API call.
func (sh *sharedSource) start(s *KubernetesSource) (*kube.Source, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.src != nil || sh.err != nil {
		return sh.src, sh.err
	}
	src, err := newKubeSource(s, sh.configMapRefs)
	if err != nil {
		// A config that cannot start is not loaded; the next load of the
		// same config comes with a new sharedSource.
		sh.err = err
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	sh.src, sh.cancel, sh.logger = src, cancel, s.logger
	src.Start(ctx)
	return src, nil
}

// newKubeSource makes the client and the source for s, which names the
// ConfigMaps to watch with refs.
func newKubeSource(s *KubernetesSource, refs func([]*networkingv1.Ingress) []string) (*kube.Source, error) {
	restConfig, err := s.restConfig()
	if err != nil {
		return nil, err
	}
	health := kube.NewHealth(s.logger, restConfig.Host)
	restConfig.Wrap(health.WrapTransport)
	client, err := kubeclient.New(restConfig)
	if err != nil {
		return nil, err
	}
	cfg := s.config
	cfg.Client = client
	cfg.Logger = s.logger
	cfg.Health = health
	cfg.ConfigMapRefs = refs
	src, err := kube.New(cfg)
	if err != nil {
		return nil, err
	}
	s.logger.Info("connecting", zap.String("api_server", restConfig.Host))
	return src, nil
}

// nameConfigMaps makes refs the function with which s names the ConfigMaps
// it needs; nil removes it.
func (sh *sharedSource) nameConfigMaps(s *KubernetesSource, refs func([]*networkingv1.Ingress) []string) {
	sh.refsMu.Lock()
	defer sh.refsMu.Unlock()
	if refs == nil {
		delete(sh.refs, s)
		return
	}
	if sh.refs == nil {
		sh.refs = make(map[*KubernetesSource]func([]*networkingv1.Ingress) []string)
	}
	sh.refs[s] = refs
}

// configMapRefs returns the ConfigMaps that any started instance names for
// ings, sorted and distinct: the source watches them all.
func (sh *sharedSource) configMapRefs(ings []*networkingv1.Ingress) []string {
	sh.refsMu.Lock()
	fns := slices.Collect(maps.Values(sh.refs))
	sh.refsMu.Unlock()
	var out []string
	for _, refs := range fns {
		out = append(out, refs(ings)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// synced reports whether the source runs and has synced.
func (sh *sharedSource) synced() bool {
	sh.mu.Lock()
	src := sh.src
	sh.mu.Unlock()
	return src != nil && src.Synced()
}

// Destruct stops the source, once no config uses it, and waits for its
// goroutines for sourceStopTimeout at most.
func (sh *sharedSource) Destruct() error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.src == nil {
		return nil
	}
	sh.cancel()
	if !sh.src.Wait(sourceStopTimeout) {
		sh.logger.Warn("kubernetes watches did not stop in time; leaving them", zap.Duration("waited", sourceStopTimeout))
	}
	sh.src = nil
	return nil
}

// Interface guards
var _ caddy.Destructor = (*sharedSource)(nil)
