package caddyingress

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

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

// TestAwaitFirst checks that a request that comes before the first
// snapshot is applied waits for it when one is at hand (a directory read
// at Provision), and gets 503 at once otherwise.
func TestAwaitFirst(t *testing.T) {
	res := &ingress.Result{Hosts: ingress.NewHostList([]*ingress.Host{{Host: "a.test", Paths: []ingress.Path{{Path: "/", Type: ingress.PathPrefix}}}})}
	for _, expect := range []bool{true, false} {
		t.Run(fmt.Sprintf("snapshot at hand %v", expect), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := &App{firstApplied: make(chan struct{})}
				a.expectFirst.Store(expect)
				a.setServed(func(*served) {}) // started, nothing applied
				h := &Handler{app: a}
				var err error
				done := make(chan struct{})
				go func() {
					defer close(done)
					err = h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://a.test/", nil), nil)
				}()
				synctest.Wait()
				select {
				case <-done:
					if expect {
						t.Fatalf("returned %v before the first snapshot, want it to wait", err)
					}
					var he caddyhttp.HandlerError
					if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("got %v, want 503", err)
					}
					return
				default:
					if !expect {
						t.Fatal("waits without a snapshot at hand, want 503 at once")
					}
				}
				a.setTable(res, okHandler{})
				close(a.firstApplied)
				<-done
				if err != nil {
					t.Errorf("got %v after the first snapshot, want the route's answer", err)
				}
			})
		})
	}
}

// TestAwaitFirstBounded checks that a request waits for firstWait at most.
func TestAwaitFirstBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &App{firstApplied: make(chan struct{})}
		a.expectFirst.Store(true)
		a.setServed(func(*served) {})
		start := time.Now()
		err := (&Handler{app: a}).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://a.test/", nil), nil)
		var he caddyhttp.HandlerError
		if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("got %v, want 503", err)
		}
		if got := time.Since(start); got != firstWait {
			t.Errorf("waited %v, want %v", got, firstWait)
		}
	})
}
