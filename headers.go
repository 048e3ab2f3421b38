package caddyingress

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Headers{})
}

// Headers changes request and response headers by literal values, and
// answers fixed responses: what the translated snippet directives,
// custom-headers and the app's header options ask for. Nothing in a name
// or value is expanded, but the nginx variables of the value of an op
// whose name ends in -vars (ingress.ParseHeaderTemplate), which are filled
// in with request data.
type Headers struct {
	// Ops are applied in order. Op is one of set, add, add-always, del
	// (response headers; del with Value "*" removes every header whose
	// name starts with Name), req-set, req-del (request headers), and
	// set-vars, add-vars, add-always-vars, req-set-vars: set, add,
	// add-always and req-set with nginx variables in Value, filled in
	// from the request; a value that comes out empty sets nothing (and
	// set-vars and req-set-vars remove the header). Response headers are
	// changed on the final response, after the backend's: set replaces
	// them, add adds to 2xx and 3xx responses, add-always to all.
	Ops []HeaderOp `json:"ops,omitempty"`
	// RespondStatus, when set, answers every request with this status
	// instead of passing it on; RespondText is its body, or its Location
	// when it is a redirect.
	RespondStatus int    `json:"respond_status,omitempty"`
	RespondText   string `json:"respond_text,omitempty"`

	response []HeaderOp
	// templates are the parsed values of the -vars ops, by index in Ops;
	// responseVars are the indexes in response of those that are
	// response ops.
	templates    map[int][]ingress.HashKeyPart
	responseVars map[int][]ingress.HashKeyPart
}

// HeaderOp is one header change.
type HeaderOp struct {
	Op    string `json:"op"`
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Headers) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.HeadersModule,
		New: func() caddy.Module { return new(Headers) },
	}
}

// Provision checks the ops.
func (h *Headers) Provision(caddy.Context) error {
	for i, op := range h.Ops {
		switch op.Op {
		case "set", "add", "add-always", "del":
			h.response = append(h.response, op)
		case "req-set", "req-del":
		case "req-set-vars", "set-vars", "add-vars", "add-always-vars":
			parts, err := ingress.ParseHeaderTemplate(op.Value)
			if err != nil {
				return fmt.Errorf("ops[%d]: %v", i, err)
			}
			if h.templates == nil {
				h.templates = make(map[int][]ingress.HashKeyPart)
			}
			h.templates[i] = parts
			if op.Op != "req-set-vars" {
				if h.responseVars == nil {
					h.responseVars = make(map[int][]ingress.HashKeyPart)
				}
				h.responseVars[len(h.response)] = parts
				h.response = append(h.response, op)
			}
		default:
			return fmt.Errorf("ops[%d]: unknown op %q", i, op.Op)
		}
		if op.Name == "" {
			return fmt.Errorf("ops[%d]: no name", i)
		}
		h.Ops[i].Name = http.CanonicalHeaderKey(op.Name)
	}
	if c := h.RespondStatus; c != 0 && (c < 200 || c > 599) {
		return fmt.Errorf("respond_status %d: want 200 to 599", c)
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Headers) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	for i, op := range h.Ops {
		switch op.Op {
		case "req-set":
			r.Header.Set(op.Name, op.Value)
		case "req-del":
			r.Header.Del(op.Name)
		case "req-set-vars":
			setExpanded(r.Header, op.Name, h.templates[i], r)
		}
	}
	if len(h.response) > 0 {
		ops := h.response
		if h.responseVars != nil {
			ops = h.expandResponse(r)
		}
		// Set now, so that responses Caddy writes itself (401, 403, 503)
		// carry them; set again after the backend's headers.
		applyOps(w.Header(), ops, http.StatusOK, false)
		w = onFinalHeader(w, func(hdr http.Header, status int) { applyOps(hdr, ops, status, true) })
	}
	if h.RespondStatus != 0 {
		return h.respond(w)
	}
	return next.ServeHTTP(w, r)
}

// expandResponse returns the response ops with the values of the -vars
// ones filled in from r, as set, add and add-always ops; a value that
// comes out empty, or would not be a valid header value, makes a set a
// del and drops an add.
func (h *Headers) expandResponse(r *http.Request) []HeaderOp {
	ops := make([]HeaderOp, 0, len(h.response))
	for i, op := range h.response {
		parts, ok := h.responseVars[i]
		if !ok {
			ops = append(ops, op)
			continue
		}
		op.Op = strings.TrimSuffix(op.Op, "-vars")
		op.Value = headerValueOf(expand(parts, r))
		switch {
		case op.Value != "":
			ops = append(ops, op)
		case op.Op == "set":
			ops = append(ops, HeaderOp{Op: "del", Name: op.Name})
		}
	}
	return ops
}

// applyOps changes hdr by ops for a response of status; final is the
// response's own status, not yet known before the backend answers.
func applyOps(hdr http.Header, ops []HeaderOp, status int, final bool) {
	for _, op := range ops {
		switch op.Op {
		case "set":
			hdr.Set(op.Name, op.Value)
		case "add":
			if final && addStatuses[status] && !hasValue(hdr, op.Name, op.Value) {
				hdr.Add(op.Name, op.Value)
			}
		case "add-always":
			if !hasValue(hdr, op.Name, op.Value) {
				hdr.Add(op.Name, op.Value)
			}
		case "del":
			if op.Value != "*" {
				hdr.Del(op.Name)
				continue
			}
			for k := range hdr {
				if strings.HasPrefix(k, op.Name) {
					delete(hdr, k)
				}
			}
		}
	}
}

// setExpanded sets name to the template filled in from r; a value that
// is empty or would not be a valid header value (a decoded $arg_ with a
// control character) removes the header instead, as nginx sends no header
// with an empty value.
func setExpanded(hdr http.Header, name string, parts []ingress.HashKeyPart, r *http.Request) {
	v := headerValueOf(expand(parts, r))
	if v == "" {
		hdr.Del(name)
		return
	}
	hdr.Set(name, v)
}

// headerValueOf returns v, or "" when it would not be a valid header
// value (a decoded $arg_ with a control character).
func headerValueOf(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return ""
		}
	}
	return v
}

func hasValue(hdr http.Header, name, value string) bool {
	for _, v := range hdr.Values(name) {
		if v == value {
			return true
		}
	}
	return false
}

func (h *Headers) respond(w http.ResponseWriter) error {
	switch h.RespondStatus {
	case 301, 302, 303, 307, 308:
		w.Header().Set("Location", h.RespondText)
		w.WriteHeader(h.RespondStatus)
		return nil
	}
	if h.RespondText != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(h.RespondStatus)
	_, err := w.Write([]byte(h.RespondText))
	return err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Headers)(nil)
	_ caddyhttp.MiddlewareHandler = (*Headers)(nil)
)
