package caddyingress

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// appliedStatus is what the last applied snapshot serves, for the admin
// API: immutable, swapped as a whole after each snapshot.
type appliedStatus struct {
	result   *ingress.Result
	problems []ingress.Problem
	at       time.Time
}

// activeApp is the ingress app whose state the admin API reports: the one
// started last. In a config reload the new config's app starts before the
// old one stops.
var activeApp atomic.Pointer[App]

func (a *App) makeActive() {
	if prev := activeApp.Swap(a); prev != nil && prev != a {
		prev.previous.Store(nil) // it will not go back further
		a.previous.Store(prev)
	}
}

// deactivate hands the admin API back to the app that served it before
// this one, if this one is stopped first (a config whose start failed).
func (a *App) deactivate() {
	a.halted.Store(true)
	prev := a.previous.Swap(nil)
	if prev != nil && prev.halted.Load() {
		prev = nil
	}
	activeApp.CompareAndSwap(a, prev)
}

// provisionMetrics registers the controller metrics in the registry that
// Caddy serves (the config's).
func (a *App) provisionMetrics() error {
	m, err := newControllerMetrics(a.ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	a.controllerMetrics = m
	return nil
}

// startRequestMetrics turns the request metrics on when the http app has
// Caddy's metrics on (the metrics global option). It runs in Start,
// before any route is built.
func (a *App) startRequestMetrics(httpApp any) error {
	h, ok := httpApp.(*caddyhttp.App)
	if !ok || h.Metrics == nil || a.requestMetrics != nil {
		return nil
	}
	m, err := newRequestMetrics(a.ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("registering request metrics: %v", err)
	}
	a.requestMetrics = m
	return nil
}

// observeApplied records an applied snapshot in the metrics and for the
// admin API; res is the new translation, nil when there was none;
// problemsChanged says whether problems may differ from the last ones. It
// runs under a.mu.
func (a *App) observeApplied(res *ingress.Result, took time.Duration, problems []ingress.Problem, problemsChanged bool) {
	now := time.Now()
	if a.controllerMetrics != nil {
		a.controllerMetrics.applied(res, a.certsGen, took, problems, problemsChanged, now)
	}
	if a.lastResult == nil {
		return
	}
	a.status.Store(&appliedStatus{result: a.lastResult, problems: problems, at: now})
}

// statusReport is the JSON of GET /ingress/status.
type statusReport struct {
	// AppliedAt is when the last snapshot was applied.
	AppliedAt time.Time `json:"applied_at"`
	// Hosts are the hosts served, sorted; "" holds the rules without
	// host.
	Hosts []statusHost `json:"hosts"`
	// DefaultBackend serves what no host and path serves.
	DefaultBackend *statusBackend `json:"default_backend,omitempty"`
	// Certificates are the certificates served by SNI from Secrets.
	Certificates []statusCertificate `json:"certificates"`
	// DefaultCertificate, from a Secret, is served for unknown names;
	// absent when it is the self-signed one.
	DefaultCertificate *statusCertificate `json:"default_certificate,omitempty"`
	// Managed are the hosts whose certificates Caddy's automation
	// obtains.
	Managed []string `json:"managed,omitempty"`
	// Problems are the current problems.
	Problems []ingress.Problem `json:"problems"`
}

type statusHost struct {
	Host    string   `json:"host"`
	Aliases []string `json:"aliases,omitempty"`
	TLS     bool     `json:"tls,omitempty"`
	// ClientAuth is the Secret of the CAs that clients' certificates
	// must chain to, when the host asks for them.
	ClientAuth     string         `json:"client_auth_secret,omitempty"`
	Paths          []statusPath   `json:"paths"`
	DefaultBackend *statusBackend `json:"default_backend,omitempty"`
}

type statusPath struct {
	// Path is as the Ingress writes it; Type how it matches.
	Path string `json:"path"`
	Type string `json:"type"`
	statusBackend
}

type statusBackend struct {
	// Ingress is namespace/name; empty for the configured default
	// backend.
	Ingress string `json:"ingress,omitempty"`
	// Service is namespace/name:port, the port as the Ingress names it;
	// empty when the backend is no Service.
	Service string `json:"service,omitempty"`
}

type statusCertificate struct {
	Secret    string    `json:"secret"`
	Names     []string  `json:"names"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
}

// report returns the JSON form of s.
func (s *appliedStatus) report() *statusReport {
	res := s.result
	out := &statusReport{
		AppliedAt:      s.at,
		Hosts:          make([]statusHost, 0, res.Hosts.Len()),
		DefaultBackend: backendOf(res.Default),
		Certificates:   make([]statusCertificate, 0, len(res.Certificates)),
		Managed:        res.Managed,
		Problems:       s.problems,
	}
	if out.Problems == nil {
		out.Problems = []ingress.Problem{}
	}
	for h := range res.Hosts.All() {
		sh := statusHost{Host: h.Host, Aliases: h.Aliases, TLS: h.TLS, Paths: make([]statusPath, 0, len(h.Paths)), DefaultBackend: backendOf(h.Default)}
		if h.ClientAuth != nil {
			sh.ClientAuth = h.ClientAuth.Secret
		}
		for j := range h.Paths {
			p := &h.Paths[j]
			written := p.IngressPath
			if written == "" {
				written = p.Path
			}
			sh.Paths = append(sh.Paths, statusPath{Path: written, Type: string(p.Type), statusBackend: *backendOf(&p.Action)})
		}
		out.Hosts = append(out.Hosts, sh)
	}
	for i := range res.Certificates {
		out.Certificates = append(out.Certificates, certificateOf(&res.Certificates[i]))
	}
	if res.DefaultCertificate != nil {
		c := certificateOf(res.DefaultCertificate)
		out.DefaultCertificate = &c
	}
	return out
}

func backendOf(act *ingress.Action) *statusBackend {
	if act == nil {
		return nil
	}
	b := &statusBackend{Ingress: act.Ingress}
	if act.Backend.Name != "" {
		b.Service = act.Backend.String()
	}
	return b
}

func certificateOf(c *ingress.Certificate) statusCertificate {
	sc := statusCertificate{Secret: c.Secret, Names: c.Names, SHA256: c.SHA256}
	if sc.Names == nil {
		sc.Names = []string{}
	}
	if c.KeyPair != nil && c.KeyPair.Leaf != nil {
		sc.NotBefore, sc.NotAfter = c.KeyPair.Leaf.NotBefore.UTC(), c.KeyPair.Leaf.NotAfter.UTC()
	}
	return sc
}
