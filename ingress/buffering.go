package ingress

import (
	"fmt"
	"strconv"
)

// The buffering annotations tune how nginx buffers bodies in memory and on
// disk. Caddy streams both ways and needs none of them: valid values are
// accepted without a problem, so a manifest written for ingress-nginx gets
// no warnings for knobs that do not apply.
var bufferingFamily = family{
	annotations: []annotationSpec{
		{name: "proxy-buffering", doc: "Accepted (on or off) and has no effect: responses are streamed to the client as the backend sends them.",
			differs: "ingress-nginx's on buffers responses; here they always stream (its default, off)."},
		{name: "proxy-request-buffering", doc: "Accepted (on or off) and has no effect: request bodies are streamed to the backend.",
			differs: "ingress-nginx's default, on, reads the whole body before proxying it (and sends it with Content-Length)."},
		{name: "proxy-buffer-size", doc: "Accepted (nginx size syntax) and has no effect.",
			differs: "In ingress-nginx it also bounds the size of the backend's response headers (502 when larger); Caddy allows large headers."},
		{name: "proxy-buffers-number", doc: "Accepted (a number) and has no effect."},
		{name: "proxy-busy-buffers-size", doc: "Accepted (nginx size syntax, such as 16k) and has no effect: no response buffers are kept."},
		{name: "proxy-max-temp-file-size", doc: "Accepted (nginx size syntax) and has no effect: nothing is buffered to disk."},
		{name: "proxy-http-version", doc: "Accepted (1.0 or 1.1) and has no effect: requests go to backends over HTTP/1.1 (or as backend-protocol says).",
			differs: "1.0 is not spoken to backends; HTTP/1.1 is used."},
	},
	parse: func(r *reader, c *ingressConfig) {
		for _, name := range []string{"proxy-buffering", "proxy-request-buffering"} {
			if v, ok := r.value(name); ok && v != "on" && v != "off" {
				r.invalid(name, fmt.Errorf("invalid value %s: want \"on\" or \"off\"", quoted(v)))
			}
		}
		for _, name := range []string{"proxy-buffer-size", "proxy-max-temp-file-size"} {
			if v, ok := r.value(name); ok {
				if _, err := ParseSize(v); err != nil {
					r.invalid(name, err)
				}
			}
		}
		if v, ok := r.value("proxy-busy-buffers-size"); ok && v != "" && !bufferSizeValue.MatchString(v) {
			r.invalid("proxy-busy-buffers-size", fmt.Errorf("invalid value %s: want a size such as 16k", quoted(v)))
		}
		if v, ok := r.value("proxy-buffers-number"); ok {
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				r.invalid("proxy-buffers-number", fmt.Errorf("invalid value %s: want a number such as 4", quoted(v)))
			}
		}
		if v, ok := r.value("proxy-http-version"); ok && v != "1.0" && v != "1.1" {
			r.invalid("proxy-http-version", fmt.Errorf("invalid value %s: want 1.0 or 1.1", quoted(v)))
		}
	},
}
