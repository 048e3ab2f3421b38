package caddyingress

import (
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Caddy (v2.11.9) registers a module's metrics in the registry of the
// context the module is provisioned in, and every context made with
// caddy.NewContext has a registry of its own (context.go,
// NewContextWithCause) that nothing serves: the admin endpoint's /metrics
// (modules/metrics/adminmetrics.go) and the metrics handler
// (modules/metrics/metrics.go) serve the registry of the config's context,
// which the app was provisioned in. Routes compiled at run time are
// provisioned in contexts of their own, to be cleaned up with them (see
// routesContext), so their metrics have to be registered there as well.
//
// Of the modules our routes use, reverse_proxy alone has metrics: the
// process-wide gauge caddy_reverse_proxy_upstreams_healthy
// (modules/caddyhttp/reverseproxy/metrics.go). Every reverse_proxy
// Provision registers it in its context's registry and resets it: the
// series of every handler in the process are gone until each handler's
// own refresh sets them again, every 10 s. That reset cannot be avoided
// from outside; after a build the series of the live routes are set again
// at once, the other handlers of the config (not the ingress app's) come
// back with their next refresh. The gauge covers static upstreams only
// (service-upstream); dynamic ones, the Service's endpoints, have none.

// upstreamsHealthyOpts describe reverse_proxy's gauge as Caddy makes it
// (initReverseProxyMetrics): a registry that holds Caddy's gauge refuses
// one of the same description and names Caddy's in its error, which is how
// upstreamsHealthy finds it. TestProxyMetricsPublished fails if a Caddy
// version describes it otherwise.
var upstreamsHealthyOpts = prometheus.GaugeOpts{
	Namespace: "caddy",
	Subsystem: "reverse_proxy",
	Name:      "upstreams_healthy",
	Help:      "Health status of reverse proxy upstreams.",
}

// upstreamsHealthy returns reverse_proxy's upstreams_healthy gauge if a
// handler provisioned in a context of reg registered it there, else nil.
func upstreamsHealthy(reg *prometheus.Registry) (*prometheus.GaugeVec, error) {
	probe := prometheus.NewGaugeVec(upstreamsHealthyOpts, []string{"upstream"})
	err := reg.Register(probe)
	if err == nil {
		reg.Unregister(probe)
		return nil, nil
	}
	var dup prometheus.AlreadyRegisteredError
	if !errors.As(err, &dup) {
		return nil, fmt.Errorf("finding reverse_proxy's upstreams_healthy gauge: %w", err)
	}
	g, ok := dup.ExistingCollector.(*prometheus.GaugeVec)
	if !ok {
		return nil, fmt.Errorf("finding reverse_proxy's upstreams_healthy gauge: got a %T", dup.ExistingCollector)
	}
	return g, nil
}

// publishProxyMetrics registers the metrics of the reverse_proxy handlers
// provisioned in rc, a build's new routes, in the registry Caddy serves,
// and sets the upstreams_healthy gauge again for the handlers of live, the
// routes of the new table, whose series their provisioning reset. That
// takes the handlers of every context live routes were provisioned in,
// also handlers no longer used, whose own refresh runs until their context
// is released. rc is nil when the build compiled nothing.
func (a *App) publishProxyMetrics(rc *routesContext, live []*compiledRoute) {
	served := a.ctx.GetMetricsRegistry()
	if rc == nil || served == nil {
		return
	}
	g, err := upstreamsHealthy(rc.ctx.GetMetricsRegistry())
	if err != nil {
		a.logger.Error("publishing reverse_proxy metrics", zap.Error(err))
		return
	}
	if g == nil {
		return // no reverse_proxy provisioned: nothing registered, nothing reset
	}
	if err := served.Register(g); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		a.logger.Error("publishing reverse_proxy metrics", zap.Error(err))
	}
	seen := make(map[*routesContext]bool)
	for _, cr := range live {
		if seen[cr.ctx] {
			continue
		}
		seen[cr.ctx] = true
		for _, routes := range cr.ctx.lists {
			eachReverseProxy(routes, func(h *reverseproxy.Handler) {
				// As reverse_proxy's own refresh sets them.
				for _, u := range h.Upstreams {
					v := 0.0
					if u.Healthy() {
						v = 1
					}
					g.WithLabelValues(u.Dial).Set(v)
				}
			})
		}
	}
}

// eachReverseProxy calls f for each reverse_proxy handler in routes, also
// those in subroutes and in reverse_proxy's handle_response routes.
func eachReverseProxy(routes caddyhttp.RouteList, f func(*reverseproxy.Handler)) {
	for _, r := range routes {
		for _, h := range r.Handlers {
			switch h := h.(type) {
			case *reverseproxy.Handler:
				f(h)
				for _, rh := range h.HandleResponse {
					eachReverseProxy(rh.Routes, f)
				}
			case *caddyhttp.Subroute:
				eachReverseProxy(h.Routes, f)
			}
		}
	}
}
