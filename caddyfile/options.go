// Package caddyfile adds Caddyfile support for caddy-ingress: the ingress
// global option, which configures the ingress app, and the ingress
// directive, which serves a site from the app's route table and
// certificates.
//
// It builds the JSON of the modules itself instead of importing the root
// package, which blank-imports this one so that building Caddy with
// caddy-ingress brings Caddyfile support along.
package caddyfile

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("ingress", parseOption)
	httpcaddyfile.RegisterDirective("ingress", parseDirective)
	httpcaddyfile.RegisterDirectiveOrder("ingress", httpcaddyfile.Before, "reverse_proxy")
	httpcaddyfile.RegisterDirective("ingress_ready", parseReady)
	httpcaddyfile.RegisterDirectiveOrder("ingress_ready", httpcaddyfile.Before, "respond")
}

// ingressApp is the JSON of the ingress app.
type ingressApp struct {
	Source         any    `json:"source,omitempty"`
	IngressClass   string `json:"ingress_class,omitempty"`
	Controller     string `json:"controller,omitempty"`
	DefaultBackend string `json:"default_backend,omitempty"`

	AutomaticCertificates      bool        `json:"automatic_certificates,omitempty"`
	DefaultCertificate         string      `json:"default_certificate,omitempty"`
	AllowCrossNamespaceSecrets bool        `json:"allow_cross_namespace_secrets,omitempty"`
	HSTS                       string      `json:"hsts,omitempty"`
	AnnotationsPrefix          string      `json:"annotations_prefix,omitempty"`
	LegacyAnnotations          *bool       `json:"legacy_annotations,omitempty"`
	ProxyBodySize              string      `json:"proxy_body_size,omitempty"`
	ProxyConnectTimeout        int         `json:"proxy_connect_timeout,omitempty"`
	ProxySendTimeout           int         `json:"proxy_send_timeout,omitempty"`
	ProxyReadTimeout           int         `json:"proxy_read_timeout,omitempty"`
	LoadBalance                string      `json:"load_balance,omitempty"`
	LimitStatusCode            int         `json:"limit_status_code,omitempty"`
	UseForwardedHeaders        bool        `json:"use_forwarded_headers,omitempty"`
	EnableRealIP               bool        `json:"enable_real_ip,omitempty"`
	ForwardedForHeader         string      `json:"forwarded_for_header,omitempty"`
	ProxyRealIPCIDR            []string    `json:"proxy_real_ip_cidr,omitempty"`
	ComputeFullForwardedFor    bool        `json:"compute_full_forwarded_for,omitempty"`
	ProxyNextUpstream          string      `json:"proxy_next_upstream,omitempty"`
	ProxyNextUpstreamTries     *int        `json:"proxy_next_upstream_tries,omitempty"`
	ProxyNextUpstreamTimeout   int         `json:"proxy_next_upstream_timeout,omitempty"`
	GlobalAuth                 *globalAuth `json:"global_auth,omitempty"`
	AuthAllowNetworks          []string    `json:"auth_allow_networks,omitempty"`
	AuthTLSInsecureSkipVerify  bool        `json:"auth_tls_insecure_skip_verify,omitempty"`
	UnsupportedSnippets        string      `json:"unsupported_snippets,omitempty"`
	AddHeaders                 string      `json:"add_headers,omitempty"`
	ProxySetHeaders            string      `json:"proxy_set_headers,omitempty"`
	AllowedResponseHeaders     []string    `json:"allowed_response_headers,omitempty"`
	EnableOpenTelemetry        bool        `json:"enable_opentelemetry,omitempty"`
	OpenTelemetryTrustIncoming *bool       `json:"opentelemetry_trust_incoming_span,omitempty"`
	OpenTelemetryOperationName string      `json:"opentelemetry_operation_name,omitempty"`
}

