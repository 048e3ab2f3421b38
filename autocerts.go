package caddyingress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// Automatic certificates (the app's automatic_certificates) are obtained
// and renewed by a certmagic cache and configs of the app's own, not by
// (*caddytls.TLS).Manage, for three reasons found in caddy v2.11.9 and
// certmagic v0.25.6:
//
//   - The ingress directive puts the tls.get_certificate.ingress manager in
//     the automation policy of the site, usually a catch-all policy, and
//     caddytls turns any policy with managers into an on-demand certmagic
//     config (automation.go, makeCertMagicConfig). For names under such a
//     policy, Manage only adds them to an on-demand allowlist (certmagic
//     config.go, manageAll), nothing is obtained, and maintenance skips
//     their renewal (maintain.go).
//   - caddytls keeps its certificate cache in an unexported package
//     variable. It stops managing a name only when a config reload drops
//     it (TLS.Cleanup calls Cache.RemoveManaged); at run time a name, once
//     managed, would stay in the cache and be renewed for good. And since
//     certmagic consults that cache before any manager on every handshake
//     (handshake.go, getCertDuringHandshake), its certificate would keep
//     shadowing the one from a Secret the host gets later.
//   - TLS.Manage writes a map that the old TLS app reads, unlocked, while
//     a config reload cleans it up.
//
// So the certificates live in a cache of ours, which handshakes reach
// through the ingress certificate manager, and releasing a name removes it
// from that cache at once. The issuers are those of the TLS automation
// policy that serves the name, so global options such as local_certs and
// acme_ca apply.

// autoCerts is the app's state for automatic certificates.
type autoCerts struct {
	// served is what handshakes and the cache's maintenance read: the
	// names being managed. Nil until a name is first managed.
	served atomic.Pointer[autoServed]

	// The fields below belong to the updater (App.mu).

	// names are the names asked for, each with the function that
	// cancels its management; names that cannot be managed are listed
	// too, so that they are reported once.
	names   map[string]context.CancelFunc
	cache   *certmagic.Cache
	tlsApp  *caddytls.TLS
	configs map[*caddytls.AutomationPolicy]*certmagic.Config
	// retired is the config of certificates that are no longer wanted
	// (see getConfigForCert).
	retired *certmagic.Config
}

// autoServed is an immutable snapshot of the managed names.
type autoServed struct {
	cache *certmagic.Cache
	// configs holds the config of each managed name.
	configs map[string]*certmagic.Config
}

// errReleased denies on-demand issuance for released names.
var errReleased = errors.New("certificate no longer managed")

// manageCertificates makes names, sorted and lowercase, the set of names
// whose certificates are obtained and renewed: it starts managing the new
// ones in the background and releases the others. A released name is
// removed from the cache at once, so handshakes no longer get its
// certificate and maintenance no longer renews it; its certificate and key
// stay in storage, where the TLS app's storage cleaning removes them once
// expired, and a name that comes back is loaded from there without a new
// issuance. Errors are logged with the names. It runs under a.mu.
func (a *App) manageCertificates(names []string) {
	ac := &a.autocerts
	added, released := diffNames(ac.names, names)
	if len(added) == 0 && len(released) == 0 {
		return
	}
	if ac.names == nil {
		ac.names = make(map[string]context.CancelFunc)
	}
	logger := a.logger.Named("certificates")

	prev := ac.served.Load()
	for _, name := range released {
		ac.names[name]()
		delete(ac.names, name)
	}

	if len(added) > 0 {
		if err := a.startAutomation(); err != nil {
			logger.Error("cannot manage certificates", zap.Strings("hosts", added), zap.Error(err))
			added = nil // tried again with the next change
		}
	}
	managed := make(map[string]*certmagic.Config, len(added))
	for _, name := range added {
		cfg, err := ac.configFor(a.ctx, name)
		if err != nil {
			logger.Error("cannot manage certificate", zap.String("host", name), zap.Error(err))
			// Kept with nothing to cancel, so that it is reported once.
			ac.names[name] = func() {}
			continue
		}
		managed[name] = cfg
	}

	if ac.cache != nil {
		// Handshakes and maintenance see the new names before their
		// certificates can arrive and stop seeing the released ones
		// before these leave the cache.
		configs := make(map[string]*certmagic.Config, len(ac.names)+len(managed))
		if prev != nil {
			for name, cfg := range prev.configs {
				if _, ok := ac.names[name]; ok {
					configs[name] = cfg
				}
			}
		}
		maps.Copy(configs, managed)
		ac.served.Store(&autoServed{cache: ac.cache, configs: configs})
		if len(released) > 0 {
			subjects := make([]certmagic.SubjectIssuer, len(released))
			for i, name := range released {
				subjects[i] = certmagic.SubjectIssuer{Subject: name}
			}
			ac.cache.RemoveManaged(subjects)
		}
	}

	for name, cfg := range managed {
		ctx, cancel := context.WithCancel(a.ctx)
		ac.names[name] = cancel
		// ManageAsync returns at once: loading from storage, obtaining
		// and renewing happen in the background, with retries. In that
		// mode it returns no error of its own; failures are logged by
		// certmagic with the name.
		if err := cfg.ManageAsync(ctx, []string{name}); err != nil {
			logger.Error("cannot manage certificate", zap.String("host", name), zap.Error(err))
		}
	}

	if len(managed) > 0 {
		hosts := slices.Sorted(maps.Keys(managed))
		logger.Info("managing certificates", zap.Strings("hosts", hosts))
	}
	if prev != nil {
		var hosts []string
		for _, name := range released {
			if _, ok := prev.configs[name]; ok {
				hosts = append(hosts, name)
			}
		}
		if len(hosts) > 0 {
			logger.Info("released certificates", zap.Strings("hosts", hosts))
		}
	}
}

