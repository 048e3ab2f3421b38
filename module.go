// Package caddyingress turns Caddy into a Kubernetes Ingress controller.
//
// The ingress app reads Ingress, IngressClass, Service, EndpointSlice and
// TLS Secret objects from a source, translates them (package ingress) and
// applies the result in-process: the http.handlers.ingress handler serves
// from a route table that is swapped atomically, the
// http.reverse_proxy.upstreams.ingress source resolves Services to ready
// endpoints per request, and the tls.get_certificate.ingress manager serves
// certificates from Secrets by SNI from memory. Cluster changes never reload
// Caddy's config.
package caddyingress

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/secrets"
)

func init() {
	caddy.RegisterModule(new(App))
}

// App is the ingress app: it watches a source of Kubernetes objects and
// keeps the routes, upstreams and certificates that serve them current.
type App struct {
	// Source says where Kubernetes objects come from, as a module in the
	// ingress.sources namespace; for example
	// `{"source": "manifests", "dir": "./manifests"}` reads a directory
	// of manifests. Required.
	SourceRaw json.RawMessage `json:"source,omitempty" caddy:"namespace=ingress.sources inline_key=source"`

	// IngressClass is the class name this controller answers to: in
	// spec.ingressClassName when no IngressClass object of that name
	// exists, and in the legacy kubernetes.io/ingress.class annotation.
	// Default: caddy.
	IngressClass string `json:"ingress_class,omitempty"`

	// Controller is the spec.controller of the IngressClass objects this
	// controller owns. Ingresses of IngressClasses with another controller
	// are ignored entirely. Default: caddy-ingress.io/controller.
	Controller string `json:"controller,omitempty"`

	// DefaultBackend is the Service port, as "namespace/name:port" (port
	// by number or name), that serves requests no rule and no Ingress
	// default backend serve. Default: none; such requests get 404.
	DefaultBackend string `json:"default_backend,omitempty"`

	// AutomaticCertificates, when on, gives TLS hosts without a Secret
	// certificates from Caddy's TLS automation: ACME, or the internal
	// issuer when configured, e.g. `local_certs`; hosts are managed and
	// released as Ingresses come and go. A host is managed when it is
	// listed in spec.tls without secretName, or when its Ingress has the
	// annotation caddy-ingress.io/acme: "true". The issuers are those of
	// the TLS automation policy that lists the ingress certificate
	// manager for the host. Default off: anyone who may create Ingresses
	// could otherwise make Caddy request certificates from a CA.
	AutomaticCertificates bool `json:"automatic_certificates,omitempty"`

	// DefaultCertificate is the Secret ("namespace/name", type
	// kubernetes.io/tls) whose certificate is served for unknown server
	// names and for TLS hosts whose Secret is missing or invalid (their
	// redirect to HTTPS stays). Default: a self-signed certificate
	// generated at start, also used while this Secret is unusable.
	DefaultCertificate string `json:"default_certificate,omitempty"`

	// AllowCrossNamespaceSecrets lets the annotations that name a Secret
	// (auth-tls-secret, proxy-ssl-secret) name one in another namespace
	// than the Ingress's own. Default off: such an Ingress is refused
	// (its backends answer 503) and reported.
	AllowCrossNamespaceSecrets bool `json:"allow_cross_namespace_secrets,omitempty"`

	// HSTS is the Strict-Transport-Security value sent on HTTPS responses
	// of TLS hosts whose Ingress does not set the caddy-ingress.io/hsts
	// annotation, such as "max-age=31536000; includeSubDomains". Default:
	// none.
	HSTS string `json:"hsts,omitempty"`

	// AnnotationsPrefix is the prefix of the ingress-nginx annotations
	// read, as ingress-nginx's --annotations-prefix flag sets it.
	// Annotations under caddy-ingress.io/ are always read and win.
	// Default: nginx.ingress.kubernetes.io.
	AnnotationsPrefix string `json:"annotations_prefix,omitempty"`

	// LegacyAnnotations also reads annotations under
	// ingress.kubernetes.io/, the prefix of early ingress-nginx versions
	// (and of manifests written for them), after the other two. Default:
	// on; false turns it off.
	LegacyAnnotations *bool `json:"legacy_annotations,omitempty"`

	// ProxyBodySize is the largest request body of Ingresses without a
	// proxy-body-size annotation, in nginx size syntax ("8m", "1g"; "0"
	// for no limit). Default: no limit, as Caddy has (ingress-nginx:
	// 1m, which breaks uploads that were never annotated).
	ProxyBodySize string `json:"proxy_body_size,omitempty"`

	// ProxyConnectTimeout, ProxySendTimeout and ProxyReadTimeout are the
	// proxy timeouts, in seconds, of Ingresses without the annotations
	// of those names. Defaults: 5 to connect (as ingress-nginx), no limit
	// to write or read (ingress-nginx: 60 each, which also ends idle
	// streams and WebSockets after a minute).
	ProxyConnectTimeout int `json:"proxy_connect_timeout,omitempty"`
	ProxySendTimeout    int `json:"proxy_send_timeout,omitempty"`
	ProxyReadTimeout    int `json:"proxy_read_timeout,omitempty"`

	// ProxyNextUpstream, ProxyNextUpstreamTries and
	// ProxyNextUpstreamTimeout are when a failed request goes to the next
	// endpoint, for Ingresses without the proxy-next-upstream annotations
	// (same values). Defaults as ingress-nginx: "error timeout", 3 tries,
	// no time limit (0).
	ProxyNextUpstream        string `json:"proxy_next_upstream,omitempty"`
	ProxyNextUpstreamTries   *int   `json:"proxy_next_upstream_tries,omitempty"`
	ProxyNextUpstreamTimeout int    `json:"proxy_next_upstream_timeout,omitempty"`

	// LimitStatusCode answers requests over the limits of limit-rps,
	// limit-rpm and limit-connections. Default: 503, as ingress-nginx's
	// limit-req-status-code and limit-conn-status-code.
	LimitStatusCode int `json:"limit_status_code,omitempty"`

	// UseForwardedHeaders believes the X-Forwarded-For, -Proto, -Host
	// and -Port headers of peers in ProxyRealIPCIDR, as ingress-nginx's
	// use-forwarded-headers: the client's address (for rate limits,
	// X-Real-IP and logs) and the scheme of the HTTPS redirect come from
	// them. Default off. Caddy's own trusted_proxies (servers option)
	// does the same for all sites.
	UseForwardedHeaders bool `json:"use_forwarded_headers,omitempty"`

	// EnableRealIP reads only the client's address from
	// ForwardedForHeader of peers in ProxyRealIPCIDR, as ingress-nginx's
	// enable-real-ip. Default off.
	EnableRealIP bool `json:"enable_real_ip,omitempty"`

	// ForwardedForHeader is the header the client's address is read
	// from. Default X-Forwarded-For.
	ForwardedForHeader string `json:"forwarded_for_header,omitempty"`

	// ProxyRealIPCIDR are the networks of the proxies whose forwarded
	// headers are believed. Default: every address, as ingress-nginx's
	// proxy-real-ip-cidr (0.0.0.0/0); set it to your load balancer's.
	ProxyRealIPCIDR []string `json:"proxy_real_ip_cidr,omitempty"`

	// ComputeFullForwardedFor sends backends the X-Forwarded-For list of
	// trusted proxies with the peer appended, as ingress-nginx's
	// compute-full-forwarded-for; otherwise X-Forwarded-For is the
	// client's address alone. Default off.
	ComputeFullForwardedFor bool `json:"compute_full_forwarded_for,omitempty"`

	// LoadBalance is how requests are spread over a Service's ready
	// endpoints for Ingresses without a load-balance annotation:
	// "round_robin" or "ewma" (Caddy's least_conn). Default:
	// round_robin, as ingress-nginx.
	LoadBalance string `json:"load_balance,omitempty"`

	// GlobalAuth is external authentication for the paths of every
	// Ingress without an auth-url, as ingress-nginx's global-auth-url
	// and the other global-auth-* settings; an Ingress opts out with
	// enable-global-auth: "false". Default: none.
	GlobalAuth *GlobalAuth `json:"global_auth,omitempty"`

	// AuthAllowNetworks are networks that auth-url (and global auth)
	// and mirror-target may reach although the guard refuses them by
	// default: loopback, link-local, unspecified and this host's own
	// addresses, which include Caddy's admin endpoint. Default: none. List an auth
	// service's sidecar address here, such as 127.0.0.1/32 for one on
	// the pod's loopback, knowing that any Ingress author can then
	// reach every service on it.
	AuthAllowNetworks []string `json:"auth_allow_networks,omitempty"`

	// AuthTLSInsecureSkipVerify does not verify the certificates of
	// https auth services, as ingress-nginx does not. Default off:
	// they are verified against the system's roots.
	AuthTLSInsecureSkipVerify bool `json:"auth_tls_insecure_skip_verify,omitempty"`

	// AddHeaders names a ConfigMap ("namespace/name") whose entries are
	// set on every response of the Ingresses' paths, replacing the
	// backend's (ingress-nginx's add-headers). ProxySetHeaders names one
	// whose entries are sent to every backend (proxy-set-headers).
	// Values are literal. Only these ConfigMaps, and those that
	// annotations name, are read.
	AddHeaders      string `json:"add_headers,omitempty"`
	ProxySetHeaders string `json:"proxy_set_headers,omitempty"`

	// AllowedResponseHeaders are the response headers the custom-headers
	// annotation may set (ingress-nginx's
	// global-allowed-response-headers). Default: none, so custom-headers
	// answers 503 until they are listed.
	AllowedResponseHeaders []string `json:"allowed_response_headers,omitempty"`

	// UnsupportedSnippets is what happens to a configuration-snippet,
	// server-snippet or auth-snippet with a directive outside the
	// translated subset: "deny" (default) makes the Ingress's paths
	// answer 503; "drop" drops that snippet, reports it, and serves the
	// rest of the Ingress, as ingress-nginx does with
	// allow-snippet-annotations off.
	UnsupportedSnippets string `json:"unsupported_snippets,omitempty"`

	// EnableOpenTelemetry makes an OpenTelemetry span of each request of
	// every Ingress that does not turn it off with the annotation
	// enable-opentelemetry: "false", as ingress-nginx's ConfigMap key of
	// that name; the annotation "true" turns it on for one Ingress. The
	// spans come from Caddy's tracing handler, whose tracer provider all
	// Ingresses share; it exports as the OTEL_* environment variables of
	// the Caddy process say (OTEL_EXPORTER_OTLP_ENDPOINT,
	// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
	// OTEL_TRACES_SAMPLER, …). Default off.
	EnableOpenTelemetry bool `json:"enable_opentelemetry,omitempty"`

	// OpenTelemetryTrustIncomingSpan continues the trace that a request's
	// trace context (traceparent) names, for Ingresses without the
	// opentelemetry-trust-incoming-span annotation. Off, the client's
	// trace context headers are removed before the span starts, so that
	// a client cannot join the traces of others. Default: on, as
	// ingress-nginx.
	OpenTelemetryTrustIncomingSpan *bool `json:"opentelemetry_trust_incoming_span,omitempty"`

	// OpenTelemetryOperationName is the span name of Ingresses without
	// the opentelemetry-operation-name annotation: letters, digits, _
	// and -. Default: the Ingress path, as nginx names a span after its
	// location.
	OpenTelemetryOperationName string `json:"opentelemetry_operation_name,omitempty"`

	source  Source
	traffic ingress.Traffic
	// authClient sends auth requests; authCache holds their answers.
	authClient authClient
	authCache  authCache
	// mirrors sends the copies of mirror-target.
	mirrors    mirrorClient
	globalAuth *ingress.ExternalAuth
	realIP     realIP
	// limitZones are the rate-limit counters, by Ingress (see Limit).
	limitsMu       sync.Mutex
	limitZones     map[string]*limitZone
	defaultBackend *ingress.ServiceRef
	defaultCertRef *ingress.SecretRef
	ctx            caddy.Context
	// routesBase is routesParent's context, made at the first build.
	routesBase *caddy.Context
	logger     *zap.Logger

	// state is what requests and handshakes read, swapped atomically;
	// nil before Start.
	state atomic.Pointer[served]
	// expectFirst is set when the source had its first snapshot at hand
	// when provisioned, so that requests wait for it (awaitFirst);
	// firstApplied is closed once it is applied.
	expectFirst  atomic.Bool
	firstApplied chan struct{}
	firstOnce    sync.Once
	// clientAuthPolicy is set when a TLS connection policy uses the
	// ingress_client_auth matcher.
	clientAuthPolicy atomic.Bool
	// verified caches client certificate verifications.
	verified verifyCache
	// pools are the connection pools to backends, shared by the
	// transports with the same settings (see Transport).
	pools backendPools

	// mu serializes updates; the fields below it belong to the updater.
	mu          sync.Mutex
	stopped     bool
	cleanedUp   bool
	httpsPort   int
	defaultCert *tls.Certificate
	translator  ingress.Incremental
	last        *ingress.Snapshot
	// sourceProblems are the source's problems with last.
	sourceProblems []ingress.Problem
	// retranslation translates last again when a certificate in it
	// becomes valid or expires.
	retranslation *time.Timer
	lastResult    *ingress.Result
	// lastCerts and lastDefaultCert are the certificates served since
	// certsApplied.
	lastCerts       []ingress.Certificate
	lastDefaultCert *ingress.Certificate
	certsApplied    bool
	// certsGen counts the changes of the certificates served.
	certsGen uint64
	compiled map[string]*compiledRoute
	// shared are the reverse_proxy handlers that compiled routes share,
	// by their JSON.
	shared map[string]*sharedProxy
	// static are the compiled routes with static upstreams; live the
	// tables not yet drained (the current one among them), gen the
	// generation of the newest; pending the routes no current handler
	// uses, released once the tables that used them drain.
	static   map[*compiledRoute]struct{}
	live     map[*table]struct{}
	gen      uint64
	pending  []*compiledRoute
	reported map[ingress.Problem]struct{}
	problems []ingress.Problem // of the last translation
	// allProblems are problems and sourceProblems, as last reported.
	allProblems []ingress.Problem
	owned       []ingress.ObjectRef // Ingresses of our class
	autocerts   autoCerts           // automatic certificates, partly read by handshakes

	// requestMetrics, when Caddy's metrics are on, count the requests of
	// each path; controllerMetrics count the app's work (see
	// metrics_controller.go); status is what the admin API reports.
	requestMetrics    *requestMetrics
	controllerMetrics *controllerMetrics
	status            atomic.Pointer[appliedStatus]
	// previous is the app that served the admin API before this one
	// started, to go back to if this one is stopped first; halted is set
	// by Stop.
	previous atomic.Pointer[App]
	halted   atomic.Bool
}

