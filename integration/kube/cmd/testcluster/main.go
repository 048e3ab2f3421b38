// Command testcluster runs a Kubernetes API server and etcd in one process
// until it gets SIGINT or SIGTERM, for trying caddy-ingress on a laptop.
// Run it from integration/kube:
//
//	go run ./cmd/testcluster -dir /tmp/tc
//
// It writes <dir>/kubeconfig with admin credentials; see package testcluster
// for what the cluster has and lacks.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caddy-ingress/caddy-ingress/integration/kube/testcluster"
)

func main() {
	dir := flag.String("dir", "", "directory for the kubeconfig, certificates, logs and etcd data (default: a new temporary directory)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, stop, *dir, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		os.Exit(1)
	}
}

// run starts the cluster in dir, prints how to use it to out and stops it
// when ctx is done. stopSignals restores the default signal handling, so that
// a second Ctrl-C during shutdown kills the process.
func run(ctx context.Context, stopSignals func(), dir string, out io.Writer) error {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "testcluster-"); err != nil {
			return err
		}
	}
	began := time.Now()
	c, err := testcluster.Start(ctx, dir)
	if err != nil {
		return err
	}
	kubeconfig := c.Kubeconfig()
	fmt.Fprintf(out, `API server %s ready in %v.

Use it with kubectl:
	kubectl --kubeconfig %s get namespaces
	export KUBECONFIG=%s

Point caddy-ingress at it in the Caddyfile:
	{
		ingress {
			kubeconfig %s
		}
	}

Logs: %s/kube-apiserver.log, %s/etcd.log
There is no controller manager: create EndpointSlices for your Services yourself
(addresses in 127.0.0.0/8 are rejected).
Press Ctrl-C to stop.
`, c.RESTConfig().Host, time.Since(began).Round(time.Millisecond), kubeconfig, kubeconfig, kubeconfig, dir, dir)

	<-ctx.Done()
	stopSignals()
	fmt.Fprintln(out, "stopping")
	return c.Stop()
}
