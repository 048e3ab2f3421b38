package caddyingress

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// A Source delivers snapshots of Kubernetes objects to the ingress app.
// Source modules live in the ingress.sources namespace.
type Source interface {
	// Start begins delivering snapshots to update and returns at once:
	// it never waits on the network, since Caddy holds its config lock
	// while apps start. A complete snapshot that is at hand already
	// (see Preloader) is delivered before Start returns; otherwise the
	// first complete one is delivered from a goroutine of the source
	// when it has it. After that, update is called again whenever
	// objects change. Calls to update never overlap. Objects that did
	// not change keep their pointer identity between snapshots.
	// problems are those of the source itself, such as manifest files
	// that do not parse.
	Start(update func(snap *ingress.Snapshot, problems []ingress.Problem)) error

	// Stop ends the deliveries and waits for the goroutines that Start
	// began, for a few seconds at most, whatever the network does. Once
	// it returns, update is not called again.
	Stop() error
}

// A Preloader is a Source that may have its first complete snapshot at
// hand when it is provisioned, without the network: a directory it read,
// or caches that an earlier config filled. Start then delivers it before
// it returns, and requests that come in between wait for it rather than
// get 503.
type Preloader interface {
	Preloaded() bool
}

// A ConfigMapWatcher is a Source that delivers only the ConfigMaps that
// translation reads. Before Start, the app calls WatchConfigMaps with refs,
// which names them, as sorted "namespace/name", for the Ingresses of a
// snapshot (ingress.ConfigMapRefs with the app's options). refs may be
// called from any goroutine and must not be given Ingresses that anyone
// modifies.
type ConfigMapWatcher interface {
	WatchConfigMaps(refs func([]*networkingv1.Ingress) []string)
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
