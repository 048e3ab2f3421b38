package kube

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"

	"github.com/caddy-ingress/caddy-ingress/kubeclient"
)

// configMapSyncTimeout bounds how long a snapshot waits for the first list
// of the ConfigMaps that it is the first to name. One not listed by then
// (RBAC, an API server that does not answer) is left out until it is, and
// translation reports it missing.
const configMapSyncTimeout = 5 * time.Second

// configMaps runs one informer per ConfigMap that Config.ConfigMapRefs
// names, which lists and watches that name alone in its namespace (field
// selector metadata.name), so that no other ConfigMap is ever read, in
// any namespace. The worker reconciles them with every snapshot.
type configMaps struct {
	client  kubeclient.Interface
	health  *Health
	handler cache.ResourceEventHandler
	logger  *zap.Logger
	// wait bounds how long reconcile waits for new informers to sync.
	wait time.Duration

	mu sync.Mutex
	// running holds the informers by namespace/name.
	running map[string]*configMapInformer
	// stopped is set by shutdown; no informer starts after it.
	stopped bool
	// wg counts the goroutines of the informers.
	wg sync.WaitGroup
}

// configMapInformer is the informer of one ConfigMap.
type configMapInformer struct {
	key    string // namespace/name
	inf    cache.SharedIndexInformer
	cancel context.CancelFunc
}

func newConfigMaps(s *Source) *configMaps {
	return &configMaps{
		client:  s.cfg.Client,
		health:  s.cfg.Health,
		handler: s.objectHandler(resourceConfigMaps),
		logger:  s.logger,
		wait:    configMapSyncTimeout,
		running: make(map[string]*configMapInformer),
	}
}

// reconcile makes the running informers those of refs ("namespace/name"):
// it stops the others and starts the missing ones, bound to ctx, then
// waits until the new ones have listed their ConfigMap, for c.wait at
// most, so that the snapshot that first names a ConfigMap holds it.
func (c *configMaps) reconcile(ctx context.Context, refs []string) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	want := make(map[string]bool, len(refs))
	for _, ref := range refs {
		want[ref] = true
	}
	for key, ci := range c.running {
		if !want[key] {
			ci.cancel()
			delete(c.running, key)
			c.logger.Debug("no longer watching configmap", zap.String("configmap", key))
		}
	}
	var fresh []*configMapInformer
	for _, ref := range refs {
		if c.running[ref] != nil {
			continue
		}
		namespace, name, ok := strings.Cut(ref, "/")
		if !ok || namespace == "" || name == "" {
			continue
		}
		ci, err := c.newInformer(namespace, name)
		if err != nil {
			c.logger.Error("cannot watch configmap", zap.String("configmap", ref), zap.Error(err))
			continue
		}
		var infCtx context.Context
		infCtx, ci.cancel = context.WithCancel(ctx)
		c.running[ref] = ci
		c.wg.Go(func() { ci.inf.RunWithContext(infCtx) })
		c.logger.Debug("watching configmap", zap.String("configmap", ref))
		fresh = append(fresh, ci)
	}
	c.mu.Unlock()
	c.waitForSync(ctx, fresh)
}

// newInformer returns an informer, not started, of the ConfigMap
// namespace/name.
func (c *configMaps) newInformer(namespace, name string) (*configMapInformer, error) {
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	inf := newInformer(c.client, c.client.ConfigMaps(namespace), func(o *metav1.ListOptions) { o.FieldSelector = byName })
	if err := inf.SetWatchErrorHandlerWithContext(watchErrorHandler(resourceConfigMaps, c.health)); err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(c.handler); err != nil {
		return nil, err
	}
	return &configMapInformer{key: namespace + "/" + name, inf: inf}, nil
}

// waitForSync waits until the informers fresh have synced, for c.wait at
// most, or until ctx is done.
func (c *configMaps) waitForSync(ctx context.Context, fresh []*configMapInformer) {
	if len(fresh) == 0 {
		return
	}
	waitCtx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	var pending []string
	for _, ci := range fresh {
		synced := ci.inf.HasSyncedChecker()
		select {
		case <-synced.Done():
		case <-waitCtx.Done():
			if !cache.IsDone(synced) {
				pending = append(pending, ci.key)
			}
		}
	}
	if len(pending) > 0 && ctx.Err() == nil {
		c.logger.Warn("configmaps not listed in time; delivering without them",
			zap.Strings("configmaps", pending), zap.Duration("waited", c.wait))
	}
}

// list returns the ConfigMaps in the caches of the running informers, in
// no particular order, each looked up by its key.
func (c *configMaps) list() []*corev1.ConfigMap {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*corev1.ConfigMap
	for key, ci := range c.running {
		obj, ok, _ := ci.inf.GetStore().GetByKey(key)
		if cm, isCM := obj.(*corev1.ConfigMap); ok && isCM {
			out = append(out, cm)
		}
	}
	return out
}

// shutdown stops every informer and waits until they are done; none
// starts afterwards.
func (c *configMaps) shutdown() {
	c.mu.Lock()
	c.stopped = true
	for key, ci := range c.running {
		ci.cancel()
		delete(c.running, key)
	}
	c.mu.Unlock()
	c.wg.Wait()
}
