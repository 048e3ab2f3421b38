package ingress

import (
	"fmt"
	"strconv"
)

// maxTimeout bounds the proxy timeouts, in seconds (a day).
const maxTimeout = 86400

var timeoutsFamily = family{
	annotations: []annotationSpec{
		{name: "proxy-connect-timeout", doc: "Seconds to wait for a connection to a backend (a whole number, as nginx: \"5\", not \"5s\"); past it the request gets 504. Default: the app's proxy_connect_timeout (5)."},
		{name: "proxy-send-timeout", doc: "Seconds that a write of the request to the backend may wait. Default: the app's proxy_send_timeout (no limit).",
			differs: "ingress-nginx's default is 60."},
		{name: "proxy-read-timeout", doc: "Seconds that a read of the backend's response (its headers, or the next part of its body) may wait; past it the request gets 504. Default: the app's proxy_read_timeout (no limit).",
			differs: "ingress-nginx's default is 60, which also ends idle streams and WebSockets after a minute."},
	},
	parse: func(r *reader, c *ingressConfig) {
		c.timeouts.connect = readSeconds(r, "proxy-connect-timeout")
		c.timeouts.send = readSeconds(r, "proxy-send-timeout")
		c.timeouts.read = readSeconds(r, "proxy-read-timeout")
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		d := s.opts.Traffic
		p.proxy.timeouts = timeouts{
			connect: orDefault(c.timeouts.connect, d.ConnectTimeout),
			send:    orDefault(c.timeouts.send, d.SendTimeout),
			read:    orDefault(c.timeouts.read, d.ReadTimeout),
		}
	},
}

// readSeconds reads a timeout in whole seconds, 1 to maxTimeout; 0 when
// it is unset or invalid (the default then applies).
func readSeconds(r *reader, name string) int {
	v, ok := r.value(name)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxTimeout {
		r.invalid(name, fmt.Errorf("invalid value %s: want whole seconds from 1 to %d, such as \"60\"", quoted(v), maxTimeout))
		return 0
	}
	return n
}

func orDefault(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}
