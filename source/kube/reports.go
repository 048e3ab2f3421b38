package kube

import (
	"sync"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// report is the outcome of one translation, as the app reports it.
type report struct {
	// owned are the Ingresses of our class.
	owned []ingress.ObjectRef
	// problems are every current problem.
	problems []ingress.Problem
}

// reports hands reports from the app to the reporting goroutine without
// blocking either: the latest report wins.
type reports struct {
	mu     sync.Mutex
	latest *report
	// wake holds a token when there is something new to report on.
	wake chan struct{}
}

func newReports() *reports {
	return &reports{wake: make(chan struct{}, 1)}
}

// put replaces the latest report and wakes the reporting goroutine.
func (r *reports) put(rep *report) {
	r.mu.Lock()
	r.latest = rep
	r.mu.Unlock()
	r.poke()
}

// get returns the latest report, or nil before the first one.
func (r *reports) get() *report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest
}

// poke wakes the reporting goroutine; it never blocks.
func (r *reports) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
