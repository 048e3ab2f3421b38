package caddyingress

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/source/manifests"
)

func init() {
	caddy.RegisterModule(ManifestsSource{})
}

// ManifestsSource reads Kubernetes manifests (multi-document YAML or JSON
// files, recursively) from a directory and watches it for changes, so the
// controller runs with no cluster. Kinds other than Ingress, IngressClass,
// Service, EndpointSlice, Secret and ConfigMap are ignored; every ConfigMap
// is delivered, named by an Ingress or not. A file that does not parse
// is reported with its name and line, and its last good content stays in
// service.
//
// The directory is first read when the config is provisioned (it is on
// local disk), so its routes are in service by the time Caddy says it is
// serving the config: no request gets 503 for want of them.
type ManifestsSource struct {
	// Dir is the directory to read. Relative paths are relative to the
	// working directory of the Caddy process.
	Dir string `json:"dir"`

	// PollInterval is how often the directory is checked for changes.
	// Polling works with editors that replace files and with mounted
	// ConfigMaps. Default: 1s.
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`

	dir      *manifests.Dir
	snap     *ingress.Snapshot // of the first read
	problems []ingress.Problem
	cancel   context.CancelFunc
	// done is closed when the watch ends.
	done chan struct{}
}

// CaddyModule returns the Caddy module information.
func (ManifestsSource) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "ingress.sources.manifests",
		New: func() caddy.Module { return new(ManifestsSource) },
	}
}

// Provision checks the settings and reads the directory once: a
// directory that cannot be read is an error of the config.
func (s *ManifestsSource) Provision(caddy.Context) error {
	if s.Dir == "" {
		return fmt.Errorf("dir is required")
	}
	if s.PollInterval < 0 {
		return fmt.Errorf("poll_interval must not be negative")
	}
	if s.PollInterval == 0 {
		s.PollInterval = caddy.Duration(time.Second)
	}
	s.dir = manifests.New(s.Dir)
	snap, problems, err := s.dir.Load()
	if err != nil {
		return err
	}
	s.snap, s.problems = snap, problems
	return nil
}

// Preloaded reports that the first snapshot is at hand: always, once
// provisioned.
func (s *ManifestsSource) Preloaded() bool { return s.snap != nil }

// Start hands the snapshot read at Provision over, then watches the
// directory from a goroutine of its own.
func (s *ManifestsSource) Start(update func(*ingress.Snapshot, []ingress.Problem)) error {
	if s.snap == nil {
		return fmt.Errorf("manifests source started before it was provisioned")
	}
	update(s.snap, s.problems)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	snap, problems := s.snap, s.problems
	s.snap, s.problems = nil, nil // the watcher keeps what it needs
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.dir.WatchFrom(ctx, time.Duration(s.PollInterval), snap, problems, update)
	}()
	return nil
}

// Stop ends the watch and waits for it: at most one read of the
// directory and one update.
func (s *ManifestsSource) Stop() error {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner = (*ManifestsSource)(nil)
	_ Source            = (*ManifestsSource)(nil)
	_ Preloader         = (*ManifestsSource)(nil)
)