// diffNames returns the names in want that current lacks, in want's
// order, and the names of current that want lacks, sorted.
func diffNames(current map[string]context.CancelFunc, want []string) (added, released []string) {
	wanted := make(map[string]struct{}, len(want))
	for _, name := range want {
		wanted[name] = struct{}{}
		if _, ok := current[name]; !ok {
			added = append(added, name)
		}
	}
	for name := range current {
		if _, ok := wanted[name]; !ok {
			released = append(released, name)
		}
	}
	slices.Sort(released)
	return added, released
}

// startAutomation creates the certificate cache on first use. The cache's
// maintenance stops when the app's config is unloaded.
func (a *App) startAutomation() error {
	ac := &a.autocerts
	if ac.cache != nil {
		return nil
	}
	tlsApp, err := a.ctx.AppIfConfigured("tls")
	if err != nil {
		return fmt.Errorf("getting tls app: %v", err)
	}
	ac.tlsApp = tlsApp.(*caddytls.TLS)
	opts := certmagic.CacheOptions{
		GetConfigForCert: ac.getConfigForCert,
		Logger:           a.logger.Named("certificates.cache"),
	}
	if auto := ac.tlsApp.Automation; auto != nil {
		opts.OCSPCheckInterval = time.Duration(auto.OCSPCheckInterval)
		opts.RenewCheckInterval = time.Duration(auto.RenewCheckInterval)
	}
	ac.cache = certmagic.NewCache(opts)
	ac.configs = make(map[*caddytls.AutomationPolicy]*certmagic.Config)
	ac.retired = certmagic.New(ac.cache, certmagic.Config{
		Storage: a.ctx.Storage(),
		Logger:  a.logger.Named("certificates"),
		// Maintenance skips on-demand certificates: a released one
		// that an obtain finishing late puts back is never renewed.
		OnDemand: &certmagic.OnDemandConfig{
			DecisionFunc: func(context.Context, string) error { return errReleased },
		},
	})
	cache, done := ac.cache, a.ctx.Done()
	go func() {
		<-done
		cache.Stop()
	}()
	return nil
}

// getConfigForCert returns the config that renews a certificate in the
// cache: the one of its name while it is managed, else the retired one.
// It runs in the cache's maintenance.
func (ac *autoCerts) getConfigForCert(cert certmagic.Certificate) (*certmagic.Config, error) {
	if s := ac.served.Load(); s != nil && len(cert.Names) > 0 {
		if cfg, ok := s.configs[cert.Names[0]]; ok {
			return cfg, nil
		}
	}
	return ac.retired, nil
}

