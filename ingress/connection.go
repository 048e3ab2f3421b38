package ingress

import "fmt"

var connectionFamily = family{
	annotations: []annotationSpec{
		{name: "connection-proxy-header", fails: ignoreIngress, doc: "The Connection header sent to the backend: keep-alive or close. With close the connection to the backend is also closed after the response, so each request opens a new one. Default: none, and connections to backends are kept alive.",
			differs: "Upgrade requests (WebSocket) keep Connection: Upgrade, where ingress-nginx replaces it and the upgrade fails. Over HTTP/2 to a backend no Connection header is sent (HTTP/2 has none); close still gives each request a connection of its own."},
	},
	parse: func(r *reader, c *ingressConfig) {
		v, ok := r.value("connection-proxy-header")
		if !ok || v == "" {
			return
		}
		if v != "close" && v != "keep-alive" {
			r.invalid("connection-proxy-header", fmt.Errorf("invalid value %s: want close or keep-alive", quoted(v)))
			return
		}
		c.connection = v
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.proxy.connection = c.connection
	},
}
