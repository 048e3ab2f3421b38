package caddyingress

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// compiledRoute is one provisioned caddyhttp.RouteList, shared by every
// path whose routes have the same JSON and reused across tables while that
// JSON stays in the result.
type compiledRoute struct {
	handler caddyhttp.Handler
	ctx     *routesContext
	// key is the SHA-256 of its JSON (see routesKey), under which
	// App.compiled holds it.
	key string
	// refs counts the handlers of the current table made from it. When
	// it drops to 0, releaseAt is the generation of the last table that
	// used it: it is released once no table of that generation or older
	// is live (a draining table still serves requests).
	refs      int
	releaseAt uint64
	// static says it has a reverse_proxy with static upstreams, whose
	// metrics publishProxyMetrics sets.
	static bool
	// proxies are the shared reverse_proxy handlers it uses.
	proxies []proxySlot
}

// routesContext is the Caddy context that the routes compiled by one build
// were provisioned in. Creating a context is costly (it sets up a metrics
// registry), so a build shares one among its new routes; their modules are
// cleaned up together once none of them is used any more.
type routesContext struct {
	ctx    caddy.Context
	cancel context.CancelFunc
	routes int // compiled routes not yet released
	// lists are the route lists compiled in ctx.
	lists []caddyhttp.RouteList
}

func (rc *routesContext) release() {
	rc.routes--
	if rc.routes == 0 {
		rc.cancel()
		lists := rc.lists
		closeAll := func() {
			for _, l := range lists {
				closeIdleBackendConns(l)
			}
		}
		closeAll()
		// Once the app is cleaned up in a config reload, the old server
		// may still pass a last request or two to its routes (see
		// App.Cleanup); their backend connections are closed later.
		time.AfterFunc(lateRequestsGrace, closeAll)
	}
}

// lateRequestsGrace is how long after releasing routes their backend
// connections are closed once more.
const lateRequestsGrace = 2 * time.Second

// closeIdleBackendConns closes the idle backend connections of the
// reverse_proxy handlers in routes. Cancelling the context cleans up only
// the modules loaded in it, and the transport that reverse_proxy makes by
// itself when none is configured is not one: its idle connections, and
// their goroutines, would otherwise outlive the routes until the
// keep-alive timeout (two minutes), which adds up over config reloads and
// route changes.
func closeIdleBackendConns(routes caddyhttp.RouteList) {
	for _, r := range routes {
		for _, h := range r.Handlers {
			switch h := h.(type) {
			case *reverseproxy.Handler:
				switch tr := h.Transport.(type) {
				case *reverseproxy.HTTPTransport:
					if tr.Transport != nil {
						tr.Transport.CloseIdleConnections()
					}
				case *Transport:
					tr.closeIdleConnections()
				}
			case *caddyhttp.Subroute:
				closeIdleBackendConns(h.Routes)
			}
		}
	}
}

// update applies a snapshot from the source: endpoints alone when only
// they changed (they never rebuild routes), else a new translation.
func (a *App) update(snap *ingress.Snapshot, sourceProblems []ingress.Problem) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return
	}
	a.applySnapshot(snap, sourceProblems, false)
}

// retranslate translates the last snapshot again, at a moment when a
// certificate or revocation list in it becomes valid or expires.
func (a *App) retranslate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped || a.last == nil {
		return
	}
	a.applySnapshot(a.last, a.sourceProblems, true)
}

