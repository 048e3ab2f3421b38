package caddyingress

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// finalHeaderHook calls hook with the response headers and status once,
// when the final (non-1xx) status is written: after a backend's headers
// are in, before they leave.
type finalHeaderHook struct {
	*caddyhttp.ResponseWriterWrapper
	hook func(hdr http.Header, status int)
	done bool
}

func onFinalHeader(w http.ResponseWriter, hook func(hdr http.Header, status int)) *finalHeaderHook {
	return &finalHeaderHook{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, hook: hook}
}

func (w *finalHeaderHook) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		w.hook(w.Header(), code)
	}
	w.ResponseWriterWrapper.WriteHeader(code)
}

func (w *finalHeaderHook) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriterWrapper.Write(b)
}

// addStatuses are the responses nginx's add_header adds to (without
// always); the auth service's Set-Cookie goes on them too.
var addStatuses = map[int]bool{200: true, 201: true, 204: true, 206: true, 301: true, 302: true, 303: true, 304: true, 307: true, 308: true}
