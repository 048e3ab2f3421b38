package caddyingress

import (
	"reflect"
	"unsafe"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// lazyWithCore is a zap core whose With keeps the fields and encodes
// them only when an entry at an enabled level is written, as zap's
// Logger.WithLazy does.
//
// Caddy's reverse_proxy (v2.11.9, reverseproxy.go:1126) calls With with
// the whole outgoing request, all its headers included, after every
// round trip, and then logs it only at the debug level: a JSON encoding
// of each request that nothing reads unless debug logs are on. Caddy
// made its own server's loggers lazy for the same cost
// (caddyserver/caddy#6590); the shared handlers of the ingress routes
// get the same for reverse_proxy. What is logged, and when, is the same.
type lazyWithCore struct{ zapcore.Core }

func (c lazyWithCore) With(fields []zapcore.Field) zapcore.Core {
	return lazyWithCore{zapcore.NewLazyWith(c.Core, fields)}
}

// makeLoggerLazy gives a provisioned reverse_proxy a logger whose With
// is lazy (see lazyWithCore). The logger is an unexported field, found
// by name and type, so that a Caddy release that changes it leaves the
// handler as it was (and TestSharedProxyLogsLazily fails).
func makeLoggerLazy(h *reverseproxy.Handler) {
	// Provision has set it, and the handler serves nothing yet.
	if p := proxyLogger(h); p != nil && *p != nil {
		*p = (*p).WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return lazyWithCore{c} }))
	}
}

// proxyLogger returns where h keeps its logger, or nil if it has no
// field logger of type *zap.Logger.
func proxyLogger(h *reverseproxy.Handler) **zap.Logger {
	f := reflect.ValueOf(h).Elem().FieldByName("logger")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*zap.Logger]() {
		return nil
	}
	return (**zap.Logger)(unsafe.Pointer(f.UnsafeAddr()))
}
