package caddyingress

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/source/kube"
)

func provisionKubernetes(t *testing.T, config string) (*KubernetesSource, error) {
	t.Helper()
	var s KubernetesSource
	if err := json.Unmarshal([]byte(config), &s); err != nil {
		t.Fatalf("decoding %s: %v", config, err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	err := s.Provision(ctx)
	t.Cleanup(func() {
		if err := s.Cleanup(); err != nil {
			t.Errorf("cleanup: got error %v, want none", err)
		}
	})
	return &s, err
}

func TestKubernetesSourceProvision(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr string
	}{
		{name: "defaults", config: `{}`},
		{
			name: "everything",
			config: `{"kubeconfig": "/etc/kubeconfig", "namespaces": ["apps", "web"], "publish_service": "caddy-ingress/caddy-ingress",
				"lease_namespace": "caddy-ingress", "lease_name": "edge.leader", "lease_duration": "30s", "renew_deadline": "20s", "retry_period": "4s"}`,
		},
		{name: "status addresses", config: `{"status_addresses": ["192.0.2.1", "2001:db8::1", "lb.example.com"]}`},
		{name: "bad namespace", config: `{"namespaces": ["Apps"]}`, wantErr: `namespaces: "Apps": a lowercase RFC 1123 label`},
		{name: "namespace twice", config: `{"namespaces": ["apps", "web", "apps"]}`, wantErr: `namespaces: "apps" is listed twice`},
		{name: "publish service without namespace", config: `{"publish_service": "caddy-ingress"}`, wantErr: `publish_service "caddy-ingress": want namespace/name`},
		{name: "publish service with bad name", config: `{"publish_service": "caddy-ingress/1lb"}`, wantErr: `publish_service: name "1lb"`},
		{name: "publish service with bad namespace", config: `{"publish_service": "/lb"}`, wantErr: `publish_service: namespace ""`},
		{
			name:    "publish service and addresses",
			config:  `{"publish_service": "caddy-ingress/lb", "status_addresses": ["192.0.2.1"]}`,
			wantErr: "publish_service and status_addresses are mutually exclusive",
		},
		{name: "bad address", config: `{"status_addresses": ["192.0.2.1:80"]}`, wantErr: `status_addresses: "192.0.2.1:80"`},
		{name: "bad lease namespace", config: `{"lease_namespace": "a.b"}`, wantErr: `lease_namespace: "a.b"`},
		{name: "bad lease name", config: `{"lease_name": "Leader"}`, wantErr: `lease_name: "Leader"`},
		{name: "negative duration", config: `{"retry_period": "-1s"}`, wantErr: "must not be negative"},
		{name: "lease shorter than renew deadline", config: `{"lease_duration": "10s"}`, wantErr: "lease_duration 10s must be longer than renew_deadline 10s"},
		{name: "lease under a second", config: `{"lease_duration": "800ms", "renew_deadline": "500ms", "retry_period": "200ms"}`, wantErr: "lease_duration 800ms must be at least 1s"},
		{name: "renew deadline too short", config: `{"retry_period": "9s"}`, wantErr: "renew_deadline 10s must be longer than 1.2 times retry_period 9s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provisionKubernetes(t, tt.config)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("got error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestKubernetesSourceDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "ingress-system")
	s, err := provisionKubernetes(t, `{"namespaces": ["apps"], "publish_service": "ingress-system/edge"}`)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := kube.Config{
		Namespaces:     []string{"apps"},
		PublishService: types.NamespacedName{Namespace: "ingress-system", Name: "edge"},
		Lease: kube.Lease{
			Namespace:     "ingress-system",
			Name:          "caddy-ingress-leader",
			Duration:      15 * time.Second,
			RenewDeadline: 10 * time.Second,
			RetryPeriod:   2 * time.Second,
		},
	}
	got := s.config
	if !slices.Equal(got.Namespaces, want.Namespaces) || got.PublishService != want.PublishService || got.Lease != want.Lease || got.StatusAddresses != nil {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if s.LeaseNamespace != "ingress-system" || s.LeaseName != "caddy-ingress-leader" {
		t.Errorf("got lease %s/%s, want the defaults in the config", s.LeaseNamespace, s.LeaseName)
	}
}

func TestKubernetesSourceStartWithoutCluster(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr string
	}{
		{name: "missing kubeconfig", config: `{"kubeconfig": "` + filepath.Join(t.TempDir(), "missing") + `"}`, wantErr: "kubeconfig "},
		{name: "not in a cluster", config: `{}`, wantErr: "in-cluster kubernetes config (outside a cluster, set kubeconfig)"},
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := provisionKubernetes(t, tt.config)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			err = s.Start(func(*ingress.Snapshot, []ingress.Problem) { t.Error("got an update, want none") })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
			s.Report(Report{}) // before a source runs: nothing to forward to
		})
	}
}

