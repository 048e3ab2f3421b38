package ingress

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Module names of the handlers and matchers that render uses besides
// Caddy's own. They take their settings as validated data and never
// expand placeholders in them.
const (
	// RedirectModule (http.handlers.<name>) answers with the redirects
	// of a redirectPhase.
	RedirectModule = "ingress_redirect"
	// RewriteModule (http.handlers.<name>) replaces the request's path
	// by a regular expression's target.
	RewriteModule = "ingress_rewrite"
	// ResponseHeadersModule (http.handlers.<name>) rewrites the
	// backend's Location, Refresh and Set-Cookie headers.
	ResponseHeadersModule = "ingress_response_headers"
	// UnreadyMatcherModule (http.matchers.<name>) matches requests whose
	// Service has no ready endpoints.
	UnreadyMatcherModule = "ingress_unready"
	// UpstreamHostModule (http.handlers.<name>) names the Host header
	// that the ingress transport sends to the backend (upstream-vhost),
	// so that the reverse_proxy handlers of paths to one backend are
	// the same, and shared, whatever Host each sends.
	UpstreamHostModule = "ingress_upstream_host"
)

// UpstreamSourceModule is the name of the dynamic upstream source
// (http.reverse_proxy.upstreams.<name>) that resolves a Service port to the
// ready endpoints behind it at request time.
const UpstreamSourceModule = "ingress"

// TransportModule is the name of the reverse_proxy transport
// (http.reverse_proxy.transport.<name>) of every reverse_proxy rendered:
// it shares one connection pool among the transports with the same
// settings, and with "tls" speaks TLS to backends with the CAs and client
// certificate of a Secret in Result.BackendSecrets.
const TransportModule = "ingress"

type route struct {
	Match    []map[string]any `json:"match,omitempty"`
	Handle   []map[string]any `json:"handle"`
	Terminal bool             `json:"terminal,omitempty"`
}

type handler = map[string]any

