package ingress

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// rateLimitConfig is what the limit-* annotations say.
type rateLimitConfig struct {
	rps, rpm, connections int
	burstMultiplier       int
	// allow are the exempt client networks, sorted and comma-separated.
	allow string
}

// LimitModule (http.handlers.<name>) limits the requests of each client
// address, per Ingress.
const LimitModule = "ingress_limit"

var rateLimitFamily = family{
	annotations: []annotationSpec{
		{name: "limit-rps", fails: ignoreIngress, doc: "Requests per second from one client address to the Ingress (all its hosts and paths together), with a burst of limit-burst-multiplier times as many; excess requests get the app's limit_status_code (503). Counted per replica."},
		{name: "limit-rpm", fails: ignoreIngress, doc: "As limit-rps, per minute."},
		{name: "limit-connections", fails: ignoreIngress, doc: "Requests in flight at once from one client address to the Ingress; excess requests get the app's limit_status_code (503)."},
		{name: "limit-burst-multiplier", fails: ignoreIngress, doc: "The burst of limit-rps and limit-rpm, as a multiple of the rate. Default 5."},
		{name: "limit-whitelist", fails: ignoreIngress, doc: "Comma-separated client addresses or networks (CIDR) that no limit applies to; limit-allowlist is the same."},
		{name: "limit-allowlist", fails: ignoreIngress, doc: "As limit-whitelist."},
	},
	parse: func(r *reader, c *ingressConfig) {
		l := &c.rateLimit
		l.rps = limitCount(r, "limit-rps")
		l.rpm = limitCount(r, "limit-rpm")
		l.connections = limitCount(r, "limit-connections")
		l.burstMultiplier = 5
		if n := limitCount(r, "limit-burst-multiplier"); n > 0 {
			l.burstMultiplier = n
		}
		for _, name := range []string{"limit-allowlist", "limit-whitelist"} {
			v, ok := r.value(name)
			if !ok || l.allow != "" {
				continue
			}
			nets, err := ParseNetworks(v)
			if err != nil {
				r.invalid(name, err)
				continue
			}
			l.allow = strings.Join(nets, ",")
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		l := c.rateLimit
		if l.rps == 0 && l.rpm == 0 && l.connections == 0 || s.ing == nil {
			return
		}
		p.limits.rate = rateLimit{zone: key(s.ing), rps: l.rps, rpm: l.rpm, connections: l.connections,
			burstMultiplier: l.burstMultiplier, allow: l.allow, status: s.opts.Traffic.LimitStatus}
	},
}

// rateLimit is the rate limit of a path's Ingress.
type rateLimit struct {
	// zone names the counters: those of one Ingress are shared by its
	// paths.
	zone                  string
	rps, rpm, connections int
	burstMultiplier       int
	allow                 string
	// status answers excess requests; 0 is 503.
	status int
}

// limitCount reads a whole number of at least 1; 0 when unset.
func limitCount(r *reader, name string) int {
	v, ok := r.value(name)
	if !ok || v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1000000 {
		r.invalid(name, fmt.Errorf("invalid value %s: want a whole number", quoted(v)))
		return 0
	}
	return n
}

// maxNetworks bounds the networks of one list annotation.
const maxNetworks = 1000

// ParseNetworks reads a list of addresses and CIDR networks, separated by
// commas or white space (newlines too, as people write them), and returns
// them as canonical networks, sorted, once each.
func ParseNetworks(v string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		var p netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
			p = p.Masked()
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(f)
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if err != nil {
			return nil, fmt.Errorf("invalid value %s: %s is not an address or CIDR network", quoted(v), quoted(f))
		}
		out = append(out, p.String())
	}
	if len(out) > maxNetworks {
		return nil, fmt.Errorf("%d networks: at most %d are allowed", len(out), maxNetworks)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
