package ingress

// sslPassthroughFamily is ssl-passthrough, which Caddy's HTTP server
// cannot do: passing a host's TLS connections through to the backend,
// unterminated, needs a TCP proxy in front of the TLS handshake. "false"
// asks for nothing and passes quietly; "true" is reported.
var sslPassthroughFamily = family{
	annotations: []annotationSpec{
		{name: "ssl-passthrough", unsupported: true, fails: keepDefault,
			doc:     "Not supported: \"true\" is reported and ignored, and the Ingress's hosts are served with TLS terminated by Caddy; \"false\" (the default) is accepted.",
			differs: "ingress-nginx passes the TLS connections of the host to the backend unterminated (with --enable-ssl-passthrough)."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if on, ok := r.parseBool("ssl-passthrough"); ok && on {
			r.warn("ssl-passthrough", "not supported; ignored: Caddy terminates TLS for the Ingress's hosts (passing it through needs a TCP proxy)")
		}
	},
}
