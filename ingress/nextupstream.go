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
			if err := rp.setTokens(v); err != nil {
				r.invalid("proxy-next-upstream", err)
			} else {
				c.retrySet.tokens = true
			}
		}
		if v, ok := r.value("proxy-next-upstream-tries"); ok {
			if err := rp.setTries(v); err != nil {
				r.invalid("proxy-next-upstream-tries", err)
			} else {
				c.retrySet.tries = true
			}
		}
		if v, ok := r.value("proxy-next-upstream-timeout"); ok {
			if err := rp.setTimeout(v); err != nil {
				r.invalid("proxy-next-upstream-timeout", err)
			} else {
				c.retrySet.timeout = true
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		rp := s.defaultRetry
		if c.retrySet.tokens {
			rp.off, rp.noTransport, rp.nonIdempotent, rp.statuses = c.retry.off, c.retry.noTransport, c.retry.nonIdempotent, c.retry.statuses
		}
		if c.retrySet.tries {
			rp.tries = c.retry.tries
		}
		if c.retrySet.timeout {
			rp.timeout = c.retry.timeout
		}
		p.proxy.retry = rp
	},
}

// retrySet says which parts of a retry policy an Ingress sets.
type retrySet struct {
	tokens, tries, timeout bool
}

// setTokens reads a proxy-next-upstream value.
func (rp *retryPolicy) setTokens(v string) error {
	tokens := strings.Fields(v)
	for _, tok := range tokens {
		if !slices.Contains(nextUpstreamTokens, tok) {
			return fmt.Errorf("invalid value %s: want some of %s", quoted(v), strings.Join(nextUpstreamTokens, " "))
		}
	}
	if len(tokens) == 0 {
		return fmt.Errorf("invalid value %s: want some of %s", quoted(v), strings.Join(nextUpstreamTokens, " "))
	}
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
	return nil
}

// setTries reads a proxy-next-upstream-tries value.
func (rp *retryPolicy) setTries(v string) error {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < 0 || n > 100:
		return fmt.Errorf("invalid value %s: want a number from 0 to 100", quoted(v))
	case n == 0:
		rp.tries = 6
	default:
		rp.tries = n
	}
	return nil
}

// setTimeout reads a proxy-next-upstream-timeout value.
func (rp *retryPolicy) setTimeout(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxTimeout {
		return fmt.Errorf("invalid value %s: want whole seconds from 0 to %d", quoted(v), maxTimeout)
	}
	rp.timeout = n
	return nil
}

// DefaultRetry checks the app-wide proxy-next-upstream settings: tokens
// ("" for ingress-nginx's default), tries and timeout (as strings; ""
// for the defaults).
func DefaultRetry(tokens, tries, timeout string) error {
	_, err := defaultRetry(Traffic{NextUpstream: tokens, NextUpstreamTries: tries, NextUpstreamTimeout: timeout})
	return err
}

func defaultRetry(t Traffic) (retryPolicy, error) {
	var rp retryPolicy
	if t.NextUpstream != "" {
		if err := rp.setTokens(t.NextUpstream); err != nil {
			return rp, fmt.Errorf("proxy_next_upstream: %w", err)
		}
	}
	if t.NextUpstreamTries != "" {
		if err := rp.setTries(t.NextUpstreamTries); err != nil {
			return rp, fmt.Errorf("proxy_next_upstream_tries: %w", err)
		}
	}
	if t.NextUpstreamTimeout != "" {
		if err := rp.setTimeout(t.NextUpstreamTimeout); err != nil {
			return rp, fmt.Errorf("proxy_next_upstream_timeout: %w", err)
		}
	}
	return rp, nil
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
