package main

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedAPIGroups are the k8s.io/api packages the binary may link: the
// groups caddy-ingress reads and writes (core, networking, discovery,
// coordination for leader election and storage locks, events).
var allowedAPIGroups = map[string]bool{
	"k8s.io/api/core/v1":         true,
	"k8s.io/api/networking/v1":   true,
	"k8s.io/api/discovery/v1":    true,
	"k8s.io/api/coordination/v1": true,
	"k8s.io/api/events/v1":       true,
}

// forbiddenPrefixes are the client-go packages that register or wrap
// every API group: one of them links all of k8s.io/api (some 30 MiB of
// the stripped binary; see bench/README.md). The kubeclient package is
// what to use instead.
var forbiddenPrefixes = []string{
	"k8s.io/client-go/kubernetes",
	"k8s.io/client-go/informers",
	"k8s.io/client-go/listers",
	"k8s.io/client-go/applyconfigurations",
	"k8s.io/client-go/tools/leaderelection",
}

// TestDependenciesLinkFewAPIGroups keeps the binary small: it fails when
// the caddy command depends on client-go's all-groups packages or on the
// types of an API group it does not use.
func TestDependenciesLinkFewAPIGroups(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("got %d dependencies, want the caddy command's hundreds", len(deps))
	}
	for _, pkg := range deps {
		if strings.HasPrefix(pkg, "k8s.io/api/") && !allowedAPIGroups[pkg] {
			t.Errorf("got dependency %s, want only the API groups %v", pkg, slices.Sorted(maps.Keys(allowedAPIGroups)))
		}
		for _, prefix := range forbiddenPrefixes {
			if pkg == prefix || strings.HasPrefix(pkg, prefix+"/") {
				t.Errorf("got dependency %s, which links every API group; use the kubeclient package", pkg)
			}
		}
	}
}
