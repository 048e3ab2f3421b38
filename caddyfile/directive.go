package caddyfile

import (
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

// ingressHandler is the JSON of the http.handlers.ingress handler.
var ingressHandler = json.RawMessage(`{"handler":"ingress"}`)

// readyHandler is the JSON of the http.handlers.ingress_ready handler.
var readyHandler = json.RawMessage(`{"handler":"ingress_ready"}`)

// parseReady parses the ingress_ready directive, for readiness probes: 200
// once the ingress app has applied its first snapshot, 503 before. Syntax:
//
//	ingress_ready [<matcher>]
func parseReady(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	route, err := parseHandlerRoute(h, readyHandler)
	if err != nil {
		return nil, err
	}
	return []httpcaddyfile.ConfigValue{{Class: "route", Value: route}}, nil
}

// parseHandlerRoute parses a directive that takes an optional matcher and
// nothing else, and returns the route that runs handler.
func parseHandlerRoute(h httpcaddyfile.Helper, handler json.RawMessage) (caddyhttp.Route, error) {
	h.Next() // consume directive name
	name := h.Val()
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return caddyhttp.Route{}, err
	}
	h.Next() // consume directive name again; the matcher lookahead reset the dispenser
	if h.NextArg() {
		return caddyhttp.Route{}, h.ArgErr()
	}
	if h.NextBlock(0) {
		return caddyhttp.Route{}, h.Errf("%s directive takes no block", name)
	}
	route := caddyhttp.Route{HandlersRaw: []json.RawMessage{handler}}
	if matcherSet != nil {
		route.MatcherSetsRaw = caddyhttp.RawMatcherSets{matcherSet}
	}
	return route, nil
}

// certManager stands for the tls.get_certificate.ingress certificate
// manager in the Caddyfile adapter's pile: httpcaddyfile puts a
// `{"via": "ingress"}` manager, named after its module ID, into the site's
// TLS automation policy. It is never registered or provisioned; the real
// module lives in the root package.
type certManager struct{}

// CaddyModule returns the Caddy module information.
func (certManager) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.get_certificate.ingress",
		New: func() caddy.Module { return new(certManager) },
	}
}

// parseDirective parses the ingress directive. Syntax:
//
//	ingress [<matcher>]
//
// It routes the matched requests through the ingress app's route table. On
// a site that serves HTTPS it also enables TLS, even for a key without a
// host such as :8443, and gets certificates from the ingress app's Secrets
// through the ingress certificate manager. Used inside a route, handle or
// named route block it only adds the route: the adapter takes TLS settings
// from the top level of a site block only.
func parseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	route, err := parseHandlerRoute(h, ingressHandler)
	if err != nil {
		return nil, err
	}
	vals := []httpcaddyfile.ConfigValue{{Class: "route", Value: route}}

	https, err := siteServesHTTPS(h)
	if err != nil {
		return nil, err
	}
	if https {
		vals = append(vals,
			httpcaddyfile.ConfigValue{Class: "tls.connection_policy", Value: &caddytls.ConnectionPolicy{}},
			httpcaddyfile.ConfigValue{Class: "tls.cert_manager", Value: certManager{}},
		)
		if httpsOnlyWithoutHosts(h) {
			vals = append(vals, clientAuthPolicies()...)
		}
	}
	return vals, nil
}

// clientAuthPolicies are the TLS connection policies that ask for client
// certificates in the handshakes of hosts that want them (auth-tls-secret)
// and in no others: one matched by the ingress_client_auth matcher with
// client authentication mode "request" (the ingress handler verifies the
// certificate per host), and a catch-all without client authentication.
//
// The catch-all states Caddy's default minimum protocol (protocol_min
// tls1.2) only to keep the adapter from dropping it as empty, since the
// first policy, having no host names, stands for the site's catch-all.
// It must not carry client_authentication, not even an empty one: caddytls
// turns session tickets off in every policy that has it (connpolicy.go,
// buildStandardTLSConfig), and without tickets no client resumes a TLS
// session, so every reconnect would cost a full handshake. Handshakes of
// hosts with client certificates (the first policy) get no tickets, as
// Caddy decides for client authentication.
//
// The adapter replaces the matchers of a site with host names by an sni
// matcher, and refuses TLS connection policies on a site that also
// listens for plain HTTP, so these policies are only added to sites whose
// addresses are all HTTPS without host names (":443", "https://"): the
// ingress is written as two site blocks, one for HTTP and one for HTTPS.
func clientAuthPolicies() []httpcaddyfile.ConfigValue {
	return []httpcaddyfile.ConfigValue{
		{Class: "tls.connection_policy", Value: &caddytls.ConnectionPolicy{
			MatchersRaw:          caddy.ModuleMap{"ingress_client_auth": json.RawMessage(`{}`)},
			ClientAuthentication: &caddytls.ClientAuthentication{Mode: "request"},
		}},
		{Class: "tls.connection_policy", Value: &caddytls.ConnectionPolicy{
			ProtocolMin: "tls1.2",
		}},
	}
}

