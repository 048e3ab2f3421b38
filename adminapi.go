package caddyingress

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI serves the ingress app's state on Caddy's admin endpoint:
// GET /ingress/status returns, as JSON, the hosts and paths served with
// their Ingress, path type and backend Service port, the certificates
// served by SNI with their Secret and validity, and the current problems.
// Caddy loads every admin.api module by itself; there is nothing to
// configure. Before the ingress app has applied its first snapshot, and
// when the config has no ingress app, it answers 503.
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.ingress",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// statusEndpoint is the admin API path of the status.
const statusEndpoint = "/ingress/status"

// Routes returns the admin routes.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: statusEndpoint, Handler: caddy.AdminHandlerFunc(a.serveStatus)}}
}

// serveStatus reads the state the active app last applied: one atomic
// load, no lock that the updater holds.
func (a *AdminAPI) serveStatus(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	app := activeApp.Load()
	if app == nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("no ingress app is running")}
	}
	s := app.status.Load()
	if s == nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("the ingress app has not applied a snapshot yet")}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "\t")
	return enc.Encode(s.report())
}

// Interface guards
var _ caddy.AdminRouter = (*AdminAPI)(nil)
