// Package e2e runs caddy-ingress end to end: a real kube-apiserver (in
// this process), real Caddy processes built from cmd/caddy, and backends
// answering over real sockets.
//
// The API server rejects loopback addresses in EndpointSlices, so the
// whole test binary runs in a network namespace of its own (made with
// unshare at start): there 192.0.2.0/24 is routed to lo, backends listen on
// such addresses, and no traffic ever leaves the namespace.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddy-ingress/caddy-ingress/integration/kube/testcluster"
)

const netnsEnv = "CADDY_INGRESS_E2E_NETNS"

var (
	cluster  *testcluster.Cluster
	caddyBin string
	setupErr error
)

func TestMain(m *testing.M) {
	if os.Getenv(netnsEnv) == "" {
		os.Exit(reexecInNetns())
	}
	dir, err := os.MkdirTemp("", "caddy-ingress-kube-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	setupErr = setup(dir)
	code := m.Run()
	if cluster != nil {
		_ = cluster.Stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// reexecInNetns runs this test binary again, with the same arguments, in
// a new network namespace (and a user namespace when not root).
func reexecInNetns() int {
	args := []string{"--net", "--fork"}
	if os.Geteuid() != 0 {
		args = append([]string{"--user", "--map-root-user"}, args...)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// tcp_migrate_req hands the connections queued on a listener that
	// closes to another of its SO_REUSEPORT group, as the README advises
	// for Caddy's config reloads (best effort: not every kernel has it).
	script := `set -e; ip link set lo up; ip route add local 192.0.2.0/24 dev lo; ` +
		`echo 1 >/proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || true; exec "$@"`
	args = append(args, "sh", "-c", script, "sh", self)
	args = append(args, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "running the tests in a network namespace (needs unshare and ip): %v\n", err)
		return 1
	}
	return 0
}

func setup(dir string) error {
	build := make(chan error, 1)
	caddyBin = filepath.Join(dir, "caddy")
	go func() {
		root, err := filepath.Abs(filepath.Join("..", "..", ".."))
		if err != nil {
			build <- err
			return
		}
		cmd := exec.Command("go", "build", "-o", caddyBin, "./cmd/caddy")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build <- fmt.Errorf("building ./cmd/caddy: %w\n%s", err, out)
			return
		}
		build <- nil
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := testcluster.Start(ctx, filepath.Join(dir, "cluster"))
	if err != nil {
		<-build
		return fmt.Errorf("starting the test cluster: %w", err)
	}
	cluster = c
	return <-build
}

func requireSetup(t testing.TB) {
	t.Helper()
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}
