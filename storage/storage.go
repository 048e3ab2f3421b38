// Package kubestorage keeps Caddy's certificates, keys, ACME accounts and
// other TLS assets in Kubernetes Secrets, and its locks in Leases, so that
// the replicas of a Deployment share them: a certificate is obtained once,
// by the replica that holds its lock, and served by all of them.
package kubestorage

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"github.com/caddy-ingress/caddy-ingress/kubeclient"
)

func init() {
	caddy.RegisterModule(Storage{})
}

// Storage keeps Caddy's storage (certificates and their keys, ACME
// accounts, the internal CA, OCSP staples, session ticket keys) in
// Kubernetes Secrets of one namespace, and takes its locks as
// coordination.k8s.io/v1 Leases there. Replicas configured with the same
// namespace and prefix share everything: each certificate is obtained by
// the one replica that holds its lock, and loaded from the Secrets by the
// others.
//
// Each storage key is one Secret of type caddy-ingress.io/storage, named
// "<prefix>-<hash of the key>" (storage keys contain characters that
// Secret names may not), with the key in the annotation
// caddy-ingress.io/storage-key and the value in data["value"]. The
// Secrets carry the labels app.kubernetes.io/managed-by=caddy-ingress and
// caddy-ingress.io/storage=<prefix>, so that
//
//	kubectl get secrets -l caddy-ingress.io/storage=caddy-storage
//
// lists them. A value must fit into one Secret, at most 1 MiB; a larger one
// is refused with an error, never truncated.
//
// A lock is a Lease "<prefix>-lock-<hash of the lock name>" that records
// its holder and is renewed every third of lease_duration while held.
// Another replica takes a Lease over only once it has expired: when its
// holder has not renewed it for its duration as the other replica saw it
// (so the replicas' clocks need not agree), or when its renewTime is older
// than twice its duration. Every write of a Lease is conditional on the
// resourceVersion that was read, so two replicas never both take one, and
// a lock is only ever released by its holder. The locks cannot fence: a
// holder that is cut off from the API server for longer than
// lease_duration may still be working when another replica takes over;
// certmagic tolerates that (it checks the storage again after locking).
//
// The service account needs, in the namespace: get, list, create, update
// and delete on secrets, and get, create, update and delete on leases
// (coordination.k8s.io); see deploy/rbac.yaml. Secrets cannot be limited by RBAC to those this storage
// makes, so give the storage a namespace of its own or the controller's.
type Storage struct {
	// Namespace holds the Secrets and Leases. Default: the namespace in
	// $POD_NAMESPACE, else the pod's own (from the service account's
	// namespace file); outside a cluster it must be set.
	Namespace string `json:"namespace,omitempty"`

	// Kubeconfig is the path of a kubeconfig file whose current context
	// is used, to run outside a cluster. Default: the in-cluster
	// configuration (the service account token and CA that Kubernetes
	// mounts into the pod), as the ingress app's kubernetes source.
	Kubeconfig string `json:"kubeconfig,omitempty"`

	// Prefix starts the names of the Secrets and Leases and is the value
	// of their caddy-ingress.io/storage label. Storages with different
	// prefixes in one namespace are separate. A DNS label of at most 63
	// characters. Default: caddy-storage.
	Prefix string `json:"prefix,omitempty"`

	// LeaseDuration is how long a lock lasts without renewal, in whole
	// seconds (rounded up): how long the other replicas wait before they
	// take over the lock of a replica that died while it held it, for
	// example in the middle of an order. The holder renews it every third
	// of this, so a replica that cannot reach the API server for that
	// long loses its locks. Short enough that a crash delays issuance
	// only briefly, long enough to ride out an API server that is slow to
	// answer. At least 1s. Default: 30s.
	LeaseDuration caddy.Duration `json:"lease_duration,omitempty"`

	// HolderIdentity is recorded in the Leases this instance holds and
	// must differ between replicas. Default: $POD_NAME, else the host
	// name, followed by a suffix drawn at random when the process starts,
	// so that a restarted pod of the same name is a new holder and waits
	// for the locks of the one that died.
	HolderIdentity string `json:"holder_identity,omitempty"`

	logger   *zap.Logger
	duration time.Duration
	st       *state
}