// configFor returns the certmagic config that obtains and renews name's
// certificate, made from the TLS automation policy that handshakes for
// name use. That policy must list the ingress certificate manager, else
// handshakes would never be asked for the certificate.
func (ac *autoCerts) configFor(ctx caddy.Context, name string) (*certmagic.Config, error) {
	ap := policyFor(ac.tlsApp, name)
	if ap == nil || !hasIngressManager(ap) {
		return nil, fmt.Errorf("host %s: its TLS automation policy does not get certificates from the ingress certificate manager", name)
	}
	if cfg, ok := ac.configs[ap]; ok {
		return cfg, nil
	}
	keyType, err := caddy.NewReplacer().ReplaceOrErr(ap.KeyType, true, true)
	if err != nil {
		return nil, fmt.Errorf("key type %s: %v", ap.KeyType, err)
	}
	issuers := ap.Issuers
	ownIssuers := len(issuers) == 0
	if ownIssuers {
		// The policy uses caddytls's defaults, which it does not expose.
		if issuers, err = caddytls.DefaultIssuersProvisioned(ctx); err != nil {
			return nil, err
		}
	}
	cfg := certmagic.New(ac.cache, certmagic.Config{
		Issuers:            issuers,
		KeySource:          certmagic.StandardKeyGenerator{KeyType: certmagic.KeyType(keyType)},
		RenewalWindowRatio: ap.RenewalWindowRatio,
		MustStaple:         ap.MustStaple,
		ReusePrivateKeys:   ap.ReusePrivateKeys,
		OCSP: certmagic.OCSPConfig{
			DisableStapling:    ap.DisableOCSPStapling,
			ResponderOverrides: ap.OCSPOverrides,
		},
		Storage: ctx.Storage(),
		Logger:  ctx.Logger().Named("certificates"),
	})
	if ownIssuers {
		for _, iss := range issuers {
			if s, ok := iss.(caddytls.ConfigSetter); ok {
				s.SetConfig(cfg)
			}
		}
	}
	ac.configs[ap] = cfg
	return cfg, nil
}

// policyFor returns the automation policy that caddytls uses for name:
// the first whose subjects match it or that has none. Nil means one of
// caddytls's default policies, which have no certificate managers.
func policyFor(tlsApp *caddytls.TLS, name string) *caddytls.AutomationPolicy {
	if tlsApp.Automation == nil {
		return nil
	}
	for _, ap := range tlsApp.Automation.Policies {
		subjects := ap.Subjects()
		if len(subjects) == 0 {
			return ap
		}
		for _, s := range subjects {
			if certmagic.MatchWildcard(name, s) {
				return ap
			}
		}
	}
	return nil
}

func hasIngressManager(ap *caddytls.AutomationPolicy) bool {
	for _, m := range ap.Managers {
		if _, ok := m.(*CertManager); ok {
			return true
		}
	}
	return false
}

// certificate returns the certificate to serve in a handshake: a managed
// certificate for the exact name, else a Secret's certificate for the
// exact name or its wildcard, else a managed wildcard certificate, else
// the default. A managed name whose certificate is not obtained yet gets
// what it would get without automation, usually the default.
func (a *App) certificate(hello *tls.ClientHelloInfo) *tls.Certificate {
	cur := a.current()
	if cur == nil {
		return nil // not started
	}
	store := cur.certs
	s := a.autocerts.served.Load()
	if s == nil || len(s.configs) == 0 {
		return store.Get(hello.ServerName)
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if c := s.get(hello, name); c != nil {
		return c
	}
	// Get("") is the fallback: no entry has an empty name.
	fallback := store.Get("")
	if c := store.Get(name); c != fallback {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c := s.get(hello, "*"+name[i:]); c != nil {
			return c
		}
	}
	return fallback
}

// get returns the certificate of a managed name from the cache, or nil.
func (s *autoServed) get(hello *tls.ClientHelloInfo, name string) *tls.Certificate {
	if _, ok := s.configs[name]; !ok {
		return nil
	}
	var choices []certmagic.Certificate
	for _, c := range s.cache.AllMatchingCertificates(name) {
		for _, n := range c.Names {
			if n == name {
				choices = append(choices, c)
				break
			}
		}
	}
	if len(choices) == 0 {
		return nil
	}
	c, err := certmagic.DefaultCertificateSelector(hello, choices)
	if err != nil {
		return nil
	}
	return &c.Certificate
}
