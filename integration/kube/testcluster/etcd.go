package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// etcdReadyTimeout bounds how long startEtcd waits for the member to serve.
const etcdReadyTimeout = time.Minute

// startEtcd starts a single-member etcd with its data in dataDir, listening
// on two free loopback ports, and returns it with its client URL. It logs to
// logFile. fsync is off: the data only has to outlive API server restarts,
// not the process.
func startEtcd(ctx context.Context, dataDir, logFile string) (*embed.Etcd, string, error) {
	// Ports are picked by binding and releasing them, so another process can
	// take one in between; try again with new ones if that happens.
	for attempt := 1; ; attempt++ {
		e, clientURL, err := startEtcdOnce(ctx, dataDir, logFile)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || attempt == 3 {
			return e, clientURL, err
		}
	}
}

func startEtcdOnce(ctx context.Context, dataDir, logFile string) (*embed.Etcd, string, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, "", fmt.Errorf("etcd: %w", err)
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}

	cfg := embed.NewConfig()
	cfg.Name = "testcluster"
	cfg.Dir = dataDir
	cfg.UnsafeNoFsync = true
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogOutputs = []string{logFile}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("etcd: %w", err)
	}
	timer := time.NewTimer(etcdReadyTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return e, clientURL.String(), nil
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("etcd: %w", err)
	case <-timer.C:
		e.Close()
		return nil, "", fmt.Errorf("etcd: not ready after %v (log: %s)", etcdReadyTimeout, logFile)
	case <-ctx.Done():
		e.Close()
		return nil, "", fmt.Errorf("etcd: %w", ctx.Err())
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
