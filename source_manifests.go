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
// Service, EndpointSlice and Secret are ignored. A file that does not parse
// is reported with its name and line, and its last good content stays in
// service.
type ManifestsSource struct {
	// Dir is the directory to read. Relative paths are relative to the
	// working directory of the Caddy process.
	Dir string `json:"dir"`

	// PollInterval is how often the directory is checked for changes.
	// Polling works with editors that replace files and with mounted
	// ConfigMaps. Default: 1s.
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (ManifestsSource) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "ingress.sources.manifests",
		New: func() caddy.Module { return new(ManifestsSource) },
	}
}

// Provision checks the settings.
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
	return nil
}

// Run reads the directory once, hands the result over, then watches.
func (s *ManifestsSource) Run(ctx context.Context, update func(*ingress.Snapshot, []ingress.Problem)) error {
	dir := manifests.New(s.Dir)
	snap, problems, err := dir.Load()
	if err != nil {
		return err
	}
	update(snap, problems)
	go dir.Watch(ctx, time.Duration(s.PollInterval), update)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner = (*ManifestsSource)(nil)
	_ Source            = (*ManifestsSource)(nil)
)
