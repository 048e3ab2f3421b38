package caddyingress

import (
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// setForwardingHeaders sets the request headers for backends that
// ingress-nginx sets and Caddy does not, on the client's request, for
// every handler after the ingress handler: X-Request-ID when the client
// sent none; X-Original-Forwarded-For and X-Original-Forwarded-Host, the
// forwarded-for header (forwardedFor) and X-Forwarded-Host as the client
// sent them, none if it sent none, whatever it sent in these names; and
// X-Forwarded-Port, the port the request came in on, unless a trusted
// proxy says it.
func setForwardingHeaders(r *http.Request, forwardedFor string) {
	h := r.Header
	// The keys are canonical, as the server's parser stores them: read
	// without canonicalizing them again. The new values share one array.
	var v [2]string
	if len(h["X-Request-Id"]) == 0 || h["X-Request-Id"][0] == "" {
		v[0] = newRequestID()
		h["X-Request-Id"] = v[0:1:1]
	}
	setOriginal(h, "X-Original-Forwarded-For", forwardedFor)
	setOriginal(h, "X-Original-Forwarded-Host", "X-Forwarded-Host")
	if fromTrustedProxy(r) && len(h["X-Forwarded-Port"]) > 0 && h["X-Forwarded-Port"][0] != "" {
		return
	}
	delete(h, "X-Forwarded-Port")
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if port := localPort(addr); port != "" {
			v[1] = port
			h["X-Forwarded-Port"] = v[1:2:2]
		}
	}
}

// setOriginal sets header name of h to the values of header from, joined
// as nginx's $http_ variables join them, or deletes it if there are none.
func setOriginal(h http.Header, name, from string) {
	if v := h[from]; len(v) > 0 {
		h[name] = []string{strings.Join(v, ", ")}
		return
	}
	delete(h, name)
}

// localPort returns the port of addr, the address a request came in on.
// The usual ports and TCP addresses cost no formatting of the address.
func localPort(addr net.Addr) string {
	if a, ok := addr.(*net.TCPAddr); ok {
		switch a.Port {
		case 443:
			return "443"
		case 80:
			return "80"
		}
		return strconv.Itoa(a.Port)
	}
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	return port
}

// newRequestID returns 32 random hex digits, as nginx's $request_id. The
// bits come from the runtime's per-thread ChaCha8 generator (math/rand/v2),
// which is seeded from the system's and cannot be predicted from earlier
// IDs, without a system call per request.
func newRequestID() string {
	var b [16]byte
	for i := 0; i < len(b); i += 8 {
		v := rand.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	var text [32]byte
	hex.Encode(text[:], b[:])
	return string(text[:])
}

// setUpstreamHeaders sets on req, a request to a backend, the headers of
// the ingress transport's forwarding option (see Transport.Forwarding).
func setUpstreamHeaders(req *http.Request, fullForwardedFor bool) {
	h := req.Header
	// Those that go, first: the map may then hold the new ones without
	// growing.
	delete(h, "Proxy")
	dropOwnVia(h)
	ip, _ := caddyhttp.GetVar(req.Context(), caddyhttp.ClientIPVarKey).(string)
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	// One array holds the values (each header gets a slice of it with no
	// room to grow): one allocation, not one per header.
	v := [...]string{ip, scheme, scheme, ip}
	h["X-Real-Ip"] = v[0:1:1]
	h["X-Scheme"] = v[1:2:2]
	h["X-Forwarded-Scheme"] = v[2:3:3]
	if !fullForwardedFor {
		h["X-Forwarded-For"] = v[3:4:4]
	}
	if ids := h["X-Request-Id"]; len(ids) > 1 {
		h["X-Request-Id"] = []string{strings.Join(ids, ",")}
	}
}

// dropOwnVia removes the Via entry that reverse_proxy appends to every
// request (the last one, "1.1 Caddy"), keeping those the client sent:
// nginx sends none, and backends that run nginx with its default
// gzip_proxied off do not compress responses to requests that have one.
func dropOwnVia(h http.Header) {
	via := h["Via"]
	if len(via) == 0 || !strings.HasSuffix(via[len(via)-1], " Caddy") {
		return
	}
	if len(via) == 1 {
		delete(h, "Via")
		return
	}
	h["Via"] = via[: len(via)-1 : len(via)-1]
}
