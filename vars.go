package caddyingress

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// writeVar writes the value of an nginx variable (or text) of a template
// that ingress.ParseHashKey, ingress.ParseURLTemplate or
// ingress.ParseHeaderTemplate checked. Values
// are data: nothing in them is expanded again.
func writeVar(b *strings.Builder, p ingress.HashKeyPart, r *http.Request) {
	switch p.Kind {
	case "text":
		b.WriteString(p.Name)
	case "request_uri":
		b.WriteString(r.RequestURI)
	case "escaped_request_uri":
		b.WriteString(escapeURIComponent(r.RequestURI))
	case "uri":
		b.WriteString(r.URL.Path)
	case "args", "query_string":
		b.WriteString(r.URL.RawQuery)
	case "host", "server_name":
		b.WriteString(requestHost(r.Host))
	case "http_host", "best_http_host":
		b.WriteString(r.Host)
	case "scheme":
		if r.TLS != nil {
			b.WriteString("https")
		} else {
			b.WriteString("http")
		}
	case "pass_access_scheme":
		b.WriteString(requestScheme(r))
	case "remote_addr":
		ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
		b.WriteString(ip)
	case "http":
		b.WriteString(r.Header.Get(strings.ReplaceAll(p.Name, "_", "-")))
	case "cookie":
		if c, err := r.Cookie(p.Name); err == nil {
			b.WriteString(c.Value)
		}
	case "arg":
		b.WriteString(r.URL.Query().Get(p.Name))
	case "req_id":
		// Set by the ingress handler before any route: the client's
		// X-Request-ID, or a new one (setForwardingHeaders).
		if ids := r.Header["X-Request-Id"]; len(ids) > 0 {
			b.WriteString(ids[0])
		}
	}
}

// expand fills in a template.
func expand(parts []ingress.HashKeyPart, r *http.Request) string {
	var b strings.Builder
	for _, p := range parts {
		writeVar(&b, p, r)
	}
	return b.String()
}

// escapeURIComponent percent-encodes every byte but letters, digits and
// - . _ ~, as nginx's set_escape_uri.
func escapeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