// applySnapshot applies snap, translating it when force is set or its
// route inputs changed, and stores the new served state at once. It runs
// under a.mu.
func (a *App) applySnapshot(snap *ingress.Snapshot, sourceProblems []ingress.Problem, force bool) {
	last := a.last
	if last == nil {
		last = new(ingress.Snapshot)
	}
	cur := a.current()
	first := cur.routes == nil
	sameSourceProblems := slices.Equal(sourceProblems, a.sourceProblems)
	a.last, a.sourceProblems = snap, sourceProblems
	next := *cur
	if first || !slices.Equal(snap.EndpointSlices, last.EndpointSlices) {
		next.endpoints = newEndpointIndex(ingress.Endpoints(snap.EndpointSlices))
	}
	var retired *table
	var translated *ingress.Result
	var took time.Duration
	if first || force || !snap.SameRouteInputs(last) {
		start := time.Now()
		res := a.translator.Translate(snap, a.options())
		retired = a.apply(res, &next)
		a.problems = res.Problems
		a.owned = res.Ingresses
		a.schedule(res.NextChange)
		translated, took = res, time.Since(start)
		a.logger.Debug("applied", zap.Int("hosts", res.Hosts.Len()), zap.Int("certificates", len(res.Certificates)), zap.Duration("duration", took))
	}
	a.state.Store(&next)
	if retired != nil {
		a.retire(retired)
	}
	if first {
		a.firstOnce.Do(func() { close(a.firstApplied) })
	}
	// Problems and owned Ingresses change only with a translation or the
	// source's problems: endpoint changes alone report nothing again (at
	// 10,000 Ingresses, a report is 10,000 statuses to compare).
	reportAgain := first || translated != nil || !sameSourceProblems
	if reportAgain {
		a.allProblems = append(slices.Clip(a.problems), sourceProblems...)
	}
	a.observeApplied(translated, took, a.allProblems, reportAgain)
	if !reportAgain {
		return
	}
	a.report(a.allProblems)
	if r, ok := a.source.(Reporter); ok {
		r.Report(Report{Ingresses: a.owned, Problems: a.allProblems})
	}
}

// schedule makes retranslate run at moment next; a zero next cancels it.
// It runs under a.mu.
func (a *App) schedule(next time.Time) {
	if a.retranslation != nil {
		a.retranslation.Stop()
		a.retranslation = nil
	}
	if next.IsZero() {
		return
	}
	a.logger.Debug("translating again when a certificate changes validity", zap.Time("at", next))
	a.retranslation = time.AfterFunc(time.Until(next), a.retranslate)
}

func (a *App) options() ingress.Options {
	return ingress.Options{
		IngressClass:   a.IngressClass,
		Controller:     a.Controller,
		DefaultBackend: a.defaultBackend,
		HTTPSPort:      a.httpsPort,
		Now:            time.Now(),

		AutomaticCertificates:      a.AutomaticCertificates,
		DefaultCertificate:         a.defaultCertRef,
		AllowCrossNamespaceSecrets: a.AllowCrossNamespaceSecrets,
		HSTS:                       a.HSTS,
		AnnotationPrefix:           a.AnnotationsPrefix,
		LegacyAnnotations:          a.LegacyAnnotations == nil || *a.LegacyAnnotations,
		Traffic:                    a.traffic,
		GlobalAuth:                 a.globalAuth,
		NoAuthLocations:            a.noAuthLocations(),
		DropUnsupportedSnippets:    a.UnsupportedSnippets == "drop",
		Headers:                    ingress.Headers{Add: a.AddHeaders, ProxySet: a.ProxySetHeaders, AllowedResponse: a.AllowedResponseHeaders},
		OpenTelemetry: ingress.OpenTelemetry{
			Enabled:              a.EnableOpenTelemetry,
			DistrustIncomingSpan: a.OpenTelemetryTrustIncomingSpan != nil && !*a.OpenTelemetryTrustIncomingSpan,
			OperationName:        a.OpenTelemetryOperationName,
		},
	}
}

// configMapRefs returns ingress.ConfigMapRefs with the app's options: the
// ConfigMaps that translating a snapshot's Ingresses reads.
func (a *App) configMapRefs() func([]*networkingv1.Ingress) []string {
	opts := a.options()
	return func(ings []*networkingv1.Ingress) []string { return ingress.ConfigMapRefs(ings, &opts) }
}

// report logs each problem once, when it first appears, and notes when
// problems are gone.
func (a *App) report(problems []ingress.Problem) {
	now := make(map[ingress.Problem]struct{}, len(problems))
	for _, p := range problems {
		now[p] = struct{}{}
		if _, seen := a.reported[p]; !seen {
			a.logger.Warn("problem", zap.String("object", p.Object.String()), zap.String("field", p.Field), zap.String("reason", p.Reason))
		}
	}
	for p := range a.reported {
		if _, still := now[p]; !still {
			a.logger.Info("problem resolved", zap.String("object", p.Object.String()), zap.String("field", p.Field))
		}
	}
	a.reported = now
}

