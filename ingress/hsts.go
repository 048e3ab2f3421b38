package ingress

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseHSTS validates a Strict-Transport-Security value (RFC 6797) and
// returns it in canonical form: "max-age=N", then "; includeSubDomains"
// and "; preload" when given. max-age is required; directive names are
// case-insensitive; empty directives are skipped; nothing else is
// accepted. "off" returns "".
func ParseHSTS(value string) (string, error) {
	if value == "off" {
		return "", nil
	}
	maxAge := -1
	var sub, preload bool
	for _, d := range strings.Split(value, ";") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue // RFC 6797 allows empty directives ("max-age=1;")
		}
		name, arg, hasArg := strings.Cut(d, "=")
		switch {
		case strings.EqualFold(name, "max-age") && hasArg:
			if maxAge >= 0 {
				return "", fmt.Errorf("invalid value %s: max-age given twice", quoted(value))
			}
			arg = strings.Trim(arg, `"`)
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 || arg == "" || arg[0] < '0' || arg[0] > '9' {
				return "", fmt.Errorf("invalid value %s: max-age must be a number of seconds", quoted(value))
			}
			maxAge = n
		case strings.EqualFold(d, "includeSubDomains") && !sub:
			sub = true
		case strings.EqualFold(d, "preload") && !preload:
			preload = true
		default:
			return "", fmt.Errorf(`invalid value %s: want "max-age=<seconds>" optionally followed by "; includeSubDomains" and "; preload", or "off"`, quoted(value))
		}
	}
	if maxAge < 0 {
		return "", fmt.Errorf("invalid value %s: max-age is required", quoted(value))
	}
	out := "max-age=" + strconv.Itoa(maxAge)
	if sub {
		out += "; includeSubDomains"
	}
	if preload {
		out += "; preload"
	}
	return out, nil
}

// hstsConfig is what the hsts annotation says: set, with value "" for
// none.
type hstsConfig struct {
	value string
	set   bool
}

var hstsFamily = family{
	annotations: []annotationSpec{
		{name: "hsts", doc: "The Strict-Transport-Security header of HTTPS responses, such as \"max-age=31536000; includeSubDomains\", or \"off\". Default: the app's hsts option, on hosts with TLS.",
			differs: "ingress-nginx sets HSTS only in its ConfigMap; here it is also an annotation."},
	},
	parse: func(r *reader, c *ingressConfig) {
		value, ok := r.value("hsts")
		if !ok {
			return
		}
		v, err := ParseHSTS(value)
		if err != nil {
			r.invalid("hsts", err)
			return
		}
		c.hsts = hstsConfig{value: v, set: true}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		switch {
		case c.hsts.set:
			p.headers.hsts = c.hsts.value
		case s.hostTLS:
			p.headers.hsts = s.opts.HSTS
		}
	},
}