// Defaults of the App's settings.
const (
	DefaultIngressClass = "caddy"
	DefaultController   = "caddy-ingress.io/controller"
)

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "ingress",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision decodes the configuration and sets defaults. It starts
// nothing, since it also runs for `caddy validate`.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	if a.IngressClass == "" {
		a.IngressClass = DefaultIngressClass
	}
	if a.Controller == "" {
		a.Controller = DefaultController
	}
	if a.DefaultBackend != "" {
		ref, err := ingress.ParseServiceRef(a.DefaultBackend)
		if err != nil {
			return fmt.Errorf("default_backend: %w", err)
		}
		a.defaultBackend = &ref
	}
	if a.DefaultCertificate != "" {
		ref, err := ingress.ParseSecretRef(a.DefaultCertificate, "")
		if err != nil {
			return fmt.Errorf("default_certificate: %w", err)
		}
		a.defaultCertRef = &ref
	}
	if a.HSTS != "" {
		v, err := ingress.ParseHSTS(a.HSTS)
		if err != nil {
			return fmt.Errorf("hsts: %w", err)
		}
		a.HSTS = v
	}
	if _, err := ingress.ParseOperationName(a.OpenTelemetryOperationName); err != nil {
		return fmt.Errorf("opentelemetry_operation_name: %w", err)
	}
	if p := strings.TrimSuffix(a.AnnotationsPrefix, "/"); p != "" {
		if errs := validation.IsDNS1123Subdomain(p); len(errs) > 0 {
			return fmt.Errorf("annotations_prefix %q: %s", a.AnnotationsPrefix, errs[0])
		}
		a.AnnotationsPrefix = p
	}
	if err := a.provisionTraffic(); err != nil {
		return err
	}
	if err := a.provisionRealIP(); err != nil {
		return err
	}
	if err := a.provisionAuth(); err != nil {
		return err
	}
	if a.SourceRaw == nil {
		return fmt.Errorf("no source configured")
	}
	mod, err := ctx.LoadModule(a, "SourceRaw")
	if err != nil {
		return fmt.Errorf("loading source: %v", err)
	}
	a.source = mod.(Source)
	a.compiled = make(map[string]*compiledRoute)
	a.shared = make(map[string]*sharedProxy)
	a.static = make(map[*compiledRoute]struct{})
	a.live = make(map[*table]struct{})
	a.reported = make(map[ingress.Problem]struct{})
	a.firstApplied = make(chan struct{})
	if err := a.provisionMetrics(); err != nil {
		return err
	}
	if p, ok := a.source.(Preloader); ok && p.Preloaded() {
		a.expectFirst.Store(true)
	}
	return nil
}

