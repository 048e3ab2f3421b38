// Command caddy is Caddy with the caddy-ingress modules.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-ingress/caddy-ingress"
)

func main() {
	caddycmd.Main()
}
