package ingress

import (
	"fmt"
	"strconv"
)

// limitRateConfig is what limit-rate and limit-rate-after say, in bytes.
type limitRateConfig struct {
	// rate is bytes per second, 0 for no limit; after is the bytes of
	// each response sent at full speed first.
	rate, after int64
}

// maxRateKilobytes bounds limit-rate and limit-rate-after (1 TiB).
const maxRateKilobytes = 1 << 30

// LimitRateModule (http.handlers.<name>) paces the responses of a path
// to the client (limit-rate).
const LimitRateModule = "ingress_limit_rate"

var limitRateFamily = family{
	annotations: []annotationSpec{
		{name: "limit-rate", doc: "Kilobytes (1024 bytes) per second at which each response of the Ingress's paths is sent to the client, once limit-rate-after kilobytes of it have gone at full speed; the limit is per request, so a client with two requests at once gets twice the rate. 0 is no limit. Default 0.",
			differs: "It applies whatever proxy-buffering says (ingress-nginx documents it as needing proxy-buffering on): responses stream here, so the backend's connection stays busy until the slowed response is sent. The pace is counted from the moment limit-rate-after is reached, without the allowance nginx counts from the start of the request (a response slow to start is not sent faster to catch up); headers and upgraded connections (WebSocket) are not limited."},
		{name: "limit-rate-after", doc: "Kilobytes of each response sent at full speed before limit-rate applies. Default 0."},
	},
	parse: func(r *reader, c *ingressConfig) {
		c.limitRate.rate = readKilobytes(r, "limit-rate")
		c.limitRate.after = readKilobytes(r, "limit-rate-after")
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		if l := c.limitRate; l.rate > 0 {
			p.limits.sendRate, p.limits.sendRateAfter = l.rate, l.after
		}
	},
}

// readKilobytes reads a whole number of kilobytes, 0 to maxRateKilobytes,
// and returns it in bytes; 0 when it is unset or invalid (ingress-nginx
// then keeps its default, no limit).
func readKilobytes(r *reader, name string) int64 {
	v, ok := r.value(name)
	if !ok || v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > maxRateKilobytes {
		r.invalid(name, fmt.Errorf("invalid value %s: want a whole number of kilobytes from 0 to %d, such as \"100\"", quoted(v), maxRateKilobytes))
		return 0
	}
	return n << 10
}