// TestKubernetesSourcesShareWatches checks that sources configured alike,
// as those of the old and new config in a reload, share one set of
// watches, which lives until the last of them is cleaned up.
func TestKubernetesSourcesShareWatches(t *testing.T) {
	a, err := provisionKubernetes(t, `{"kubeconfig": "/nonexistent", "namespaces": ["web"]}`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := provisionKubernetes(t, `{"kubeconfig": "/nonexistent", "namespaces": ["web"]}`)
	if err != nil {
		t.Fatal(err)
	}
	c, err := provisionKubernetes(t, `{"kubeconfig": "/nonexistent", "namespaces": ["api"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if a.shared != b.shared {
		t.Error("got two shared sources for one configuration, want one")
	}
	if a.shared == c.shared {
		t.Error("got one shared source for two configurations, want two")
	}
	if refs, ok := sharedSources.References(a.key); !ok || refs != 2 {
		t.Errorf("got %d references (present %v), want 2", refs, ok)
	}
	if err := a.Cleanup(); err != nil {
		t.Fatal(err)
	}
	a.key = "" // cleaned up already
	if refs, ok := sharedSources.References(b.key); !ok || refs != 1 {
		t.Errorf("after one cleanup: got %d references (present %v), want 1", refs, ok)
	}
}

// TestKubernetesSourceValidates checks that `caddy validate` provisions
// the source, without a cluster.
func TestKubernetesSourceValidates(t *testing.T) {
	tests := []struct {
		name    string
		source  string
		wantErr string
	}{
		{name: "in-cluster defaults", source: `{"source": "kubernetes"}`},
		{name: "bad setting", source: `{"source": "kubernetes", "publish_service": "lb"}`, wantErr: `publish_service "lb": want namespace/name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &caddy.Config{
				Admin:   &caddy.AdminConfig{Disabled: true},
				AppsRaw: caddy.ModuleMap{"ingress": json.RawMessage(`{"source": ` + tt.source + `}`)},
			}
			err := caddy.Validate(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("got error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestSharedSourceConfigMapRefs checks that shared watches watch the
// ConfigMaps that any config sharing them names, as during a reload.
func TestSharedSourceConfigMapRefs(t *testing.T) {
	var sh sharedSource
	old, cur := new(KubernetesSource), new(KubernetesSource)
	names := func(refs ...string) func([]*networkingv1.Ingress) []string {
		return func([]*networkingv1.Ingress) []string { return refs }
	}
	sh.nameConfigMaps(old, names("a/old", "a/shared"))
	sh.nameConfigMaps(cur, names("a/new", "a/shared"))
	if got, want := sh.configMapRefs(nil), []string{"a/new", "a/old", "a/shared"}; !slices.Equal(got, want) {
		t.Errorf("both configs: got %q, want %q", got, want)
	}
	sh.nameConfigMaps(old, nil)
	if got, want := sh.configMapRefs(nil), []string{"a/new", "a/shared"}; !slices.Equal(got, want) {
		t.Errorf("after the old config stopped: got %q, want %q", got, want)
	}
	sh.nameConfigMaps(cur, nil)
	if got := sh.configMapRefs(nil); len(got) != 0 {
		t.Errorf("no config: got %q, want none", got)
	}
}
