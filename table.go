package caddyingress

import (
	"path"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// table is an immutable compiled route table. Requests find their handler
// with map lookups only: exact host, then one-label wildcard, then the
// rules without host; within a host, exact path, then the longest
// element-wise prefix; then the host's default, then the catch-all.
type table struct {
	exact    map[string]*hostTable
	wildcard map[string]*hostTable // keyed by the parent domain of "*.parent"
	any      *hostTable
	fallback caddyhttp.Handler

	// routes are the compiled routes this table uses, released when the
	// table is retired and no request uses it any more.
	routes []*compiledRoute

	inflight atomic.Int64
	retired  atomic.Bool
	drained  chan struct{}
	drainMu  sync.Once
}

type hostTable struct {
	exact    map[string]caddyhttp.Handler
	prefix   map[string]caddyhttp.Handler
	fallback caddyhttp.Handler
	// redirect serves plain-HTTP requests that match no path, when the
	// host redirects to HTTPS and has no fallback.
	redirect caddyhttp.Handler
	// clientAuth, when set, is the host's client certificate check, and
	// matchCN its compiled MatchCN.
	clientAuth *ingress.ClientAuth
	matchCN    *regexp.Regexp
}

// newTable builds a table for a translation result; handler gives the
// compiled handler of an action.
func newTable(res *ingress.Result, handler func(*ingress.Action) caddyhttp.Handler) *table {
	t := &table{
		exact:    make(map[string]*hostTable),
		wildcard: make(map[string]*hostTable),
		drained:  make(chan struct{}),
	}
	handlerOrNil := func(act *ingress.Action) caddyhttp.Handler {
		if act == nil {
			return nil
		}
		return handler(act)
	}
	for i := range res.Hosts {
		h := &res.Hosts[i]
		ht := &hostTable{
			exact:      make(map[string]caddyhttp.Handler),
			prefix:     make(map[string]caddyhttp.Handler),
			fallback:   handlerOrNil(h.Default),
			redirect:   handlerOrNil(h.Redirect),
			clientAuth: h.ClientAuth,
		}
		if ca := h.ClientAuth; ca != nil && ca.MatchCN != "" {
			// Translation checked that it compiles; if it did not, no
			// certificate would be authorized.
			if re, err := regexp.Compile(ca.MatchCN); err == nil {
				ht.matchCN = re
			} else {
				ht.matchCN = regexp.MustCompile(`\A\z.`)
			}
		}
		for j := range h.Paths {
			p := &h.Paths[j]
			if p.Type == ingress.PathExact {
				ht.exact[p.Path] = handler(&p.Action)
			} else {
				ht.prefix[p.Path] = handler(&p.Action)
			}
		}
		switch {
		case h.Host == "":
			t.any = ht
		case strings.HasPrefix(h.Host, "*."):
			t.wildcard[h.Host[2:]] = ht
		default:
			t.exact[h.Host] = ht
		}
	}
	t.fallback = handlerOrNil(res.Default)
	return t
}

// lookup returns the handler for a request's host and path, or nil;
// plain says the request came over plain HTTP.
func (t *table) lookup(host, reqPath string, plain bool) caddyhttp.Handler {
	hd, _ := t.lookupIn(t.host(host), reqPath, plain)
	return hd
}

// lookupIn is lookup for the host table h (may be nil) of the request's
// host; catchAll says the handler is the table's catch-all.
func (t *table) lookupIn(h *hostTable, reqPath string, plain bool) (hd caddyhttp.Handler, catchAll bool) {
	if h != nil {
		if hd := h.match(reqPath); hd != nil {
			return hd, false
		}
		if h.fallback != nil {
			return h.fallback, false
		}
		if plain && h.redirect != nil {
			return h.redirect, false
		}
	}
	return t.fallback, true
}

func (t *table) host(host string) *hostTable {
	if host != "" {
		if h := t.exact[host]; h != nil {
			return h
		}
		if i := strings.IndexByte(host, '.'); i > 0 {
			if h := t.wildcard[host[i+1:]]; h != nil {
				return h
			}
		}
	}
	return t.any
}

// match finds the path rule for p: an Exact rule for the whole path wins
// (it is as long as any prefix can be), then the longest Prefix rule whose
// path elements are a prefix of p's elements. Matching is case-sensitive.
func (h *hostTable) match(p string) caddyhttp.Handler {
	if hd, ok := h.exact[p]; ok {
		return hd
	}
	if len(h.prefix) == 0 {
		return nil
	}
	p = ingress.TrimPrefixPath(p)
	for {
		if hd, ok := h.prefix[p]; ok {
			return hd
		}
		if p == "/" {
			return nil
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}

// requestHost returns the lowercase host of a Host header without port or
// trailing dot; "" when it is not a plausible DNS name (an IP literal, or
// anything with other characters), so that such requests only match rules
// without host.
func requestHost(hostport string) string {
	host := hostport
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') {
		host = host[:i]
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return ""
		}
	}
	return host
}

// requestPath returns the path that rules match against: the decoded URL
// path with "." and ".." segments resolved and repeated slashes merged, as
// nginx normalizes before matching locations, so "/public/../admin" cannot
// reach a rule for "/public". A trailing slash is kept.
func requestPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	clean := path.Clean(p)
	if clean != "/" && strings.HasSuffix(p, "/") {
		clean += "/"
	}
	return clean
}

// acquire marks the table as in use by one request. Callers check
// afterwards that the table is still the current one (see App.current).
func (t *table) acquire() {
	t.inflight.Add(1)
}

func (t *table) release() {
	if t.inflight.Add(-1) == 0 && t.retired.Load() {
		t.drainMu.Do(func() { close(t.drained) })
	}
}

// retire marks the table as replaced; drained is closed once no request
// holds it any more.
func (t *table) retire() {
	t.retired.Store(true)
	if t.inflight.Load() == 0 {
		t.drainMu.Do(func() { close(t.drained) })
	}
}
