package ingress

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// bodyConfig is what proxy-body-size and client-body-buffer-size say.
type bodyConfig struct {
	// size is the largest request body in bytes, 0 for no limit; set says
	// the Ingress chose it.
	size int64
	set  bool
}

var bodySizeFamily = family{
	annotations: []annotationSpec{
		{name: "proxy-body-size", doc: "The largest request body, in nginx size syntax: bytes, or with k, m or g (8m is 8 MiB); 0 for no limit. A request declaring a larger Content-Length gets 413 before the backend is contacted; a chunked body is cut off with 413 once it grows past the limit. Default: the app's proxy_body_size (no limit).",
			differs: "ingress-nginx defaults to 1m and reads a chunked body whole before proxying it, so its backend sees nothing of one that is too large; here the backend may have received its start."},
		{name: "client-body-buffer-size", fails: ignoreIngress, doc: "Accepted for compatibility (nginx size syntax) and has no effect: Caddy streams request bodies instead of buffering them to disk."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("proxy-body-size"); ok {
			if n, err := ParseSize(v); err != nil {
				r.invalid("proxy-body-size", err)
			} else {
				c.body = bodyConfig{size: n, set: true}
			}
		}
		if v, ok := r.value("client-body-buffer-size"); ok && v != "" {
			if !bufferSizeValue.MatchString(v) {
				r.invalid("client-body-buffer-size", fmt.Errorf("invalid value %s: want a size such as 16k", quoted(v)))
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.limits.bodySize = s.opts.Traffic.BodySize
		if c.body.set {
			p.limits.bodySize = c.body.size
		}
	},
}

// bufferSizeValue is what ingress-nginx accepts as a buffer size.
var bufferSizeValue = regexp.MustCompile(`^[0-9]+[bBkKmMgG]?$`)

// ParseSize reads an nginx size: a number of bytes, optionally followed
// by k, m or g (either case) for KiB, MiB or GiB.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:len(s)-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:len(s)-1]
		case 'g', 'G':
			mult, s = 1<<30, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || s == "" || s[0] < '0' || s[0] > '9' || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid value %s: want a size such as 8m, 512k, 1g or 0 (no limit)", quoted(v))
	}
	return n * mult, nil
}
