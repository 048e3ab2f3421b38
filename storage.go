package caddyingress

// The storage module caddy.storage.kubernetes (certificates in Secrets,
// locks in Leases) is in its own package; importing it here puts it into
// every build with this module.
import _ "github.com/caddy-ingress/caddy-ingress/storage"
