package caddyingress

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/kubeclient"
	"github.com/caddy-ingress/caddy-ingress/source/kube"
)

func init() {
	caddy.RegisterModule(KubernetesSource{})
}

// KubernetesSource watches a Kubernetes API server: Ingresses,
// IngressClasses, Services, EndpointSlices and Secrets. Secrets are kept
// in memory with their tls.crt, tls.key, ca.crt and ca.crl only; a Secret
// with none of those is ignored. ConfigMaps are watched only when an
// Ingress annotation or an app setting names them, each on its own, in any
// namespace; no other ConfigMap is ever read.
//
// Caddy's start never waits for the API server. Until every object has
// been listed once, requests get 503 and the ingress_ready handler says not
// ready, so a half-empty table is never served; while the API server
// cannot be reached or refuses the lists, the source keeps trying and logs
// why at error level. Afterwards, watches reconnect by themselves and an
// unreachable API server leaves the last state in service.
//
// Every replica serves traffic. One of them, elected with a Lease, also
// writes the load-balancer address into the status of the Ingresses this
// controller owns and records a Warning Event on an Ingress for each new
// problem found in it.
//
// The watches are shared by the configs that configure this source the
// same way: a config reload (caddy reload, the admin API's /load) keeps
// them, lists nothing again, and the new config serves the current state
// as soon as it starts.
type KubernetesSource struct {
	// Kubeconfig is the path of a kubeconfig file whose current context
	// is used, to run outside a cluster. Default: the in-cluster
	// configuration, that is the service account token and CA that
	// Kubernetes mounts into the pod.
	Kubeconfig string `json:"kubeconfig,omitempty"`

	// Namespaces limits the Ingresses, Services, EndpointSlices and
	// Secrets that are watched, and so served, to these namespaces.
	// IngressClasses are cluster-scoped and always watched. Default: all
	// namespaces.
	Namespaces []string `json:"namespaces,omitempty"`

	// PublishService is the Service through which clients reach this
	// controller, as "namespace/name", usually of type LoadBalancer. Its
	// load-balancer addresses (and external IPs) are written into the
	// status of the Ingresses this controller owns, where `kubectl get
	// ingress`, external-dns and others read them. Mutually exclusive
	// with StatusAddresses. With neither, Ingress status is left alone.
	PublishService string `json:"publish_service,omitempty"`

	// StatusAddresses are written into the status of the Ingresses this
	// controller owns instead: IP addresses as ip, DNS names as hostname.
	// For a load balancer that Kubernetes does not manage.
	StatusAddresses []string `json:"status_addresses,omitempty"`

	// LeaseNamespace is the namespace of the Lease with which replicas
	// elect the one that writes status and Events. Default: the
	// namespace in $POD_NAMESPACE, else the pod's own, else "default".
	LeaseNamespace string `json:"lease_namespace,omitempty"`

	// LeaseName is the name of that Lease. Controllers of different
	// ingress classes in one namespace need different names. Default:
	// caddy-ingress-leader.
	LeaseName string `json:"lease_name,omitempty"`

	// LeaseDuration is how long the Lease is valid without renewal: how
	// long the other replicas wait to take over from a leader that
	// vanished. Default: 15s.
	LeaseDuration caddy.Duration `json:"lease_duration,omitempty"`

	// RenewDeadline is how long the leader keeps trying to renew the
	// Lease before it stops writing. Must be less than LeaseDuration.
	// Default: 10s.
	RenewDeadline caddy.Duration `json:"renew_deadline,omitempty"`

	// RetryPeriod is how often replicas try to take or renew the Lease.
	// RenewDeadline must exceed 1.2 times RetryPeriod. Default: 2s.
	RetryPeriod caddy.Duration `json:"retry_period,omitempty"`

	logger *zap.Logger
	config kube.Config
	// key names shared in sharedSources.
	key         string
	shared      *sharedSource
	source      *kube.Source
	unsubscribe func()
	// refs names the ConfigMaps that the app's translation reads.
	refs func([]*networkingv1.Ingress) []string
}

// CaddyModule returns the Caddy module information.
func (KubernetesSource) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "ingress.sources.kubernetes",
		New: func() caddy.Module { return new(KubernetesSource) },
	}
}

