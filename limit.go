package caddyingress

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/time/rate"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Limit{})
}

// Limit limits the requests of each client address (after Caddy's
// trusted_proxies) to the paths of one Ingress, as ingress-nginx's
// limit-rps, limit-rpm and limit-connections do: token buckets of
// golang.org/x/time/rate, and a count of requests in flight. The counters
// live in the ingress app, shared by all routes of the zone and kept
// across route changes while the limits stay the same; they count on this
// replica only.
type Limit struct {
	// Zone names the counters, the namespace/name of the Ingress.
	Zone string `json:"zone"`
	// RPS and RPM are requests per second and per minute; Connections
	// is requests in flight. Zero is no limit.
	RPS         int `json:"rps,omitempty"`
	RPM         int `json:"rpm,omitempty"`
	Connections int `json:"connections,omitempty"`
	// BurstMultiplier is the burst of RPS and RPM as a multiple of the
	// rate. Default 5.
	BurstMultiplier int `json:"burst_multiplier,omitempty"`
	// Allow are client networks that no limit applies to.
	Allow []string `json:"allow,omitempty"`
	// StatusCode answers excess requests. Default 503.
	StatusCode int `json:"status_code,omitempty"`

	allow []netip.Prefix
	zone  *limitZone
}

// CaddyModule returns the Caddy module information.
func (Limit) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.LimitModule,
		New: func() caddy.Module { return new(Limit) },
	}
}

// Provision finds the zone's counters in the ingress app.
func (l *Limit) Provision(ctx caddy.Context) error {
	if l.Zone == "" {
		return fmt.Errorf("zone is required")
	}
	if l.BurstMultiplier <= 0 {
		l.BurstMultiplier = 5
	}
	if l.StatusCode == 0 {
		l.StatusCode = http.StatusServiceUnavailable
	}
	for _, s := range l.Allow {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("allow: %v", err)
		}
		l.allow = append(l.allow, p)
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	l.zone = app.(*App).limitZone(limitZoneKey{l.Zone, l.RPS, l.RPM, l.Connections, l.BurstMultiplier})
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (l *Limit) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return next.ServeHTTP(w, r)
	}
	addr = addr.Unmap()
	if containsAddr(l.allow, addr) {
		return next.ServeHTTP(w, r)
	}
	c := l.zone.admit(addr, l, time.Now())
	if c == nil {
		return caddyhttp.Error(l.StatusCode, fmt.Errorf("client %s is over the limits of Ingress %s", addr, l.Zone))
	}
	if l.Connections > 0 {
		defer c.done(l.zone)
	}
	return next.ServeHTTP(w, r)
}

// limitZoneKey identifies a zone's counters: an Ingress with the same
// limits.
type limitZoneKey struct {
	zone                  string
	rps, rpm, connections int
	burst                 int
}

// maxLimitClients bounds the client addresses a zone keeps counters for;
// past it, idle ones are dropped first, then any.
const maxLimitClients = 100000

// limitZone holds the counters of one zone, by client address.
type limitZone struct {
	key limitZoneKey

	mu      sync.Mutex
	clients map[netip.Addr]*limitClient
}

type limitClient struct {
	perSecond, perMinute *rate.Limiter
	inflight             int
	seen                 time.Time
}

// limitZone returns the counters of a zone, made once per key.
func (a *App) limitZone(k limitZoneKey) *limitZone {
	a.limitsMu.Lock()
	defer a.limitsMu.Unlock()
	if a.limitZones == nil {
		a.limitZones = make(map[string]*limitZone)
	}
	if z := a.limitZones[k.zone]; z != nil && z.key == k {
		return z
	}
	z := &limitZone{key: k, clients: make(map[netip.Addr]*limitClient)}
	a.limitZones[k.zone] = z
	return z
}

// admit counts a request of addr against the limits and returns its
// counters if it may go on, nil if not: connections first, then per
// minute, then per second, as nginx applies them. It holds z.mu once.
func (z *limitZone) admit(addr netip.Addr, l *Limit, now time.Time) *limitClient {
	z.mu.Lock()
	defer z.mu.Unlock()
	c := z.clients[addr]
	if c == nil {
		if len(z.clients) >= maxLimitClients {
			z.evict(now)
		}
		c = &limitClient{}
		if k := z.key; k.rps > 0 {
			c.perSecond = rate.NewLimiter(rate.Limit(k.rps), 1+k.rps*k.burst)
		}
		if k := z.key; k.rpm > 0 {
			c.perMinute = rate.NewLimiter(rate.Limit(float64(k.rpm)/60), 1+k.rpm*k.burst)
		}
		z.clients[addr] = c
	}
	c.seen = now
	if l.Connections > 0 && c.inflight >= l.Connections {
		return nil
	}
	if c.perMinute != nil && !c.perMinute.AllowN(now, 1) {
		return nil
	}
	if c.perSecond != nil && !c.perSecond.AllowN(now, 1) {
		return nil
	}
	if l.Connections > 0 {
		c.inflight++
	}
	return c
}

// evict drops clients idle for a minute (their buckets are full again),
// and then, if that is not enough, half of the rest.
func (z *limitZone) evict(now time.Time) {
	for a, c := range z.clients {
		if c.inflight == 0 && now.Sub(c.seen) > time.Minute {
			delete(z.clients, a)
		}
	}
	for a, c := range z.clients {
		if len(z.clients) < maxLimitClients/2 {
			break
		}
		if c.inflight == 0 {
			delete(z.clients, a)
		}
	}
}

func (c *limitClient) done(z *limitZone) {
	z.mu.Lock()
	c.inflight--
	z.mu.Unlock()
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Limit)(nil)
	_ caddyhttp.MiddlewareHandler = (*Limit)(nil)
)