// httpsOnlyWithoutHosts reports whether every address of the site block
// the directive is in is served over HTTPS and names no host.
func httpsOnlyWithoutHosts(h httpcaddyfile.Helper) bool {
	if h.IsNamedRoute() {
		return false
	}
	keys, ok := siteKeys(h)
	if !ok {
		return false
	}
	httpPort := portOption(h, "http_port", caddyhttp.DefaultHTTPPort)
	httpsPort := portOption(h, "https_port", caddyhttp.DefaultHTTPSPort)
	for _, key := range keys {
		addr, err := httpcaddyfile.ParseAddress(key)
		if err != nil || addr.Host != "" || !servesHTTPS(addr, httpPort, httpsPort) {
			return false
		}
	}
	return true
}

// siteServesHTTPS reports whether any address of the site block the
// directive is in is served over HTTPS.
func siteServesHTTPS(h httpcaddyfile.Helper) (bool, error) {
	if h.IsNamedRoute() {
		return false, nil
	}
	keys, ok := siteKeys(h)
	if !ok {
		// This Caddy's Helper no longer holds the site block where
		// siteKeys looks. Assume HTTPS: the adapter still serves
		// addresses on the HTTP port and http:// addresses as plain
		// HTTP, whatever the connection policies say.
		return true, nil
	}
	httpPort := portOption(h, "http_port", caddyhttp.DefaultHTTPPort)
	httpsPort := portOption(h, "https_port", caddyhttp.DefaultHTTPSPort)
	for _, key := range keys {
		addr, err := httpcaddyfile.ParseAddress(key)
		if err != nil {
			return false, h.Errf("parsing site address '%s': %v", key, err)
		}
		if servesHTTPS(addr, httpPort, httpsPort) {
			return true, nil
		}
	}
	return false, nil
}

// servesHTTPS reports whether the adapter serves addr over HTTPS when its
// site block has no tls directive: with the https scheme, on the HTTPS
// port, and with a host on any port but the HTTP port (automatic HTTPS).
// A key without a host on another port, such as :9000, is plain HTTP.
func servesHTTPS(addr httpcaddyfile.Address, httpPort, httpsPort string) bool {
	switch {
	case addr.Scheme == "https":
		return true
	case addr.Scheme == "http":
		return false
	case addr.Port == httpsPort:
		return true
	case addr.Port == httpPort:
		return false
	default:
		return addr.Host != ""
	}
}

// siteKeys returns the addresses (keys) of the site block the directive is
// in. httpcaddyfile.Helper keeps the block in an unexported field and has
// no accessor for its keys, so they are read by reflection; ok is false if
// the field is not there.
func siteKeys(h httpcaddyfile.Helper) (keys []string, ok bool) {
	block := reflect.ValueOf(h).FieldByName("parentBlock")
	if !block.IsValid() || block.Type() != reflect.TypeFor[caddyfile.ServerBlock]() {
		return nil, false
	}
	tokens := block.FieldByName("Keys")
	for i := range tokens.Len() {
		keys = append(keys, tokens.Index(i).FieldByName("Text").String())
	}
	return keys, true
}

// portOption returns the port global option name, or def if it is not set.
func portOption(h httpcaddyfile.Helper, name string, def int) string {
	if port, ok := h.Option(name).(int); ok {
		return strconv.Itoa(port)
	}
	return strconv.Itoa(def)
}

// Interface guards
var _ caddy.Module = certManager{}