// Start starts the source and returns at once; it never waits on the
// network. Until the first snapshot is applied, requests get 503 (see
// Handler) and readiness reports not ready, so that a half-empty table is
// never served. A snapshot that is at hand without the network (a
// directory read at Provision, caches an earlier config filled) is
// applied before Start returns.
func (a *App) Start() error {
	a.httpsPort = caddyhttp.DefaultHTTPSPort
	if httpApp, err := a.ctx.AppIfConfigured("http"); err == nil {
		if h, ok := httpApp.(*caddyhttp.App); ok && h.HTTPSPort != 0 {
			a.httpsPort = h.HTTPSPort
		}
		if err := a.startRequestMetrics(httpApp); err != nil {
			return err
		}
	}
	cert, err := secrets.SelfSigned(time.Now())
	if err != nil {
		return fmt.Errorf("generating default certificate: %v", err)
	}
	a.defaultCert = cert
	a.state.Store(&served{certs: secrets.NewStore(nil, cert), endpoints: newEndpointIndex(nil)})

	if w, ok := a.source.(ConfigMapWatcher); ok {
		w.WatchConfigMaps(a.configMapRefs())
	}
	if err := a.source.Start(a.update); err != nil {
		return fmt.Errorf("starting source: %v", err)
	}
	a.logger.Info("started", zap.String("ingress_class", a.IngressClass), zap.String("controller", a.Controller))
	a.makeActive()
	return nil
}

// Stop stops the source, waiting a bounded time for its goroutines, and
// the scheduled translation. Routes keep serving until Caddy stops the
// server.
func (a *App) Stop() error {
	a.deactivate()
	err := a.source.Stop()
	a.mu.Lock()
	a.stopped = true
	if a.retranslation != nil {
		a.retranslation.Stop()
	}
	a.mu.Unlock()
	return err
}

// Cleanup releases the compiled routes once no request uses them. The
// last state stays in service: in a config reload Caddy cleans up the old
// config while its server still finishes the requests on its open
// connections, and those get the old routes rather than 503 (as Caddy's
// own handlers serve them after their cleanup). The mirror copies in
// flight are ended, and no more are sent.
func (a *App) Cleanup() error {
	a.mirrors.close(mirrorCloseWait)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	if s := a.current(); s != nil && s.routes != nil && !a.cleanedUp {
		a.cleanedUp = true
		a.retire(s.routes)
	}
	return nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