// apply puts the routes, certificates and backend Secrets of a
// translation result into next, the state to serve, reusing the current
// ones where they did not change. It returns the table that next
// replaces, to be retired once next is stored, or nil.
func (a *App) apply(res *ingress.Result, next *served) *table {
	if !a.certsApplied || !sameCertificates(res.Certificates, a.lastCerts) || !sameCertificate(res.DefaultCertificate, a.lastDefaultCert) {
		entries := make([]secrets.Entry, 0, len(res.Certificates))
		for _, c := range res.Certificates {
			entries = append(entries, secrets.Entry{Names: c.Names, Cert: c.KeyPair})
		}
		fallback := a.defaultCert
		if res.DefaultCertificate != nil {
			fallback = res.DefaultCertificate.KeyPair
		}
		next.certs = secrets.NewStore(entries, fallback)
		a.lastCerts, a.lastDefaultCert, a.certsApplied = res.Certificates, res.DefaultCertificate, true
		a.certsGen++
	}
	a.manageCertificates(res.Managed)
	backendSecrets := make(map[string]*ingress.BackendSecret, len(res.BackendSecrets))
	for i := range res.BackendSecrets {
		backendSecrets[res.BackendSecrets[i].Secret] = &res.BackendSecrets[i]
	}
	next.backendSecrets = backendSecrets
	weights := make(map[string]ingress.CanaryWeight, len(res.CanaryWeights))
	for _, w := range res.CanaryWeights {
		weights[w.Ingress] = w
	}
	next.canaryWeights = weights
	auth := make(map[string]*ingress.AuthSecret, len(res.AuthSecrets))
	for i := range res.AuthSecrets {
		auth[res.AuthSecrets[i].Secret] = &res.AuthSecrets[i]
	}
	next.authSecrets = auth
	old := next.routes
	next.routes = a.build(res)
	a.lastResult = res
	if next.routes == old {
		return nil // the same routes
	}
	a.warnClientAuthPolicy(res, next.routes)
	return old
}

func sameClientAuth(a, b *ingress.ClientAuth) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameRedirect(a, b *ingress.Redirect) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameAction(a, b *ingress.Action) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Ingress == b.Ingress && bytes.Equal(a.Routes, b.Routes) &&
		a.Host == b.Host && a.IngressPath == b.IngressPath && a.Backend == b.Backend
}

// sameCertificates reports whether two lists serve the same certificates
// for the same names.
func sameCertificates(a, b []ingress.Certificate) bool {
	return slices.EqualFunc(a, b, func(x, y ingress.Certificate) bool { return sameCertificate(&x, &y) })
}

func sameCertificate(a, b *ingress.Certificate) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Secret == b.Secret && a.SHA256 == b.SHA256 && slices.Equal(a.Names, b.Names)
}

// build compiles a table, reusing the hostTables of the hosts that did
// not change and compiled routes whose JSON is unchanged.
func (a *App) build(res *ingress.Result) *table {
	var rc *routesContext
	var prev *table
	if cur := a.current(); cur != nil && !a.cleanedUp {
		prev = cur.routes
	}
	handler := func(act *ingress.Action) (caddyhttp.Handler, *compiledRoute) {
		key := routesKey(act.Routes)
		cr := a.compiled[key]
		if cr == nil {
			if rc == nil {
				ctx, cancel := caddy.NewContext(a.routesParent())
				rc = &routesContext{ctx: ctx, cancel: cancel}
			}
			cr = a.compile(rc, act)
			cr.key = key
			a.compiled[key] = cr
			if cr.static {
				a.static[cr] = struct{}{}
			}
		}
		cr.refs++
		cr.releaseAt = 0
		if a.requestMetrics != nil {
			return a.requestMetrics.observe(cr.handler, act), cr
		}
		return cr.handler, cr
	}
	var prevRes *ingress.Result
	if prev != nil {
		prevRes = a.lastResult
	}
	t := nextTable(prev, prevRes, res, handler, func(ht *hostTable) {
		for _, cr := range ht.routes {
			if cr.refs--; cr.refs == 0 {
				cr.releaseAt = a.gen // the generation of prev, the last to use it
				a.pending = append(a.pending, cr)
			}
		}
		if a.requestMetrics != nil {
			a.requestMetrics.forget(ht)
		}
	})
	if a.requestMetrics != nil {
		a.requestMetrics.sweep()
	}
	if t == prev {
		return t
	}
	a.gen++
	t.gen = a.gen
	a.live[t] = struct{}{}
	if rc != nil { // routes were compiled: their gauges need publishing
		a.publishProxyMetrics(rc, slices.Collect(maps.Keys(a.static)))
	}
	return t
}

