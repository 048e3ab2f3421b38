package caddyingress

import (
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(namingSource{})
}

// namingSource is a ConfigMapWatcher that records what the app gives it.
type namingSource struct {
	refs func([]*networkingv1.Ingress) []string
	// namedAtStart is whether WatchConfigMaps came before Start.
	namedAtStart bool
}

func (namingSource) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "ingress.sources.naming", New: func() caddy.Module { return new(namingSource) }}
}

func (s *namingSource) WatchConfigMaps(refs func([]*networkingv1.Ingress) []string) { s.refs = refs }

func (s *namingSource) Start(update func(*ingress.Snapshot, []ingress.Problem)) error {
	s.namedAtStart = s.refs != nil
	update(&ingress.Snapshot{}, nil)
	return nil
}

func (*namingSource) Stop() error { return nil }

// TestAppNamesConfigMaps checks that the app tells a ConfigMapWatcher,
// before Start, which ConfigMaps translation reads, with its own options:
// here its annotations prefix.
func TestAppNamesConfigMaps(t *testing.T) {
	app := loadApp(t, `{"admin":{"disabled":true,"config":{"persist":false}},"apps":{"ingress":{"annotations_prefix":"example.com","source":{"source":"naming"}}}}`)
	src := app.source.(*namingSource)
	if !src.namedAtStart {
		t.Fatal("got no ConfigMap names at Start, want them")
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: map[string]string{
		"example.com/custom-headers":                 "headers",
		"nginx.ingress.kubernetes.io/custom-headers": "ignored",
	}}}
	if got, want := src.refs([]*networkingv1.Ingress{ing}), []string{"shop/headers"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
