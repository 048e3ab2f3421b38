package caddyingress

import (
	"net/http"
	"path"
	"regexp"
	"slices"
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
	exact    hostMap
	wildcard hostMap // keyed by the parent domain of "*.parent"
	any      *hostTable
	fallback caddyhttp.Handler
	// catchAll holds the compiled route of fallback.
	catchAll *hostTable
	// gen numbers the tables an app builds, in order.
	gen uint64
	// clientAuthHosts counts the host tables that ask for client
	// certificates.
	clientAuthHosts int

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
	// names are the host names it serves; routes the compiled routes its
	// handlers come from (nil for handlers made otherwise).
	names  []string
	routes []*compiledRoute
	// series are the request-metric series its handlers count into,
	// one entry per handler made for it (also those a later path of the
	// same name replaced), for requestMetrics.forget.
	series []*routeSeries
}

// handlerFunc gives the handler of an action, and the compiled route it
// comes from if any.
type handlerFunc func(*ingress.Action) (caddyhttp.Handler, *compiledRoute)

// newTable builds a table for a translation result; handler gives the
// compiled handler of an action.
func newTable(res *ingress.Result, handler func(*ingress.Action) caddyhttp.Handler) *table {
	return nextTable(nil, nil, res, func(act *ingress.Action) (caddyhttp.Handler, *compiledRoute) { return handler(act), nil }, func(*hostTable) {})
}

// nextTable builds the table for res from prev, the table built for
// prevRes (nil for none). A host that did not change keeps its hostTable,
// and only the hosts that changed are built, so a change costs about what
// it changes; dropped is called with each hostTable of prev that the new
// table does not have. When nothing changed it returns prev.
func nextTable(prev *table, prevRes, res *ingress.Result, handler handlerFunc, dropped func(*hostTable)) *table {
	t := &table{drained: make(chan struct{})}
	reuse := prev != nil && prevRes != nil && prevRes.Default == res.Default
	var prevHosts ingress.HostList
	if reuse {
		prevHosts = prevRes.Hosts
	}
	// Walk both host lists, sorted by name: drop what went or changed,
	// then add what came or changed. Chunks the lists share are skipped
	// whole.
	var gone []*hostTable
	var added []*ingress.Host
	old, cur := hostCursor{chunks: prevHosts.Chunks()}, hostCursor{chunks: res.Hosts.Chunks()}
	for !cur.done() {
		if old.sameChunk(&cur) {
			old.c++
			cur.c++
			continue
		}
		h := cur.host()
		cur.next()
		if !old.done() && old.host() == h {
			old.next() // carried over as it is
			continue
		}
		for !old.done() && old.host().Host < h.Host {
			gone = append(gone, prev.hostTable(old.host()))
			old.next()
		}
		if !old.done() && old.host().Host == h.Host {
			same := sameHost(old.host(), h)
			if !same {
				gone = append(gone, prev.hostTable(old.host()))
			}
			old.next()
			if same {
				continue
			}
		}
		added = append(added, h)
	}
	for ; !old.done(); old.next() {
		gone = append(gone, prev.hostTable(old.host()))
	}
	if reuse {
		if len(gone) == 0 && len(added) == 0 {
			return prev // serves res as it is
		}
		t.fallback, t.catchAll, t.any = prev.fallback, prev.catchAll, prev.any
		t.clientAuthHosts = prev.clientAuthHosts
		t.exact, t.wildcard = prev.exact.next(), prev.wildcard.next()
	} else {
		t.exact, t.wildcard = newHostMap(), newHostMap()
		if prev != nil {
			for _, ht := range prev.hostTables() {
				dropped(ht)
			}
		}
		if res.Default != nil {
			t.catchAll = &hostTable{}
			t.fallback = t.catchAll.handler(handler, res.Default)
		}
	}
	for _, ht := range gone {
		if ht == nil {
			continue
		}
		for _, name := range ht.names {
			t.unmap(name, ht)
		}
		if ht.clientAuth != nil {
			t.clientAuthHosts--
		}
		dropped(ht)
	}
	for _, h := range added {
		ht := t.newHostTable(h, handler)
		for _, name := range ht.names {
			t.mapName(name, ht)
		}
		if ht.clientAuth != nil {
			t.clientAuthHosts++
		}
	}
	return t
}

// hostCursor walks the chunks of a host list.
type hostCursor struct {
	chunks [][]*ingress.Host
	c, i   int // chunk, and host in it
}

func (k *hostCursor) done() bool          { return k.c >= len(k.chunks) }
func (k *hostCursor) host() *ingress.Host { return k.chunks[k.c][k.i] }

func (k *hostCursor) next() {
	if k.i++; k.i == len(k.chunks[k.c]) {
		k.c, k.i = k.c+1, 0
	}
}

