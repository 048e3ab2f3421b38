package caddyingress

import (
	"net/http"
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
	exact  map[string]caddyhttp.Handler
	prefix map[string]caddyhttp.Handler
	// regex, on a host whose paths are regular expressions, are its
	// paths in the order they are tried (exact and prefix are empty).
	regex    []regexRule
	fallback caddyhttp.Handler
	// redirect serves requests that match no path, when the host has no
	// fallback: it redirects as the host's oldest Ingress does, and
	// passes the others to the catch-all.
	redirect caddyhttp.Handler
	// appRoot, when set, redirects requests for "/" there (302).
	appRoot string
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
	t.fallback = handlerOrNil(res.Default)
	for i := range res.Hosts {
		h := &res.Hosts[i]
		ht := &hostTable{
			exact:      make(map[string]caddyhttp.Handler),
			prefix:     make(map[string]caddyhttp.Handler),
			fallback:   handlerOrNil(h.Default),
			appRoot:    h.AppRoot,
			clientAuth: h.ClientAuth,
		}
		if h.Redirect != nil {
			next := t.fallback
			if next == nil {
				next = notFound
			}
			ht.redirect = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				if location, code, ok := redirectFor(h.Redirect, r); ok {
					return sendRedirect(w, location, code)
				}
				return next.ServeHTTP(w, r)
			})
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
			switch p.Type {
			case ingress.PathExact:
				ht.exact[p.Path] = handler(&p.Action)
			case ingress.PathRegex:
				// Translation checked that it compiles.
				if rule, err := newRegexRule(p.Path, handler(&p.Action)); err == nil {
					ht.regex = append(ht.regex, rule)
				}
			default:
				ht.prefix[p.Path] = handler(&p.Action)
			}
		}
		for _, name := range append([]string{h.Host}, h.Aliases...) {
			switch {
			case name == "":
				t.any = ht
			case strings.HasPrefix(name, "*."):
				t.wildcard[name[2:]] = ht
			default:
				t.exact[name] = ht
			}
		}
	}
	return t
}

// lookup returns the handler for a request's host and path, or nil;
func (t *table) lookup(host, reqPath string) caddyhttp.Handler {
	hd, _ := t.lookupIn(t.host(host), reqPath)
	return hd
}

// lookupIn is lookup for the host table h (may be nil) of the request's
// host; catchAll says the handler is the table's catch-all.
func (t *table) lookupIn(h *hostTable, reqPath string) (hd caddyhttp.Handler, catchAll bool) {
	if h != nil {
		if hd := h.match(reqPath); hd != nil {
			return hd, false
		}
		if h.fallback != nil {
			return h.fallback, false
		}
		if h.redirect != nil {
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
	if h.regex != nil {
		return matchRegex(h.regex, p)
	}
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
