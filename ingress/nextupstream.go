package ingress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// retryPolicy is when a request that failed goes to the next endpoint:
// proxy-next-upstream, -tries and -timeout. The zero value is
// ingress-nginx's default: on errors and timeouts, 3 tries in all, no
// time limit.
type retryPolicy struct {
	// off turns retries off.
	off bool
	// tries is the number of attempts in all; 0 means 3.
	tries int
	// timeout bounds the time spent trying, in seconds; 0 is no limit.
	timeout int
	// noTransport says errors and timeouts after a connection was made
	// are not retried (neither error nor timeout is listed).
	noTransport bool
	// nonIdempotent retries POST, PATCH and LOCK requests too.
	nonIdempotent bool
	// statuses are the backend statuses retried, such as "502,503".
	statuses string
}

// nextUpstreamTokens are what proxy-next-upstream may list.
var nextUpstreamTokens = []string{"error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504",
	"http_403", "http_404", "http_429", "non_idempotent", "off"}

var nextUpstreamFamily = family{
	annotations: []annotationSpec{
		{name: "proxy-next-upstream", doc: "When a failed request goes to the next endpoint, space-separated: error and timeout (a connection that fails, or a backend that fails or times out before answering), http_500, http_502, http_503, http_504, http_403, http_404, http_429 (a backend answering that status), non_idempotent (POST, PATCH and LOCK requests too, which are otherwise retried only when no connection was made), or off. Default: error timeout.",
			differs: "invalid_header is accepted and has no effect of its own; a connection that cannot be made is always retried unless off."},
		{name: "proxy-next-upstream-tries", doc: "How many endpoints a request may be tried on in all, 1 to 100; 0 means up to 5. Default 3."},
		{name: "proxy-next-upstream-timeout", doc: "Seconds that trying endpoints may take in all; 0 is no limit. Default 0."},
	},
	parse: func(r *reader, c *ingressConfig) {
		rp := &c.retry
		if v, ok := r.value("proxy-next-upstream"); ok {
			tokens := strings.Fields(v)
			for _, tok := range tokens {
				if !slices.Contains(nextUpstreamTokens, tok) {
					r.invalid("proxy-next-upstream", fmt.Errorf("invalid value %s: want some of %s", quoted(v), strings.Join(nextUpstreamTokens, " ")))
					tokens = nil
					break
				}
			}
			if len(tokens) > 0 {
				rp.off = slices.Contains(tokens, "off")
				rp.noTransport = !slices.Contains(tokens, "error") && !slices.Contains(tokens, "timeout")
				rp.nonIdempotent = slices.Contains(tokens, "non_idempotent")
				var statuses []string
				for _, tok := range tokens {
					if code, ok := strings.CutPrefix(tok, "http_"); ok {
						statuses = append(statuses, code)
					}
				}
				slices.Sort(statuses)
				rp.statuses = strings.Join(slices.Compact(statuses), ",")
			}
		}
		if v, ok := r.value("proxy-next-upstream-tries"); ok {
			n, err := strconv.Atoi(v)
			switch {
			case err != nil || n < 0 || n > 100:
				r.invalid("proxy-next-upstream-tries", fmt.Errorf("invalid value %s: want a number from 0 to 100", quoted(v)))
			case n == 0:
				rp.tries = 6
			default:
				rp.tries = n
			}
		}
		if v, ok := r.value("proxy-next-upstream-timeout"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxTimeout {
				r.invalid("proxy-next-upstream-timeout", fmt.Errorf("invalid value %s: want whole seconds from 0 to %d", quoted(v), maxTimeout))
			} else {
				rp.timeout = n
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.proxy.retry = c.retry
	},
}

// retries returns the number of retries after the first attempt.
func (rp retryPolicy) retries() int {
	switch {
	case rp.off:
		return 0
	case rp.tries == 0:
		return 2
	}
	return rp.tries - 1
}