// sameChunk reports whether both cursors are at the start of the same
// chunk, shared by their lists.
func (k *hostCursor) sameChunk(o *hostCursor) bool {
	if k.i != 0 || o.i != 0 || k.done() || o.done() {
		return false
	}
	a, b := k.chunks[k.c], o.chunks[o.c]
	return len(a) == len(b) && &a[0] == &b[0]
}

// hostTable returns the hostTable that serves h's own name in t.
func (t *table) hostTable(h *ingress.Host) *hostTable {
	switch name := h.Host; {
	case name == "":
		return t.any
	case strings.HasPrefix(name, "*."):
		return t.wildcard.get(name[2:])
	default:
		return t.exact.get(name)
	}
}

// hostTables returns every hostTable of t, the catch-all's included.
func (t *table) hostTables() []*hostTable {
	seen := make(map[*hostTable]bool)
	var out []*hostTable
	add := func(ht *hostTable) {
		if ht != nil && !seen[ht] {
			seen[ht] = true
			out = append(out, ht)
		}
	}
	t.exact.all(add)
	t.wildcard.all(add)
	add(t.any)
	add(t.catchAll)
	return out
}

func (t *table) mapName(name string, ht *hostTable) {
	switch {
	case name == "":
		t.any = ht
	case strings.HasPrefix(name, "*."):
		t.wildcard.set(name[2:], ht)
	default:
		t.exact.set(name, ht)
	}
}

// unmap removes name unless another hostTable took it since.
func (t *table) unmap(name string, ht *hostTable) {
	switch {
	case name == "":
		if t.any == ht {
			t.any = nil
		}
	case strings.HasPrefix(name, "*."):
		if t.wildcard.get(name[2:]) == ht {
			t.wildcard.delete(name[2:])
		}
	default:
		if t.exact.get(name) == ht {
			t.exact.delete(name)
		}
	}
}

// handler returns the handler of act, noting its compiled route and
// its metric series.
func (ht *hostTable) handler(handler handlerFunc, act *ingress.Action) caddyhttp.Handler {
	hd, cr := handler(act)
	if cr != nil {
		ht.routes = append(ht.routes, cr)
	}
	if o, ok := hd.(*observed); ok {
		ht.series = append(ht.series, o.series)
	}
	return hd
}

// newHostTable builds the hostTable of h.
func (t *table) newHostTable(h *ingress.Host, handler handlerFunc) *hostTable {
	ht := &hostTable{
		exact:      make(map[string]caddyhttp.Handler),
		prefix:     make(map[string]caddyhttp.Handler),
		appRoot:    h.AppRoot,
		clientAuth: h.ClientAuth,
		names:      append([]string{h.Host}, h.Aliases...),
	}
	if h.Default != nil {
		ht.fallback = ht.handler(handler, h.Default)
	}
	if h.Redirect != nil {
		next := t.fallback
		if next == nil {
			next = notFound
		}
		redirect := h.Redirect
		ht.redirect = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if location, code, ok := redirectFor(redirect, r); ok {
				return sendRedirect(w, location, code)
			}
			return next.ServeHTTP(w, r)
		})
	}
	if ca := h.ClientAuth; ca != nil && ca.MatchCN != "" {
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
			ht.exact[p.Path] = ht.handler(handler, &p.Action)
		case ingress.PathRegex:
			if rule, err := newRegexRule(p.Path, ht.handler(handler, &p.Action)); err == nil {
				ht.regex = append(ht.regex, rule)
			}
		default:
			ht.prefix[p.Path] = ht.handler(handler, &p.Action)
		}
	}
	return ht
}

// sameHost reports whether a and b serve the same: cheap for the hosts
// that incremental translation carries over unchanged, which share their
// paths.
func sameHost(a, b *ingress.Host) bool {
	if a.Host != b.Host || a.TLS != b.TLS || a.AppRoot != b.AppRoot || !sameClientAuth(a.ClientAuth, b.ClientAuth) ||
		!sameAction(a.Default, b.Default) || !sameRedirect(a.Redirect, b.Redirect) || !slices.Equal(a.Aliases, b.Aliases) || len(a.Paths) != len(b.Paths) {
		return false
	}
	if len(a.Paths) > 0 && &a.Paths[0] == &b.Paths[0] {
		return true
	}
	return slices.EqualFunc(a.Paths, b.Paths, func(p, q ingress.Path) bool {
		return p.Path == q.Path && p.Type == q.Type && sameAction(&p.Action, &q.Action)
	})
}

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
		if h := t.exact.get(host); h != nil {
			return h
		}
		if i := strings.IndexByte(host, '.'); i > 0 {
			if h := t.wildcard.get(host[i+1:]); h != nil {
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
