package caddyingress

import (
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// setServed stores a copy of the app's served state (an empty one before
// Start) changed by edit, as an update would.
func (a *App) setServed(edit func(*served)) {
	next := new(served)
	if cur := a.current(); cur != nil {
		*next = *cur
	}
	edit(next)
	a.state.Store(next)
}

// setTable serves a table for res, with handler for every action.
func (a *App) setTable(res *ingress.Result, handler caddyhttp.Handler) {
	a.setServed(func(s *served) {
		s.routes = newTable(res, func(*ingress.Action) caddyhttp.Handler { return handler })
	})
}