// render returns the Caddy routes (a caddyhttp.RouteList) that serve a
// plan, in the order of its phases. Nothing here comes from user strings
// except validated values: placeholders appear only where render writes
// them itself.
func render(p *plan) json.RawMessage {
	var routes []route
	if p.trace.on {
		routes = append(routes, route{Handle: tracingHandlers(&p.trace)})
	}
	if p.logSkip {
		routes = append(routes, route{Handle: []map[string]any{{"handler": "vars", "log_skip": true}}})
	}
	if h := redirectHandler(&p.redirect); h != nil {
		routes = append(routes, route{Handle: []map[string]any{h}})
	}
	if p.headers.hsts != "" {
		routes = append(routes, hstsRoute(p.headers.hsts))
	}
	if c := &p.headers.cors; c.on {
		h := handler{"handler": CORSModule, "origins": strings.Split(c.origins, ","), "methods": c.methods,
			"headers": c.headers, "max_age": c.maxAge}
		if c.expose != "" {
			h["expose"] = c.expose
		}
		if c.credentials {
			h["credentials"] = true
		}
		routes = append(routes, route{Handle: []map[string]any{h}})
	}
	if p.headers.ops != "" {
		routes = append(routes, route{Handle: []map[string]any{{"handler": HeadersModule, "ops": renderOps(p.headers.ops)}}})
	}
	routes = appendAccess(routes, &p.access)
	if r := p.access.ret; r.code != 0 && p.access.denied == "" {
		h := handler{"handler": HeadersModule, "respond_status": r.code}
		if r.text != "" {
			h["respond_text"] = r.text
		}
		routes = append(routes, route{Handle: []map[string]any{h}})
		return marshal(routes)
	}
	if p.access.denied != "" || !p.proxy.resolved {
		routes = append(routes, route{Handle: []map[string]any{{"handler": "static_response", "status_code": 503}}})
		return marshal(routes)
	}
	if r := &p.rewrite; r.pattern != "" {
		h := handler{"handler": RewriteModule, "pattern": r.pattern, "target": r.target}
		if r.forwardedPrefix != "" {
			h["forwarded_prefix"] = r.forwardedPrefix
		}
		routes = append(routes, route{Handle: []map[string]any{h}})
	}
	if l := &p.limits.rate; l.zone != "" {
		h := handler{"handler": LimitModule, "zone": l.zone, "burst_multiplier": l.burstMultiplier}
		for k, v := range map[string]int{"rps": l.rps, "rpm": l.rpm, "connections": l.connections, "status_code": l.status} {
			if v != 0 {
				h[k] = v
			}
		}
		if l.allow != "" {
			h["allow"] = strings.Split(l.allow, ",")
		}
		routes = append(routes, route{Handle: []map[string]any{h}})
	}
	if n := p.limits.bodySize; n > 0 {
		routes = append(routes, route{Handle: []map[string]any{{"handler": "request_body", "max_size": n}}})
	}
	if l := &p.limits; l.sendRate > 0 {
		h := handler{"handler": LimitRateModule, "rate": l.sendRate}
		if l.sendRateAfter > 0 {
			h["after"] = l.sendRateAfter
		}
		routes = append(routes, route{Handle: []map[string]any{h}})
	}
	if m := &p.proxy.mirror; m.url != "" {
		routes = append(routes, route{Handle: []map[string]any{mirrorHandler(m)}})
	}
	if h := responseHeadersHandler(&p.headers); h != nil {
		routes = append(routes, route{Handle: []map[string]any{h}})
	}
	if fb := &p.proxy.fallback; fb.upstream.Service != "" {
		routes = append(routes, route{
			Match: []map[string]any{{UnreadyMatcherModule: upstreamJSON(p.proxy.upstream)}},
			Handle: []map[string]any{
				errorHeaders(fb, "503", false),
				withConnection(reverseProxy(fb.upstream, p.proxy.balance, p.proxy.fullForwardedFor), p.proxy.connection),
			},
			Terminal: true,
		})
	}
	if k := &p.proxy.canary; k.match.Ingress != "" {
		m := map[string]any{"ingress": k.match.Ingress}
		for key, v := range map[string]string{"header": k.match.Header, "header_value": k.match.HeaderValue,
			"header_pattern": k.match.HeaderPattern, "cookie": k.match.Cookie, "affinity_cookie": k.match.AffinityCookie} {
			if v != "" {
				m[key] = v
			}
		}
		proxy := withConnection(reverseProxy(k.upstream, "", p.proxy.fullForwardedFor), p.proxy.connection)
		if k.affinity.Name != "" {
			m["upstream"] = upstreamJSON(k.upstream)
			setSelectionPolicy(proxy, affinityPolicy(&k.affinity))
		}
		routes = append(routes, route{
			Match:    []map[string]any{{CanaryMatcherModule: m}},
			Handle:   []map[string]any{proxy},
			Terminal: true,
		})
	}
	proxy := []map[string]any{proxyHandler(p)}
	if host := p.headers.upstreamHost; host != "" {
		proxy = append([]map[string]any{{"handler": UpstreamHostModule, "host": host}}, proxy...)
	}
	routes = append(routes, route{Handle: proxy})
	return marshal(routes)
}

// marshal encodes routes; maps of strings, numbers and bools cannot fail.
func marshal(routes []route) json.RawMessage {
	out, _ := json.Marshal(routes)
	return out
}

