package caddyingress

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"

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
	src, err := newKubeSource(s)
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

// newKubeSource makes the client and the source for s.
func newKubeSource(s *KubernetesSource) (*kube.Source, error) {
	restConfig, err := s.restConfig()
	if err != nil {
		return nil, err
	}
	health := kube.NewHealth(s.logger, restConfig.Host)
	restConfig.Wrap(health.WrapTransport)
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	cfg := s.config
	cfg.Client = client
	cfg.Logger = s.logger
	cfg.Health = health
	src, err := kube.New(cfg)
	if err != nil {
		return nil, err
	}
	s.logger.Info("connecting", zap.String("api_server", restConfig.Host))
	return src, nil
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
