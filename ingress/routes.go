package ingress

import (
	"encoding/json"
	"strconv"
)

// UpstreamSourceModule is the name of the dynamic upstream source
// (http.reverse_proxy.upstreams.<name>) that resolves a Service port to the
// ready endpoints behind it at request time.
const UpstreamSourceModule = "ingress"

// UpstreamKey names a Service port as EndpointSlices name it: by the
// Service's port name ("" for a single unnamed port).
type UpstreamKey struct {
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	PortName  string `json:"port_name,omitempty"`
}

func (k UpstreamKey) String() string {
	return k.Namespace + "/" + k.Service + ":" + k.PortName
}

// target is where a backend sends requests: a Service port, or nowhere
// (nil upstream) when the backend cannot be resolved, which serves 503.
type target struct {
	upstream *UpstreamKey
}

type route struct {
	Match    []map[string]any `json:"match,omitempty"`
	Handle   []map[string]any `json:"handle"`
	Terminal bool             `json:"terminal,omitempty"`
}

// routesKey is everything buildRoutes depends on.
type routesKey struct {
	upstream  UpstreamKey
	resolved  bool
	opts      ingressOptions
	hostTLS   bool
	httpsPort int
	hsts      string
}

// routesFor returns the routes for a backend, built once per distinct
// input and shared by every path (and translation) that has the same.
func (t *translation) routesFor(tgt target, o ingressOptions, hostTLS bool) json.RawMessage {
	k := routesKey{resolved: tgt.upstream != nil, opts: o, hostTLS: hostTLS, httpsPort: t.opts.HTTPSPort, hsts: t.opts.HSTS}
	if tgt.upstream != nil {
		k.upstream = *tgt.upstream
	}
	if r, ok := t.routes[k]; ok {
		return r
	}
	r, ok := t.prev.routes[k]
	if !ok {
		r = buildRoutes(tgt, o, hostTLS, t.opts.HTTPSPort, t.opts.HSTS)
	}
	t.routes[k] = r
	return r
}

// buildRoutes returns the Caddy routes (a caddyhttp.RouteList) that serve a
// backend with the options of its Ingress. Nothing here comes from user
// strings except validated names: no placeholders, matchers or handler
// settings are taken from annotations as text.
func buildRoutes(t target, o ingressOptions, hostTLS bool, httpsPort int, defaultHSTS string) json.RawMessage {
	if o.refused != "" {
		t = target{}
	}
	var routes []route
	if o.forceSSLRedirect || (o.sslRedirect && hostTLS) {
		routes = append(routes, redirectRoute(httpsPort))
	}
	hsts := o.hsts
	if !o.hstsSet && hostTLS {
		hsts = defaultHSTS
	}
	if hsts != "" {
		routes = append(routes, hstsRoute(hsts))
	}
	routes = append(routes, route{Handle: []map[string]any{backendHandler(t, &o.backend)}})
	// Marshaling maps of strings, numbers and bools cannot fail.
	out, _ := json.Marshal(routes)
	return out
}

// redirectRoutes is a RouteList that only redirects plain HTTP to HTTPS.
func (t *translation) redirectRoutes() json.RawMessage {
	if t.redirect == nil {
		t.redirect, _ = json.Marshal([]route{redirectRoute(t.opts.HTTPSPort)})
	}
	return t.redirect
}

// redirectRoute answers plain-HTTP requests with a permanent redirect to
// the same host and URI over HTTPS. 308 keeps the method and body.
func redirectRoute(httpsPort int) route {
	port := ""
	if httpsPort != 0 && httpsPort != 443 {
		port = ":" + strconv.Itoa(httpsPort)
	}
	return route{
		Match: []map[string]any{{"protocol": "http"}},
		Handle: []map[string]any{{
			"handler":     "static_response",
			"status_code": 308,
			"headers": map[string][]string{
				"Location": {"https://{http.request.host}" + port + "{http.request.uri}"},
			},
		}},
		Terminal: true,
	}
}

// hstsRoute sets the Strict-Transport-Security header on HTTPS responses.
// value is canonical (ParseHSTS), so it holds no placeholder.
func hstsRoute(value string) route {
	return route{
		Match: []map[string]any{{"protocol": "https"}},
		Handle: []map[string]any{{
			"handler": "headers",
			"response": map[string]any{
				"set":      map[string][]string{"Strict-Transport-Security": {value}},
				"deferred": true,
			},
		}},
	}
}

// TransportModule is the name of the reverse_proxy transport
// (http.reverse_proxy.transport.<name>) that speaks TLS to backends with
// the CAs and client certificate of a Secret in Result.BackendSecrets.
const TransportModule = "ingress"

// transport returns the reverse_proxy transport for the backend protocol,
// nil for plain HTTP/1.1 (Caddy's default).
func transport(t target, b *backendOptions) map[string]any {
	switch b.protocol {
	case "GRPC", "H2C":
		return map[string]any{"protocol": "http", "versions": []string{"h2c", "2"}}
	case "HTTPS", "GRPCS":
		tr := map[string]any{"protocol": TransportModule, "ingress": b.ingress}
		if b.protocol == "GRPCS" {
			tr["versions"] = []string{"2"}
		}
		if b.secret != "" {
			tr["secret"] = b.secret
		}
		// The name verified and sent as SNI: proxy-ssl-name, else the
		// Service's cluster DNS name.
		name := b.serverName
		if name == "" && (b.verify || b.sendSNI) {
			name = t.upstream.Service + "." + t.upstream.Namespace + ".svc"
		}
		if name != "" {
			tr["server_name"] = name
		}
		if b.verify {
			tr["verify"] = true
		}
		if b.sendSNI {
			tr["send_sni"] = true
		}
		return tr
	}
	return nil
}

func backendHandler(t target, b *backendOptions) map[string]any {
	if t.upstream == nil {
		return map[string]any{"handler": "static_response", "status_code": 503}
	}
	up := map[string]any{
		"source":    UpstreamSourceModule,
		"namespace": t.upstream.Namespace,
		"service":   t.upstream.Service,
	}
	if t.upstream.PortName != "" {
		up["port_name"] = t.upstream.PortName
	}
	h := map[string]any{"handler": "reverse_proxy", "dynamic_upstreams": up}
	if tr := transport(t, b); tr != nil {
		h["transport"] = tr
	}
	return h
}