func redirectHandler(r *Redirect) handler {
	if !r.Any() {
		return nil
	}
	h := handler{"handler": RedirectModule}
	if r.Host != "" {
		h["host"] = r.Host
	}
	if r.To != "" {
		h["to"], h["code"] = r.To, r.Code
		if r.Relative {
			h["relative"] = true
		}
	}
	if r.HTTPS {
		h["https"] = true
		if r.HTTPSPort != 0 && r.HTTPSPort != 443 {
			h["https_port"] = r.HTTPSPort
		}
		if r.PreserveTrailingSlash {
			h["preserve_trailing_slash"] = true
		}
	}
	return h
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

func responseHeadersHandler(h *headersPhase) handler {
	out := handler{}
	if h.redirectFrom != "" {
		out["redirect_from"], out["redirect_to"] = h.redirectFrom, h.redirectTo
	}
	if h.cookieDomainFrom != "" {
		out["cookie_domain_from"], out["cookie_domain_to"] = h.cookieDomainFrom, h.cookieDomainTo
	}
	if h.cookiePathFrom != "" {
		out["cookie_path_from"], out["cookie_path_to"] = h.cookiePathFrom, h.cookiePathTo
	}
	if len(out) == 0 {
		return nil
	}
	out["handler"] = ResponseHeadersModule
	return out
}

// errorHeaders are the request headers ingress-nginx sends to the backend
// that serves a request or an error on behalf of another: code is the
// status (or its placeholder), the rest say what was asked of whom;
// originalURI adds X-Original-URI, which ingress-nginx sends with errors
// only. The literal values are validated names and numbers.
func errorHeaders(b *errorBackend, code string, originalURI bool) handler {
	set := map[string][]string{
		"X-Code":         {code},
		"X-Format":       {"{http.request.header.Accept}"},
		"X-Namespace":    {b.namespace},
		"X-Ingress-Name": {b.ingress},
		"X-Service-Name": {b.service},
		"X-Service-Port": {b.port},
		"X-Request-Id":   {"{http.request.header.X-Request-Id}"},
	}
	if originalURI {
		set["X-Original-Uri"] = []string{"{http.request.orig_uri}"}
	}
	return handler{"handler": "headers", "request": map[string]any{"set": set}}
}

func upstreamJSON(k UpstreamKey) map[string]any {
	up := map[string]any{"namespace": k.Namespace, "service": k.Service}
	if k.PortName != "" {
		up["port_name"] = k.PortName
	}
	return up
}

func upstreamSource(k UpstreamKey) map[string]any {
	up := upstreamJSON(k)
	up["source"] = UpstreamSourceModule
	return up
}

// reverseProxy proxies to the ready endpoints of a Service port, chosen
// by the selection policy balance ("" for round_robin), with the request
// headers ingress-nginx sends (see forwarding).
func reverseProxy(up UpstreamKey, balance string, full bool) handler {
	if balance == "" {
		balance = "round_robin"
	}
	source := upstreamSource(up)
	if balance == "round_robin" {
		// The source takes the endpoints in turn itself and gives
		// reverse_proxy one per try (see Upstreams.Pick).
		source["pick"] = "round_robin"
	}
	return handler{
		"handler":           "reverse_proxy",
		"dynamic_upstreams": source,
		"load_balancing":    map[string]any{"selection_policy": map[string]any{"policy": balance}},
		"transport":         forwarding(map[string]any{"protocol": TransportModule}, full),
	}
}

// setSelectionPolicy makes h, a reverseProxy handler, choose endpoints
// by policy, from all of them.
func setSelectionPolicy(h handler, policy map[string]any) {
	h["load_balancing"].(map[string]any)["selection_policy"] = policy
	delete(h["dynamic_upstreams"].(map[string]any), "pick")
}

// forwarding makes the ingress transport tr set the headers ingress-nginx
// sets on requests to backends besides Caddy's own X-Forwarded-For,
// -Proto and -Host: the client's address (after Caddy's trusted_proxies),
// the scheme it came in on and the request ID (the client's, else one the
// ingress handler made, as it sets X-Forwarded-Port); the Proxy header
// goes (httpoxy). X-Forwarded-For is the client's address alone, as
// ingress-nginx sends it by default, unless full
// (compute-full-forwarded-for) leaves it to Caddy, which appends the peer
// to the list a trusted proxy sent. The transport sets them as data,
// cheaper than header operations with placeholders.
func forwarding(tr map[string]any, full bool) map[string]any {
	tr["forwarding"] = "client"
	if full {
		tr["forwarding"] = "full"
	}
	return tr
}

// withConnection makes the ingress transport of h, a reverseProxy
// handler, send the Connection header c ("close" or "keep-alive") unless
// c is empty; it returns h.
func withConnection(h handler, c string) handler {
	if c != "" {
		h["transport"].(map[string]any)["connection"] = c
	}
	return h
}

// idempotentMethods are retried after a connection to the backend was
// made, as nginx retries them.
var idempotentMethods = []string{"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}

func proxyHandler(p *plan) handler {
	px := &p.proxy
	h := reverseProxy(px.upstream, px.balance, px.fullForwardedFor)
	if hb := px.hash; hb.by != "" && px.affinity.Name == "" {
		policy := map[string]any{"policy": HashPolicy, "by": hb.by}
		if hb.subsetSize > 0 {
			policy["subset_size"] = hb.subsetSize
		}
		setSelectionPolicy(h, policy)
	}
	if a := &px.affinity; a.Name != "" {
		setSelectionPolicy(h, affinityPolicy(a))
	}
	if n := px.retry.retries(); n > 0 && px.dial == "" {
		lb := h["load_balancing"].(map[string]any)
		lb["retries"] = n
		if px.retry.timeout > 0 {
			lb["try_duration"] = strconv.Itoa(px.retry.timeout) + "s"
		}
		var match []map[string]any
		switch {
		case px.retry.noTransport:
			// No request matches: only connections that could not be
			// made are retried.
			match = append(match, map[string]any{"method": []string{"NO-RETRY"}})
		case px.retry.nonIdempotent:
			match = append(match, map[string]any{"path": []string{"*"}})
		default:
			match = append(match, map[string]any{"method": idempotentMethods})
		}
		if codes := px.retry.statuses; codes != "" {
			// Caddy evaluates an expression on the response's status;
			// without one (a transport error) it is false.
			expr := "{http.reverse_proxy.status_code} in [" + strings.ReplaceAll(codes, ",", ", ") + "]"
			if !px.retry.nonIdempotent {
				expr += ` && {http.request.method} in ["` + strings.Join(idempotentMethods, `", "`) + `"]`
			}
			match = append(match, map[string]any{"expression": expr})
		}
		lb["retry_match"] = match
	}
	if px.dial != "" {
		delete(h, "dynamic_upstreams")
		delete(h, "load_balancing")
		h["upstreams"] = []map[string]any{{"dial": px.dial}}
	}
	if px.backend.protocol == "FCGI" {
		// FastCGI has no request headers of its own to set: nginx's
		// proxy_set_header lines do not apply to fastcgi_pass.
		h["transport"] = withTimeouts(fastcgiTransport(&px.fastcgi), px.timeouts)
	} else {
		h["transport"] = forwarding(transport(px.upstream, &px.backend, px.timeouts), px.fullForwardedFor)
		if p.headers.upstreamHost != "" {
			h["transport"].(map[string]any)["upstream_host"] = true
		}
	}
	withConnection(h, px.connection)
	if e := &px.errors; e.codes != "" {
		var codes []int
		for c := range strings.SplitSeq(e.codes, ",") {
			n, _ := strconv.Atoi(c)
			codes = append(codes, n)
		}
		h["handle_response"] = []map[string]any{{
			"match": map[string]any{"status_code": codes},
			"routes": []route{{Handle: []map[string]any{
				errorHeaders(&e.backend, "{http.reverse_proxy.status_code}", true),
				{"handler": "rewrite", "uri": "/?{http.request.uri.query}"},
				reverseProxy(e.backend.upstream, px.balance, px.fullForwardedFor),
			}}},
		}}
	}
	return h
}

// transport returns the reverse_proxy transport for the backend protocol
// and timeouts. Paths with the same settings share its connection pool,
// so it holds nothing else (the Ingress named with TLS only names it in
// errors).
func transport(up UpstreamKey, b *backendOptions, to timeouts) map[string]any {
	return withTimeouts(transportFor(up, b), to)
}

// withTimeouts sets the timeouts to on the transport tr.
func withTimeouts(tr map[string]any, to timeouts) map[string]any {
	for key, secs := range map[string]int{"dial_timeout": to.connect, "write_timeout": to.send, "read_timeout": to.read} {
		if secs != 0 {
			tr[key] = strconv.Itoa(secs) + "s"
		}
	}
	return tr
}

func transportFor(up UpstreamKey, b *backendOptions) map[string]any {
	switch b.protocol {
	case "GRPC", "H2C":
		return map[string]any{"protocol": TransportModule, "versions": []string{"h2c", "2"}}
	case "HTTPS", "GRPCS":
		tr := map[string]any{"protocol": TransportModule, "tls": true, "ingress": b.ingress}
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
			name = up.Service + "." + up.Namespace + ".svc"
		}
		if name != "" {
			tr["server_name"] = name
		}
		if b.verify {
			tr["verify"] = true
		}
		if b.verify {
			tr["verify_depth"] = b.verifyDepth
		}
		if b.sendSNI {
			tr["send_sni"] = true
		}
		if b.protocolMin != "" {
			tr["protocol_min"], tr["protocol_max"] = b.protocolMin, b.protocolMax
		}
		if b.ciphers != "" {
			tr["cipher_suites"] = strings.Split(b.ciphers, ",")
		}
		return tr
	}
	return map[string]any{"protocol": TransportModule}
}

// affinityPolicy is the selection policy of a session cookie.
func affinityPolicy(a *Affinity) map[string]any {
	policy := map[string]any{"policy": AffinityPolicy, "name": a.Name, "path": a.Path}
	for k, v := range map[string]string{"domain": a.Domain, "samesite": a.SameSite} {
		if v != "" {
			policy[k] = v
		}
	}
	for k, v := range map[string]int{"max_age": a.MaxAge, "expires": a.Expires} {
		if v != 0 {
			policy[k] = v
		}
	}
	for k, v := range map[string]bool{"conditional_samesite_none": a.ConditionalSameSiteNone, "secure": a.Secure, "change_on_failure": a.ChangeOnFailure} {
		if v {
			policy[k] = true
		}
	}
	return policy
}

// appendAccess adds the access checks of a: in turn, or with satisfy any
// in one handler that passes a request one of them lets through.
func appendAccess(routes []route, a *accessPhase) []route {
	var checks []map[string]any
	if a.allow != "" || a.deny != "" {
		h := handler{"handler": AccessModule}
		if a.allow != "" {
			h["allow"] = strings.Split(a.allow, ",")
		}
		if a.deny != "" {
			h["deny"] = strings.Split(a.deny, ",")
		}
		checks = append(checks, h)
	}
	if b := &a.basicAuth; b.secret != "" {
		module := BasicAuthModule
		if b.digest {
			module = DigestAuthModule
		}
		checks = append(checks, handler{"handler": module, "secret": b.secret, "realm": b.realm})
	}
	if e := &a.extAuth; e.url != "" {
		checks = append(checks, authRequestHandler(e))
	}
	switch {
	case len(checks) == 0:
	case a.satisfyAny && len(checks) > 1:
		routes = append(routes, route{Handle: []map[string]any{{"handler": SatisfyAnyModule, "checks": checks}}})
	default:
		routes = append(routes, route{Handle: checks})
	}
	return routes
}

// authRequestHandler renders external auth.
func authRequestHandler(e *externalAuth) handler {
	h := handler{"handler": AuthRequestModule, "url": e.url}
	for k, v := range map[string]string{"method": e.method, "signin": e.signin, "request_redirect": e.requestRedirect, "cache_key": e.cacheKey, "cache_zone": e.cacheZone} {
		if v != "" {
			h[k] = v
		}
	}
	if e.signin != "" {
		h["redirect_param"] = e.redirectParam
	}
	if e.responseHeaders != "" {
		h["response_headers"] = strings.Split(e.responseHeaders, ",")
	}
	headers := make(map[string]string)
	if e.proxySetHeaders != "" {
		for _, line := range strings.Split(e.proxySetHeaders, "\n") {
			k, v, _ := strings.Cut(line, "\x00")
			headers[k] = v
		}
	}
	templates := make(map[string]string)
	for _, op := range renderOps(e.snippetHeaders) {
		if op["op"] == "req-set-vars" {
			delete(headers, op["name"])
			templates[op["name"]] = op["value"]
			continue
		}
		delete(templates, op["name"])
		headers[op["name"]] = op["value"]
	}
	if len(headers) > 0 {
		h["proxy_set_headers"] = headers
	}
	if len(templates) > 0 {
		h["proxy_set_header_templates"] = templates
	}
	if e.cacheKey != "" {
		h["cache_durations"] = strings.Split(e.cacheDuration, "|")
	}
	if e.alwaysSetCookie {
		h["always_set_cookie"] = true
	}
	return h
}

// renderOps renders header changes as a list of {op, name, value}.
func renderOps(ops headerOps) []map[string]string {
	if ops == "" {
		return nil
	}
	var out []map[string]string
	for _, line := range strings.Split(string(ops), "\n") {
		parts := strings.SplitN(line, "\x00", 3)
		op := map[string]string{"op": parts[0], "name": parts[1]}
		if parts[2] != "" {
			op["value"] = parts[2]
		}
		out = append(out, op)
	}
	return out
}

// mirrorHandler renders a mirror: validated data, nothing expanded.
func mirrorHandler(m *mirrorConfig) handler {
	h := handler{"handler": MirrorModule, "url": m.url, "host": m.host}
	if m.requestURI {
		h["request_uri"] = true
	}
	if m.noBody {
		h["no_body"] = true
	}
	return h
}
