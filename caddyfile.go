package caddyingress

// The Caddyfile global option and directive live in their own package,
// which does not import this one; importing it here gives every build
// with this module (xcaddy build --with) Caddyfile support.
import _ "github.com/caddy-ingress/caddy-ingress/caddyfile"