// Provision sets defaults and checks the settings. It makes no API calls,
// since it also runs for `caddy validate`.
func (s *KubernetesSource) Provision(ctx caddy.Context) error {
	s.logger = ctx.Logger()
	s.LeaseNamespace = cmp.Or(s.LeaseNamespace, kubeclient.PodNamespace(), "default")
	s.LeaseName = cmp.Or(s.LeaseName, kube.DefaultLeaseName)
	s.LeaseDuration = cmp.Or(s.LeaseDuration, caddy.Duration(kube.DefaultLeaseDuration))
	s.RenewDeadline = cmp.Or(s.RenewDeadline, caddy.Duration(kube.DefaultRenewDeadline))
	s.RetryPeriod = cmp.Or(s.RetryPeriod, caddy.Duration(kube.DefaultRetryPeriod))

	for i, ns := range s.Namespaces {
		if err := dnsName(validation.IsDNS1123Label, ns); err != nil {
			return fmt.Errorf("namespaces: %w", err)
		}
		if slices.Contains(s.Namespaces[:i], ns) {
			return fmt.Errorf("namespaces: %q is listed twice", ns)
		}
	}
	var publish types.NamespacedName
	if s.PublishService != "" {
		ns, name, ok := strings.Cut(s.PublishService, "/")
		if !ok {
			return fmt.Errorf("publish_service %q: want namespace/name", s.PublishService)
		}
		if err := dnsName(validation.IsDNS1123Label, ns); err != nil {
			return fmt.Errorf("publish_service: namespace %w", err)
		}
		if err := dnsName(validation.IsDNS1035Label, name); err != nil {
			return fmt.Errorf("publish_service: name %w", err)
		}
		if len(s.StatusAddresses) > 0 {
			return fmt.Errorf("publish_service and status_addresses are mutually exclusive")
		}
		publish = types.NamespacedName{Namespace: ns, Name: name}
	}
	for _, addr := range s.StatusAddresses {
		if net.ParseIP(addr) == nil {
			if err := dnsName(validation.IsDNS1123Subdomain, addr); err != nil {
				return fmt.Errorf("status_addresses: %w: want an IP address or a DNS name", err)
			}
		}
	}
	if err := dnsName(validation.IsDNS1123Label, s.LeaseNamespace); err != nil {
		return fmt.Errorf("lease_namespace: %w", err)
	}
	if err := dnsName(validation.IsDNS1123Subdomain, s.LeaseName); err != nil {
		return fmt.Errorf("lease_name: %w", err)
	}
	lease, renew, retry := time.Duration(s.LeaseDuration), time.Duration(s.RenewDeadline), time.Duration(s.RetryPeriod)
	switch {
	case lease < 0 || renew < 0 || retry < 0:
		return fmt.Errorf("lease_duration, renew_deadline and retry_period must not be negative")
	case lease != 0 && lease < time.Second:
		// A Lease records its duration in whole seconds.
		return fmt.Errorf("lease_duration %v must be at least 1s", lease)
	case lease <= renew:
		return fmt.Errorf("lease_duration %v must be longer than renew_deadline %v", lease, renew)
	case float64(renew) <= kube.JitterFactor*float64(retry):
		return fmt.Errorf("renew_deadline %v must be longer than %v times retry_period %v", renew, kube.JitterFactor, retry)
	}

	key, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("kubernetes source key: %v", err)
	}
	val, _, err := sharedSources.LoadOrNew(string(key), func() (caddy.Destructor, error) { return new(sharedSource), nil })
	if err != nil {
		return err
	}
	s.key, s.shared = string(key), val.(*sharedSource)

	s.config = kube.Config{
		Namespaces:      s.Namespaces,
		PublishService:  publish,
		StatusAddresses: s.StatusAddresses,
		Lease: kube.Lease{
			Namespace:     s.LeaseNamespace,
			Name:          s.LeaseName,
			Duration:      lease,
			RenewDeadline: renew,
			RetryPeriod:   retry,
		},
	}
	return nil
}

// dnsName checks value with a validation function of apimachinery.
func dnsName(check func(string) []string, value string) error {
	if errs := check(value); len(errs) > 0 {
		return fmt.Errorf("%q: %s", value, strings.Join(errs, "; "))
	}
	return nil
}

// Preloaded reports whether the watches this source shares with an
// earlier config have synced: Start then delivers a snapshot at once.
func (s *KubernetesSource) Preloaded() bool {
	return s.shared.synced()
}

// Start subscribes to the shared watches of this configuration, starting
// them if no earlier config did, and returns at once. It reads the
// kubeconfig (or in-cluster) files but makes no API call.
func (s *KubernetesSource) Start(update func(*ingress.Snapshot, []ingress.Problem)) error {
	// Before the source can build its first snapshot.
	s.shared.nameConfigMaps(s, s.refs)
	src, err := s.shared.start(s)
	if err != nil {
		s.shared.nameConfigMaps(s, nil)
		return err
	}
	s.source = src
	s.unsubscribe = src.Subscribe(update)
	if s.refs != nil {
		// A source that an earlier config started watches this config's
		// ConfigMaps from its next snapshot on.
		src.Refresh()
	}
	return nil
}

// WatchConfigMaps sets the function that names the ConfigMaps to watch.
// The app calls it before Start. Configs that share the watches each name
// their own: during a reload, the old and the new config get theirs.
func (s *KubernetesSource) WatchConfigMaps(refs func([]*networkingv1.Ingress) []string) {
	s.refs = refs
}

// Stop ends the subscription. The watches go on while another config
// shares them; the last one to be cleaned up stops them.
func (s *KubernetesSource) Stop() error {
	if s.unsubscribe != nil {
		s.unsubscribe()
		s.unsubscribe = nil
		s.shared.nameConfigMaps(s, nil)
		if s.refs != nil {
			s.source.Refresh()
		}
	}
	return nil
}

// Cleanup releases this instance's share of the watches.
func (s *KubernetesSource) Cleanup() error {
	if s.key == "" {
		return nil
	}
	_, err := sharedSources.Delete(s.key)
	return err
}

// restConfig returns the client configuration: from the kubeconfig file,
// or else in-cluster.
func (s *KubernetesSource) restConfig() (*rest.Config, error) {
	return kubeclient.RESTConfig(s.Kubeconfig, "caddy-ingress")
}

// Report forwards the outcome of a translation to the running source,
// which writes status and records Events if it leads.
func (s *KubernetesSource) Report(r Report) {
	if s.source != nil {
		s.source.Report(r.Ingresses, r.Problems)
	}
}

// Interface guards
var (
	_ caddy.Provisioner  = (*KubernetesSource)(nil)
	_ caddy.CleanerUpper = (*KubernetesSource)(nil)
	_ Source             = (*KubernetesSource)(nil)
	_ Preloader          = (*KubernetesSource)(nil)
	_ Reporter           = (*KubernetesSource)(nil)
	_ ConfigMapWatcher   = (*KubernetesSource)(nil)
)