// state is what a provisioned Storage holds at run time.
type state struct {
	// mu guards the clients, made on first use.
	mu      sync.Mutex
	secrets secretClient
	leases  leaseClient

	// obsMu guards observed: the Leases of others being waited for.
	obsMu    sync.Mutex
	observed map[string]observation
}

// CaddyModule returns the Caddy module information.
func (Storage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.storage.kubernetes",
		New: func() caddy.Module { return new(Storage) },
	}
}

const (
	// DefaultPrefix is the default of Prefix.
	DefaultPrefix = "caddy-storage"
	// DefaultLeaseDuration is the default of LeaseDuration.
	DefaultLeaseDuration = 30 * time.Second
)

// processSuffix ends the default holder identity: the same for every
// instance of this process (a config reload keeps its locks), different
// for the next process.
var processSuffix = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}()

// Provision sets defaults and checks the settings. It makes no API call
// (it also runs for `caddy validate`): the clients are made on first use.
func (s *Storage) Provision(ctx caddy.Context) error {
	return s.setup(ctx.Logger())
}

// setup is Provision without a Caddy context.
func (s *Storage) setup(logger *zap.Logger) error {
	s.logger = logger
	s.st = new(state)
	s.Namespace = cmp.Or(s.Namespace, kubeclient.PodNamespace())
	if s.Namespace == "" {
		return fmt.Errorf("namespace: not set, and neither $POD_NAMESPACE nor %s names one (outside a cluster, set namespace)", kubeclient.ServiceAccountNamespaceFile)
	}
	if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", s.Namespace, strings.Join(errs, "; "))
	}
	s.Prefix = cmp.Or(s.Prefix, DefaultPrefix)
	if errs := validation.IsDNS1123Label(s.Prefix); len(errs) > 0 {
		return fmt.Errorf("prefix %q: %s", s.Prefix, strings.Join(errs, "; "))
	}
	s.LeaseDuration = cmp.Or(s.LeaseDuration, caddy.Duration(DefaultLeaseDuration))
	if d := time.Duration(s.LeaseDuration); d < time.Second {
		return fmt.Errorf("lease_duration %v: must be at least 1s", d)
	}
	s.duration = time.Duration(s.LeaseDuration)
	if rem := s.duration % time.Second; rem != 0 {
		s.duration += time.Second - rem
	}
	if s.HolderIdentity == "" {
		s.HolderIdentity = kubeclient.PodName() + "-" + processSuffix
	}
	if len(s.HolderIdentity) > 253 {
		return fmt.Errorf("holder_identity: %d characters, at most 253", len(s.HolderIdentity))
	}
	return nil
}

// CertMagicStorage returns the storage itself.
func (s *Storage) CertMagicStorage() (certmagic.Storage, error) {
	return s, nil
}

// String names the storage in logs (certmagic logs the storage value).
func (s *Storage) String() string {
	return "kubernetes:" + s.Namespace + "/" + s.Prefix
}

// secretClient and leaseClient are the clients of Secrets and Leases in
// one namespace (kubeclient's, which link only the API groups
// caddy-ingress uses).
type (
	secretClient = kubeclient.Client[*corev1.Secret, *corev1.SecretList]
	leaseClient  = kubeclient.Client[*coordinationv1.Lease, *coordinationv1.LeaseList]
)

// clients returns the Secrets and Leases clients of the namespace, made
// on first use. Making them reads the kubeconfig or the service account's
// files and makes no API call; a failure is retried on the next use.
func (s *Storage) clients() (secretClient, leaseClient, error) {
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.secrets != nil {
		return st.secrets, st.leases, nil
	}
	cfg, err := s.restConfig()
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubeclient.New(cfg)
	if err != nil {
		return nil, nil, err // it says "kubernetes client"
	}
	st.secrets, st.leases = cs.Secrets(s.Namespace), cs.Leases(s.Namespace)
	return st.secrets, st.leases, nil
}

// restConfig returns the client configuration: from the kubeconfig file,
// or else in-cluster (as the ingress app's kubernetes source).
func (s *Storage) restConfig() (*rest.Config, error) {
	return kubeclient.RESTConfig(s.Kubeconfig, "caddy-ingress-storage")
}

// Interface guards
var (
	_ caddy.Provisioner          = (*Storage)(nil)
	_ caddy.StorageConverter     = (*Storage)(nil)
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.TryLocker        = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
	_ fmt.Stringer               = (*Storage)(nil)
)
