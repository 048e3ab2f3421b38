package caddyingress

import (
	"context"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// A Source delivers snapshots of Kubernetes objects to the ingress app.
// Source modules live in the ingress.sources namespace.
type Source interface {
	// Run calls update with the first complete snapshot before it
	// returns, then calls it again from its own goroutine whenever
	// objects change, until ctx is done. Calls to update never overlap.
	// Objects that did not change keep their pointer identity between
	// snapshots. problems are those of the source itself, such as
	// manifest files that do not parse.
	Run(ctx context.Context, update func(snap *ingress.Snapshot, problems []ingress.Problem)) error
}

// A Reporter is a Source that reports back on the objects it delivered:
// problems as Warning Events and the load balancer address in the status
// of the Ingresses we own. The app calls Report after every translation,
// from the goroutine that called update; Report must not block on the API.
type Reporter interface {
	Report(Report)
}

// Report is the outcome of one translation.
type Report struct {
	// Ingresses are the Ingresses of our class (sorted).
	Ingresses []ingress.ObjectRef
	// Problems are every current problem, including the source's own.
	Problems []ingress.Problem
}
