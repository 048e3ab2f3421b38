package caddyingress

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Affinity{})
}

// Affinity is a reverse_proxy selection policy that keeps each client on
// one endpoint with a cookie, as ingress-nginx's affinity: cookie does. A
// client without the cookie, or whose endpoint is gone, gets the next
// endpoint in turn and a new cookie. The cookie holds a hash of the
// endpoint's address, so every replica reads it the same way.
type Affinity struct {
	ingress.Affinity

	next *atomic.Uint32
}

// CaddyModule returns the Caddy module information.
func (Affinity) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.selection_policies." + ingress.AffinityPolicy,
		New: func() caddy.Module { return new(Affinity) },
	}
}

// Provision sets up the turn counter.
func (a *Affinity) Provision(caddy.Context) error {
	a.next = new(atomic.Uint32)
	return nil
}

// affinityTriedVar holds, for a request, the endpoint this policy chose
// last, so that a retry after a failure can move the session.
const affinityTriedVar = "ingress_affinity_tried"

// Select implements reverseproxy.Selector.
func (a *Affinity) Select(pool reverseproxy.UpstreamPool, r *http.Request, w http.ResponseWriter) *reverseproxy.Upstream {
	tried, _ := caddyhttp.GetVar(r.Context(), affinityTriedVar).(string)
	if c, err := r.Cookie(a.Name); err == nil {
		for _, up := range pool {
			if up.Available() && endpointHash(up.Dial) == c.Value {
				if a.ChangeOnFailure && up.Dial == tried {
					break
				}
				caddyhttp.SetVar(r.Context(), affinityTriedVar, up.Dial)
				return up
			}
		}
	}
	up := a.pick(pool, tried)
	if up == nil {
		return nil
	}
	caddyhttp.SetVar(r.Context(), affinityTriedVar, up.Dial)
	a.setCookie(w, r, endpointHash(up.Dial))
	return up
}

// pick returns the next available endpoint in turn, other than avoid when
// there is another.
func (a *Affinity) pick(pool reverseproxy.UpstreamPool, avoid string) *reverseproxy.Upstream {
	var fallback *reverseproxy.Upstream
	n := uint32(len(pool))
	if n == 0 {
		return nil
	}
	start := a.next.Add(1)
	for i := range n {
		up := pool[(start+i)%n]
		if !up.Available() {
			continue
		}
		if up.Dial == avoid {
			fallback = up
			continue
		}
		return up
	}
	return fallback
}

func (a *Affinity) setCookie(w http.ResponseWriter, r *http.Request, value string) {
	c := &http.Cookie{Name: a.Name, Value: value, Path: a.Path, Domain: a.Domain, HttpOnly: true}
	if a.MaxAge > 0 {
		c.MaxAge = a.MaxAge
	}
	if a.Expires > 0 {
		c.Expires = time.Now().Add(time.Duration(a.Expires) * time.Second)
	}
	c.Secure = a.Secure || requestScheme(r) == "https"
	switch a.SameSite {
	case "None":
		if !a.ConditionalSameSiteNone || sameSiteNoneCompatible(r.UserAgent()) {
			c.SameSite = http.SameSiteNoneMode
		}
	case "Lax":
		c.SameSite = http.SameSiteLaxMode
	case "Strict":
		c.SameSite = http.SameSiteStrictMode
	}
	// A retry that moves the session replaces the cookie set before.
	h := w.Header()
	kept := h["Set-Cookie"][:0]
	for _, v := range h["Set-Cookie"] {
		if !strings.HasPrefix(v, a.Name+"=") {
			kept = append(kept, v)
		}
	}
	h["Set-Cookie"] = kept
	http.SetCookie(w, c)
}

// endpointHash is the cookie value for an endpoint.
func endpointHash(dial string) string {
	sum := sha256.Sum256([]byte(dial))
	return hex.EncodeToString(sum[:16])
}

// sameSiteNoneIncompatible are the clients that reject or mishandle
// SameSite=None, as ingress-nginx lists them.
var sameSiteNoneIncompatible = []*regexp.Regexp{
	regexp.MustCompile(`Chrom(e|ium)/(5[1-9]|6[0-6])\.`),
	regexp.MustCompile(`\(iP.+; CPU .*OS 12[_\d]*.*\) AppleWebKit/`),
	regexp.MustCompile(`\(Macintosh;.*Mac OS X 10_14[_\d]*.*\) AppleWebKit/.*Version/.* Safari/`),
	regexp.MustCompile(`UCBrowser/([0-9]|1[01])\.|UCBrowser/12\.([0-9]|1[0-2])\.|UCBrowser/12\.13\.[01]\.`),
}

func sameSiteNoneCompatible(userAgent string) bool {
	for _, re := range sameSiteNoneIncompatible {
		if re.MatchString(userAgent) {
			return false
		}
	}
	return true
}

// Interface guards
var (
	_ caddy.Provisioner     = (*Affinity)(nil)
	_ reverseproxy.Selector = (*Affinity)(nil)
)
