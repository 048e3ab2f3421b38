package kubestorage

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the storage from the global storage option:
//
//	storage kubernetes {
//		namespace <namespace>
//		kubeconfig <path>
//		prefix <prefix>
//		lease_duration <duration>
//		holder_identity <identity>
//	}
//
// Every setting is optional; `storage kubernetes` alone uses the pod's
// namespace and the in-cluster configuration.
func (s *Storage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		opt := d.Val()
		var field *string
		switch opt {
		case "namespace":
			field = &s.Namespace
		case "kubeconfig":
			field = &s.Kubeconfig
		case "prefix":
			field = &s.Prefix
		case "holder_identity":
			field = &s.HolderIdentity
		case "lease_duration":
		default:
			return d.Errf("storage kubernetes: unknown option %q", opt)
		}
		if !d.NextArg() {
			return d.Errf("storage kubernetes: %s needs a value", opt)
		}
		val := d.Val()
		if d.NextArg() {
			return d.Errf("storage kubernetes: %s takes one value", opt)
		}
		if field == nil {
			if s.LeaseDuration != 0 {
				return d.Errf("storage kubernetes: lease_duration is set twice")
			}
			dur, err := caddy.ParseDuration(val)
			if err != nil {
				return d.Errf("storage kubernetes: lease_duration %q: %v", val, err)
			}
			if dur < time.Second {
				return d.Errf("storage kubernetes: lease_duration %q: must be at least 1s", val)
			}
			s.LeaseDuration = caddy.Duration(dur)
			continue
		}
		if *field != "" {
			return d.Errf("storage kubernetes: %s is set twice", opt)
		}
		*field = val
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*Storage)(nil)