// routesKey is the key of compiled routes in App.compiled: the SHA-256
// of their JSON, 32 bytes rather than a second copy of the JSON.
func routesKey(routes json.RawMessage) string {
	sum := sha256.Sum256(routes)
	return string(sum[:])
}

// compile provisions the Caddy routes of an action in rc.
func (a *App) compile(rc *routesContext, act *ingress.Action) *compiledRoute {
	rc.routes++
	var routes caddyhttp.RouteList
	var proxies []proxySlot
	err := json.Unmarshal(act.Routes, &routes)
	if err == nil {
		proxies, err = a.takeProxies(rc, routes)
	}
	if err == nil {
		if err = routes.Provision(rc.ctx); err == nil {
			err = putProxies(rc, routes, proxies)
		}
		if err != nil {
			a.releaseProxies(proxies)
		}
	}
	if err != nil {
		// Translation only emits routes of known modules; this is a bug,
		// not bad input. Serve 503 rather than something unintended.
		a.logger.Error("compiling routes", zap.String("ingress", act.Ingress), zap.Error(err))
		return &compiledRoute{handler: unavailable, ctx: rc}
	}
	rc.lists = append(rc.lists, routes)
	static := false
	eachReverseProxy(routes, func(h *reverseproxy.Handler) { static = static || len(h.Upstreams) > 0 })
	return &compiledRoute{handler: routes.Compile(notFound), ctx: rc, static: static, proxies: proxies}
}

// retire releases the routes that only a replaced table used, once no
// request uses it. A long-lived request (a WebSocket, say) keeps the
// routes it started with.
func (a *App) retire(old *table) {
	old.retire()
	go func() {
		<-old.drained
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.live, old)
		a.releaseUnused()
	}()
}

// releaseUnused releases the compiled routes that no live table uses:
// all of them once the app is cleaned up and its last table drained.
func (a *App) releaseUnused() {
	oldest := uint64(math.MaxUint64)
	for t := range a.live {
		oldest = min(oldest, t.gen)
	}
	release := func(cr *compiledRoute) {
		delete(a.compiled, cr.key)
		delete(a.static, cr)
		a.releaseProxies(cr.proxies)
		cr.ctx.release()
	}
	if a.cleanedUp && len(a.live) == 0 {
		for _, cr := range a.compiled {
			release(cr)
		}
		a.pending = nil
		return
	}
	keep := a.pending[:0]
	for _, cr := range a.pending {
		switch {
		case cr.refs > 0 || cr.releaseAt == 0 || a.compiled[cr.key] != cr:
			// used again, or released already
		case cr.releaseAt < oldest:
			release(cr)
		default:
			keep = append(keep, cr)
		}
	}
	a.pending = keep
}

var (
	notFound    caddyhttp.Handler = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return caddyhttp.Error(http.StatusNotFound, nil) })
	unavailable caddyhttp.Handler = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		return caddyhttp.Error(http.StatusServiceUnavailable, nil)
	})
)

// noAuthLocations are the paths global auth leaves out.
func (a *App) noAuthLocations() []string {
	if a.GlobalAuth == nil {
		return nil
	}
	return a.GlobalAuth.NoAuthLocations
}

// routesParent is the context that routes contexts are made from: a child
// of the app's that nothing registers cleanup functions on. Caddy's
// NewContext gives a child the cleanup functions of its parent to run
// when it is cancelled (context.go, NewContextWithCause), and those of
// the config's context close the log writers and stop the rotation of
// TLS session ticket keys: routes released at run time must not run
// them. It is never cancelled itself; it ends with the app's context.
func (a *App) routesParent() caddy.Context {
	if a.routesBase == nil {
		base, _ := caddy.NewContext(a.ctx)
		a.routesBase = &base
	}
	return *a.routesBase
}
