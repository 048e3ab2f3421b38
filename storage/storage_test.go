package kubestorage

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-ingress/caddy-ingress/kubeclient"
)

func TestSetup(t *testing.T) {
	t.Setenv("POD_NAME", "caddy-ingress-7d9f-x2")
	t.Setenv("POD_NAMESPACE", "")
	// Outside a pod, nothing names a namespace; in one (CI may run in
	// one), its service account's namespace does.
	noNamespace := Storage{Namespace: kubeclient.PodNamespace(), Prefix: "caddy-storage", LeaseDuration: caddy.Duration(30 * time.Second), HolderIdentity: "caddy-ingress-7d9f-x2-" + processSuffix}
	noNamespaceErr := ""
	if noNamespace.Namespace == "" {
		noNamespaceErr = "namespace: not set, and neither $POD_NAMESPACE nor " + kubeclient.ServiceAccountNamespaceFile + " names one"
	}
	tests := []struct {
		name    string
		s       Storage
		env     string // POD_NAMESPACE
		want    Storage
		wantErr string
	}{
		{
			name: "defaults",
			env:  "caddy-ingress",
			want: Storage{Namespace: "caddy-ingress", Prefix: "caddy-storage", LeaseDuration: caddy.Duration(30 * time.Second), HolderIdentity: "caddy-ingress-7d9f-x2-" + processSuffix},
		},
		{
			name: "set",
			env:  "caddy-ingress",
			s:    Storage{Namespace: "certs", Prefix: "edge", LeaseDuration: caddy.Duration(1500 * time.Millisecond), HolderIdentity: "me"},
			want: Storage{Namespace: "certs", Prefix: "edge", LeaseDuration: caddy.Duration(1500 * time.Millisecond), HolderIdentity: "me"},
		},
		// kubeclient's TestPodNamespace reads a namespace file.
		{name: "no namespace", want: noNamespace, wantErr: noNamespaceErr},
		{name: "bad namespace", s: Storage{Namespace: "Certs"}, wantErr: `namespace "Certs": a lowercase RFC 1123 label`},
		{name: "bad prefix", env: "ns", s: Storage{Prefix: "caddy_storage"}, wantErr: `prefix "caddy_storage": a lowercase RFC 1123 label`},
		{name: "long prefix", env: "ns", s: Storage{Prefix: strings.Repeat("a", 64)}, wantErr: `prefix "aaaa`},
		{name: "short lease", env: "ns", s: Storage{LeaseDuration: caddy.Duration(500 * time.Millisecond)}, wantErr: "lease_duration 500ms: must be at least 1s"},
		{name: "long identity", env: "ns", s: Storage{HolderIdentity: strings.Repeat("x", 254)}, wantErr: "holder_identity: 254 characters, at most 253"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("POD_NAMESPACE", tc.env)
			s := tc.s
			err := s.setup(zap.NewNop())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Namespace != tc.want.Namespace || s.Prefix != tc.want.Prefix || s.LeaseDuration != tc.want.LeaseDuration || s.HolderIdentity != tc.want.HolderIdentity {
				t.Errorf("got %+v, want %+v", s, tc.want)
			}
		})
	}
}

// TestLeaseSeconds: a Lease counts whole seconds, so lease_duration is
// rounded up.
func TestLeaseSeconds(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"whole", 30 * time.Second, 30 * time.Second},
		{"fraction", 1500 * time.Millisecond, 2 * time.Second},
		{"just over", time.Second + time.Nanosecond, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Storage{Namespace: "ns", LeaseDuration: caddy.Duration(tc.in)}
			if err := s.setup(zap.NewNop()); err != nil {
				t.Fatal(err)
			}
			if s.duration != tc.want {
				t.Errorf("got %v, want %v", s.duration, tc.want)
			}
		})
	}
}

// TestNoAPICallBeforeUse: provisioning with a kubeconfig that does not
// exist succeeds (it makes no client); the first use says what is wrong.
func TestNoAPICallBeforeUse(t *testing.T) {
	s := Storage{Namespace: "ns", Kubeconfig: "/nonexistent/kubeconfig"}
	if err := s.setup(zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load(t.Context(), "a")
	if err == nil || !strings.Contains(err.Error(), "kubeconfig /nonexistent/kubeconfig") {
		t.Errorf("got %v, want an error naming the kubeconfig", err)
	}
	if err := s.Lock(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "lock x: kubeconfig /nonexistent/kubeconfig") {
		t.Errorf("Lock: got %v, want an error at once naming the kubeconfig", err)
	}
	if got := s.String(); got != "kubernetes:ns/caddy-storage" {
		t.Errorf("String: got %q", got)
	}
}