// globalAuth is the JSON of the app's global_auth.
type globalAuth struct {
	URL                 string   `json:"url,omitempty"`
	Method              string   `json:"method,omitempty"`
	Signin              string   `json:"signin,omitempty"`
	SigninRedirectParam string   `json:"signin_redirect_param,omitempty"`
	ResponseHeaders     string   `json:"response_headers,omitempty"`
	RequestRedirect     string   `json:"request_redirect,omitempty"`
	CacheKey            string   `json:"cache_key,omitempty"`
	CacheDuration       string   `json:"cache_duration,omitempty"`
	AlwaysSetCookie     bool     `json:"always_set_cookie,omitempty"`
	NoAuthLocations     []string `json:"no_auth_locations,omitempty"`
}

// manifestsSource is the JSON of the ingress.sources.manifests module.
type manifestsSource struct {
	Source       string         `json:"source"`
	Dir          string         `json:"dir,omitempty"`
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`
}

// kubernetesSource is the JSON of the ingress.sources.kubernetes module.
type kubernetesSource struct {
	Source          string         `json:"source"`
	Kubeconfig      string         `json:"kubeconfig,omitempty"`
	Namespaces      []string       `json:"namespaces,omitempty"`
	PublishService  string         `json:"publish_service,omitempty"`
	StatusAddresses []string       `json:"status_addresses,omitempty"`
	LeaseNamespace  string         `json:"lease_namespace,omitempty"`
	LeaseName       string         `json:"lease_name,omitempty"`
	LeaseDuration   caddy.Duration `json:"lease_duration,omitempty"`
	RenewDeadline   caddy.Duration `json:"renew_deadline,omitempty"`
	RetryPeriod     caddy.Duration `json:"retry_period,omitempty"`
}

// sourceParsers parses the sources of the ingress option by subdirective
// name. Each returns the source's JSON value, including its "source" key.
// Exactly one source is required.
var sourceParsers = map[string]func(d *caddyfile.Dispenser) (any, error){
	"manifests":  parseManifests,
	"kubernetes": parseKubernetes,
}

// parseOption parses the ingress global option. Syntax:
//
//	ingress {
//		manifests <dir> {
//			poll_interval <duration>
//		}
//		kubernetes {
//			kubeconfig <path>
//			namespaces <namespace...>
//			publish_service <namespace/name>
//			status_addresses <address...>
//			lease_namespace <namespace>
//			lease_name <name>
//			lease_duration <duration>
//			renew_deadline <duration>
//			retry_period <duration>
//		}
//		ingress_class <name>
//		controller <name>
//		default_backend <namespace/name:port>
//		automatic_certificates
//		default_certificate <namespace/name>
//		allow_cross_namespace_secrets
//		hsts "<max-age=…; includeSubDomains; preload>"
//		annotations_prefix <prefix>
//		legacy_annotations on|off
//		proxy_body_size <size>
//		proxy_connect_timeout <seconds>
//		proxy_send_timeout <seconds>
//		proxy_read_timeout <seconds>
//		load_balance round_robin|ewma
//		limit_status_code <status>
//		use_forwarded_headers
//		enable_real_ip
//		forwarded_for_header <header>
//		proxy_real_ip_cidr <cidr...>
//		compute_full_forwarded_for
//		proxy_next_upstream <token...>
//		proxy_next_upstream_tries <n>
//		proxy_next_upstream_timeout <seconds>
//		global_auth <url> {
//			method <method>
//			signin <url>
//			signin_redirect_param <name>
//			response_headers <header...>
//			request_redirect <value>
//			cache_key <key>
//			cache_duration <entry...>
//			always_set_cookie
//			no_auth_locations <path...>
//		}
//		auth_allow_networks <cidr...>
//		auth_tls_insecure_skip_verify
//		unsupported_snippets deny|drop
//		add_headers <namespace/configmap>
//		proxy_set_headers <namespace/configmap>
//		allowed_response_headers <header...>
//		enable_opentelemetry
//		opentelemetry_trust_incoming_span on|off
//		opentelemetry_operation_name <name>
//	}
//
// Exactly one source (manifests or kubernetes) is required; the other
// subdirectives are optional and default in the app. default_backend is
// checked by the app. automatic_certificates, a flag, has TLS hosts
// without a Secret get certificates from Caddy's TLS automation, with the
// issuers of the site's policy (local_certs, acme_ca, …).
// default_certificate, hsts, annotations_prefix, proxy_body_size,
// load_balance and opentelemetry_operation_name are checked by the app; the timeouts are whole seconds, as
// ingress-nginx's.
func parseOption(d *caddyfile.Dispenser, existing any) (any, error) {
	d.Next() // consume option name
	if existing != nil {
		return nil, d.Err("ingress option specified more than once")
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}

	var app ingressApp
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		name := d.Val()
		parseSource, isSource := sourceParsers[name]
		if seen[name] {
			return nil, d.Errf("duplicate ingress option '%s'", name)
		}
		if isSource && app.Source != nil {
			return nil, d.Errf("ingress source '%s': only one source is allowed", name)
		}
		seen[name] = true

		var err error
		switch {
		case isSource:
			app.Source, err = parseSource(d)
		case name == "ingress_class":
			app.IngressClass, err = singleArg(d)
		case name == "controller":
			app.Controller, err = singleArg(d)
		case name == "default_backend":
			app.DefaultBackend, err = singleArg(d)
		case name == "automatic_certificates":
			app.AutomaticCertificates, err = true, noArgs(d)
		case name == "default_certificate":
			app.DefaultCertificate, err = singleArg(d)
		case name == "allow_cross_namespace_secrets":
			app.AllowCrossNamespaceSecrets, err = true, noArgs(d)
		case name == "hsts":
			app.HSTS, err = singleArg(d)
		case name == "annotations_prefix":
			app.AnnotationsPrefix, err = singleArg(d)
		case name == "proxy_body_size":
			app.ProxyBodySize, err = singleArg(d)
		case name == "proxy_connect_timeout":
			app.ProxyConnectTimeout, err = secondsArg(d)
		case name == "proxy_send_timeout":
			app.ProxySendTimeout, err = secondsArg(d)
		case name == "proxy_read_timeout":
			app.ProxyReadTimeout, err = secondsArg(d)
		case name == "load_balance":
			app.LoadBalance, err = singleArg(d)
		case name == "limit_status_code":
			app.LimitStatusCode, err = secondsArg(d)
		case name == "proxy_next_upstream":
			tokens := d.RemainingArgs()
			if len(tokens) == 0 {
				err = d.ArgErr()
			}
			app.ProxyNextUpstream = strings.Join(tokens, " ")
		case name == "proxy_next_upstream_tries":
			var v string
			if v, err = singleArg(d); err == nil {
				n, convErr := strconv.Atoi(v)
				if convErr != nil || n < 0 {
					err = d.Errf("proxy_next_upstream_tries: want a number, got '%s'", v)
				} else {
					app.ProxyNextUpstreamTries = &n
				}
			}
		case name == "proxy_next_upstream_timeout":
			app.ProxyNextUpstreamTimeout, err = secondsArg(d)
		case name == "use_forwarded_headers":
			app.UseForwardedHeaders, err = true, noArgs(d)
		case name == "enable_real_ip":
			app.EnableRealIP, err = true, noArgs(d)
		case name == "compute_full_forwarded_for":
			app.ComputeFullForwardedFor, err = true, noArgs(d)
		case name == "forwarded_for_header":
			app.ForwardedForHeader, err = singleArg(d)
		case name == "proxy_real_ip_cidr":
			app.ProxyRealIPCIDR = d.RemainingArgs()
			if len(app.ProxyRealIPCIDR) == 0 {
				err = d.ArgErr()
			}
		case name == "global_auth":
			app.GlobalAuth, err = parseGlobalAuth(d)
		case name == "auth_allow_networks":
			app.AuthAllowNetworks = d.RemainingArgs()
			if len(app.AuthAllowNetworks) == 0 {
				err = d.ArgErr()
			}
		case name == "add_headers":
			app.AddHeaders, err = singleArg(d)
		case name == "proxy_set_headers":
			app.ProxySetHeaders, err = singleArg(d)
		case name == "allowed_response_headers":
			app.AllowedResponseHeaders = d.RemainingArgs()
			if len(app.AllowedResponseHeaders) == 0 {
				err = d.ArgErr()
			}
		case name == "unsupported_snippets":
			app.UnsupportedSnippets, err = singleArg(d)
		case name == "auth_tls_insecure_skip_verify":
			app.AuthTLSInsecureSkipVerify, err = true, noArgs(d)
		case name == "legacy_annotations":
			app.LegacyAnnotations, err = onOffArg(d)
		case name == "enable_opentelemetry":
			app.EnableOpenTelemetry, err = true, noArgs(d)
		case name == "opentelemetry_trust_incoming_span":
			app.OpenTelemetryTrustIncoming, err = onOffArg(d)
		case name == "opentelemetry_operation_name":
			app.OpenTelemetryOperationName, err = singleArg(d)
		default:
			return nil, d.Errf("unrecognized ingress option '%s'", name)
		}
		if err != nil {
			return nil, err
		}
	}
	if app.Source == nil {
		return nil, d.Err("ingress option needs a source: manifests <dir> or kubernetes")
	}

	raw, err := json.Marshal(app)
	if err != nil {
		return nil, fmt.Errorf("encoding ingress app: %w", err)
	}
	return httpcaddyfile.App{Name: "ingress", Value: raw}, nil
}

// parseManifests parses the manifests source of the ingress option, with
// the dispenser on its name. Syntax:
//
//	manifests <dir> {
//		poll_interval <duration>
//	}
func parseManifests(d *caddyfile.Dispenser) (any, error) {
	src := manifestsSource{Source: "manifests"}
	if !d.NextArg() {
		return nil, d.ArgErr()
	}
	src.Dir = d.Val()
	if d.NextArg() {
		return nil, d.ArgErr()
	}

	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return nil, d.Errf("duplicate manifests option '%s'", name)
		}
		seen[name] = true

		switch name {
		case "poll_interval":
			var err error
			if src.PollInterval, err = durationArg(d); err != nil {
				return nil, err
			}
		default:
			return nil, d.Errf("unrecognized manifests option '%s'", name)
		}
	}
	return src, nil
}

// parseKubernetes parses the kubernetes source of the ingress option,
// with the dispenser on its name. Syntax:
//
//	kubernetes {
//		kubeconfig <path>
//		namespaces <namespace...>
//		publish_service <namespace/name>
//		status_addresses <address...>
//		lease_namespace <namespace>
//		lease_name <name>
//		lease_duration <duration>
//		renew_deadline <duration>
//		retry_period <duration>
//	}
//
// Every subdirective is optional; `kubernetes` alone uses the in-cluster
// configuration and watches all namespaces. The source checks the values.
func parseKubernetes(d *caddyfile.Dispenser) (any, error) {
	src := kubernetesSource{Source: "kubernetes"}
	if d.NextArg() {
		return nil, d.ArgErr()
	}

	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return nil, d.Errf("duplicate kubernetes option '%s'", name)
		}
		seen[name] = true

		var err error
		switch name {
		case "kubeconfig":
			src.Kubeconfig, err = singleArg(d)
		case "namespaces":
			src.Namespaces, err = args(d)
		case "publish_service":
			src.PublishService, err = singleArg(d)
		case "status_addresses":
			src.StatusAddresses, err = args(d)
		case "lease_namespace":
			src.LeaseNamespace, err = singleArg(d)
		case "lease_name":
			src.LeaseName, err = singleArg(d)
		case "lease_duration":
			src.LeaseDuration, err = durationArg(d)
		case "renew_deadline":
			src.RenewDeadline, err = durationArg(d)
		case "retry_period":
			src.RetryPeriod, err = durationArg(d)
		default:
			return nil, d.Errf("unrecognized kubernetes option '%s'", name)
		}
		if err != nil {
			return nil, err
		}
	}
	return src, nil
}

// singleArg returns the one argument of the subdirective the dispenser is
// on, which takes no block.
func singleArg(d *caddyfile.Dispenser) (string, error) {
	name := d.Val()
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	val := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return "", d.Errf("'%s' takes no block", name)
	}
	return val, nil
}

// noArgs checks that the subdirective the dispenser is on, a flag, has no
// arguments and no block.
func noArgs(d *caddyfile.Dispenser) error {
	name := d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return d.Errf("'%s' takes no block", name)
	}
	return nil
}

// args returns the one or more arguments of the subdirective the
// dispenser is on, which takes no block.
func args(d *caddyfile.Dispenser) ([]string, error) {
	name := d.Val()
	vals := d.RemainingArgs()
	if len(vals) == 0 {
		return nil, d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return nil, d.Errf("'%s' takes no block", name)
	}
	return vals, nil
}

// durationArg returns the one argument, a positive duration, of the
// subdirective the dispenser is on.
func durationArg(d *caddyfile.Dispenser) (caddy.Duration, error) {
	name := d.Val()
	val, err := singleArg(d)
	if err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(val)
	if err != nil {
		return 0, d.Errf("parsing %s '%s': %v", name, val, err)
	}
	if dur <= 0 {
		return 0, d.Errf("%s '%s' must be positive", name, val)
	}
	return caddy.Duration(dur), nil
}

// secondsArg reads one argument, a whole number (of seconds, or a
// status).
func secondsArg(d *caddyfile.Dispenser) (int, error) {
	name := d.Val()
	v, err := singleArg(d)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, d.Errf("%s: want a whole number such as 60, got '%s'", name, v)
	}
	return n, nil
}

// parseGlobalAuth parses global_auth, with the dispenser on its name.
// Each subdirective takes the value of the auth-* annotation of that
// name; lists (response_headers, cache_duration entries) take one
// argument per item.
func parseGlobalAuth(d *caddyfile.Dispenser) (*globalAuth, error) {
	g := new(globalAuth)
	var err error
	if !d.NextArg() {
		return nil, d.ArgErr()
	}
	g.URL = d.Val()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return nil, d.Errf("duplicate global_auth option '%s'", name)
		}
		seen[name] = true
		switch name {
		case "method":
			g.Method, err = singleArg(d)
		case "signin":
			g.Signin, err = singleArg(d)
		case "signin_redirect_param":
			g.SigninRedirectParam, err = singleArg(d)
		case "request_redirect":
			g.RequestRedirect, err = singleArg(d)
		case "cache_key":
			g.CacheKey, err = singleArg(d)
		case "always_set_cookie":
			g.AlwaysSetCookie, err = true, noArgs(d)
		case "response_headers", "cache_duration", "no_auth_locations":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return nil, d.ArgErr()
			}
			switch name {
			case "response_headers":
				g.ResponseHeaders = strings.Join(args, ",")
			case "cache_duration":
				g.CacheDuration = strings.Join(args, ",")
			default:
				g.NoAuthLocations = args
			}
		default:
			return nil, d.Errf("unrecognized global_auth option '%s'", name)
		}
		if err != nil {
			return nil, err
		}
	}
	return g, nil
}

// onOffArg returns the one argument, on or off, of the subdirective the
// dispenser is on.
func onOffArg(d *caddyfile.Dispenser) (*bool, error) {
	name := d.Val()
	v, err := singleArg(d)
	if err != nil {
		return nil, err
	}
	switch v {
	case "on":
		b := true
		return &b, nil
	case "off":
		return new(bool), nil
	}
	return nil, d.Errf("%s: want on or off, got '%s'", name, v)
}
