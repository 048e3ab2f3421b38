package ingress

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// upstreamConfig is what upstream-vhost and service-upstream say.
type upstreamConfig struct {
	// vhost replaces the Host header sent to the backend.
	vhost string
	// serviceUpstream dials the Service's cluster IP instead of its
	// endpoints.
	serviceUpstream bool
}

// vhostChars is a host name, optionally with a port: what a Host header
// may hold.
var vhostChars = regexp.MustCompile(`^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?$`)

// ValidUpstreamHost reports whether v may be sent as the Host header to a
// backend (upstream-vhost): a host name, optionally with a port.
func ValidUpstreamHost(v string) bool { return vhostChars.MatchString(v) }

// serverNameChars are the characters ingress-nginx allows in server names
// (its IsValidRegex).
var serverNameChars = regexp.MustCompile(`^[/\-._~a-zA-Z0-9:^$\[\]()\{\}*+?|&=\\]*$`)

var upstreamFamily = family{
	annotations: []annotationSpec{
		{name: "upstream-vhost", fails: ignoreIngress, doc: "The Host header sent to the backend, such as internal.example.com; X-Forwarded-Host keeps the client's.",
			differs: "Only a host name with an optional port is used; a value with nginx variables ($host) is reported and the client's Host is sent."},
		{name: "service-upstream", doc: "Proxy to the Service's cluster IP and port instead of its endpoints (one upstream: kube-proxy balances). A Service without a cluster IP is reported and its endpoints are used. Default false."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("upstream-vhost"); ok && strings.TrimSpace(v) != "" {
			v = strings.TrimSpace(v)
			switch {
			case ValidUpstreamHost(v):
				c.upstream.vhost = v
			case serverNameChars.MatchString(v):
				r.warn("upstream-vhost", fmt.Sprintf("%s: nginx variables and patterns are not supported; the client's Host is sent", quoted(v)))
			default:
				r.invalid("upstream-vhost", fmt.Errorf("invalid value %s: want a host name, optionally with :port", quoted(v)))
			}
		}
		if v, ok := r.parseBool("service-upstream"); ok {
			c.upstream.serviceUpstream = v
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.headers.upstreamHost = c.upstream.vhost
		if c.upstream.serviceUpstream && s.target.clusterIP != "" {
			p.proxy.dial = net.JoinHostPort(s.target.clusterIP, strconv.Itoa(int(s.target.port)))
		}
	},
}
