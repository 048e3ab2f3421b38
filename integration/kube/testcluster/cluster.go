// Package testcluster runs a real Kubernetes API server, backed by a real
// etcd, inside the calling process: for end-to-end tests of caddy-ingress and
// for trying the controller on a laptop. Nothing but Go is needed; there are
// no binaries to download.
//
// There is no controller manager, scheduler or kubelet: namespaces never
// finish deleting, nothing is garbage-collected, and Services get no
// EndpointSlices unless the caller creates them.
//
// The API server logs through klog, which is global: while a cluster runs,
// everything klog writes in the process goes to <dir>/kube-apiserver.log,
// and after Stop it is discarded. etcd logs to <dir>/etcd.log.
package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// readyTimeout bounds the wait for /readyz after the API server starts.
	readyTimeout = 2 * time.Minute
	// stopTimeout bounds the wait for the API server to shut down; the
	// server itself gives up on open connections after 60s.
	stopTimeout = 90 * time.Second
	// rebindTimeout bounds the wait for the API server's port to be free
	// again when it restarts.
	rebindTimeout = 10 * time.Second
)

// Cluster is an etcd and a kube-apiserver running in this process. The API
// server listens on 127.0.0.1, on a port picked by Start below the ephemeral
// port range and kept across StopAPIServer and StartAPIServer, as are its
// serving certificate, its CA and the admin credentials.
type Cluster struct {
	dir        string
	kubeconfig string
	pki        *pki
	etcd       *embed.Etcd
	etcdURL    string
	addr       string // host:port of the API server
	config     *rest.Config
	client     kubernetes.Interface
	log        *os.File

	mu        sync.Mutex
	apiServer *apiServer // nil while stopped
	stopped   bool
}

// Start starts etcd and a kube-apiserver bound to 127.0.0.1 and waits for
// /readyz. dir holds what the cluster writes: pki/ (the CA, the serving
// certificate and the service account key), etcd/ (etcd's data),
// kubeconfig, kube-apiserver.log and etcd.log. Start replaces those entries
// if they exist, and leaves everything else in dir alone. ctx bounds the
// start only; the cluster runs until Stop.
func Start(ctx context.Context, dir string) (_ *Cluster, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	for _, name := range []string{"pki", "etcd", "kubeconfig", "kube-apiserver.log", "etcd.log"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("cluster dir: %w", err)
		}
	}

	c := &Cluster{dir: dir, kubeconfig: filepath.Join(dir, "kubeconfig")}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()
	if c.log, err = os.OpenFile(filepath.Join(dir, "kube-apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, fmt.Errorf("api server log: %w", err)
	}
	if err := logKlogTo(c.log); err != nil {
		return nil, fmt.Errorf("api server log: %w", err)
	}
	if c.pki, err = newPKI(filepath.Join(dir, "pki")); err != nil {
		return nil, err
	}
	if c.etcd, c.etcdURL, err = startEtcd(ctx, filepath.Join(dir, "etcd"), filepath.Join(dir, "etcd.log")); err != nil {
		return nil, err
	}

	ln, err := listenOutsideEphemeralRange()
	if err != nil {
		return nil, fmt.Errorf("api server: %w", err)
	}
	c.addr = ln.Addr().String()
	c.config = &rest.Config{
		Host: "https://" + c.addr,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.pki.caPEM,
			CertData: c.pki.adminCertPEM,
			KeyData:  c.pki.adminKeyPEM,
		},
		QPS:   1000,
		Burst: 2000,
	}
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		ln.Close()
		return nil, fmt.Errorf("client: %w", err)
	}
	if err := c.writeKubeconfig(); err != nil {
		ln.Close()
		return nil, err
	}

	c.mu.Lock()
	err = c.runAPIServer(ctx, ln)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RESTConfig returns a copy of the admin credentials: user admin in group
// system:masters, by client certificate.
func (c *Cluster) RESTConfig() *rest.Config {
	return rest.CopyConfig(c.config)
}

// Client returns a clientset with the admin credentials. It keeps working
// across StopAPIServer and StartAPIServer.
func (c *Cluster) Client() kubernetes.Interface {
	return c.client
}

// Kubeconfig returns the path of a kubeconfig file with the admin
// credentials, for kubectl and for a Caddy process. It keeps working across
// StopAPIServer and StartAPIServer.
func (c *Cluster) Kubeconfig() string {
	return c.kubeconfig
}

// StopAPIServer stops the API server and waits until its port is closed;
// etcd keeps running.
func (c *Cluster) StopAPIServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiServer == nil {
		return errors.New("api server is not running")
	}
	return c.stopAPIServer()
}

// StartAPIServer starts the API server again, on the same address with the
// same certificates and credentials, and waits for /readyz.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("cluster is stopped")
	}
	if c.apiServer != nil {
		return errors.New("api server is already running")
	}
	ln, err := listenAgain(ctx, c.addr)
	if err != nil {
		return fmt.Errorf("api server: %w", err)
	}
	return c.runAPIServer(ctx, ln)
}

// Stop stops the API server and etcd. The files in dir stay.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	if c.apiServer != nil {
		errs = append(errs, c.stopAPIServer())
	}
	if c.etcd != nil {
		c.etcd.Close()
	}
	if c.log != nil {
		// Another cluster started since may own klog's output by now.
		klogOutput.swap(c.log, io.Discard)
		errs = append(errs, c.log.Close())
	}
	return errors.Join(errs...)
}

// runAPIServer starts the API server on ln and waits until it is ready. The
// caller holds c.mu.
func (c *Cluster) runAPIServer(ctx context.Context, ln net.Listener) error {
	run, err := c.startAPIServer(ctx, ln)
	if err != nil {
		ln.Close()
		return err
	}
	c.apiServer = run
	if err := c.waitReady(ctx, run); err != nil {
		return errors.Join(err, c.stopAPIServer())
	}
	return nil
}

// stopAPIServer stops the running API server. The caller holds c.mu.
func (c *Cluster) stopAPIServer() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := c.apiServer.stop(ctx)
	c.apiServer = nil
	return err
}

// waitReady polls /readyz until it answers 200 and the default namespace
// exists, run ends, ctx is done or readyTimeout passes.
func (c *Cluster) waitReady(ctx context.Context, run *apiServer) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = c.ready(ctx); last == nil {
			return nil
		}
		select {
		case <-run.done:
			return fmt.Errorf("api server exited before it was ready: %w (log: %s)", run.err, c.log.Name())
		case <-ctx.Done():
			return fmt.Errorf("api server not ready: %w: %w (log: %s)", ctx.Err(), last, c.log.Name())
		case <-tick.C:
		}
	}
}

// ready tells whether /readyz answers 200 and the default namespace exists.
func (c *Cluster) ready(ctx context.Context) error {
	var status int
	res := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
	if status != http.StatusOK {
		if err := res.Error(); err != nil {
			return fmt.Errorf("/readyz: %w", err)
		}
		return fmt.Errorf("/readyz: status %d", status)
	}
	if _, err := c.client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return errors.New("namespace default does not exist yet")
		}
		return fmt.Errorf("namespace default: %w", err)
	}
	return nil
}

// writeKubeconfig writes the admin kubeconfig, with the CA and the client
// certificate inline so that it stands alone.
func (c *Cluster) writeKubeconfig() error {
	const name = "testcluster"
	config := clientcmdapi.NewConfig()
	config.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   c.config.Host,
		CertificateAuthorityData: c.pki.caPEM,
	}
	config.AuthInfos[name] = &clientcmdapi.AuthInfo{
		ClientCertificateData: c.pki.adminCertPEM,
		ClientKeyData:         c.pki.adminKeyPEM,
	}
	config.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: metav1.NamespaceDefault}
	config.CurrentContext = name
	if err := clientcmd.WriteToFile(*config, c.kubeconfig); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return nil
}

// listenOutsideEphemeralRange listens on a free port of 127.0.0.1 below the
// kernel's ephemeral port range, when there is room there. The port must be
// free again whenever StartAPIServer runs, and a port in the ephemeral range
// can be taken meanwhile by any outgoing connection of this machine, such as
// a proxy's to its backends.
func listenOutsideEphemeralRange() (net.Listener, error) {
	const lowest = 10000
	if low, err := ephemeralPortsStart(); err == nil && low > lowest+1000 {
		for range 100 {
			port := lowest + rand.IntN(low-lowest)
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err == nil {
				return ln, nil
			}
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// ephemeralPortsStart returns the first port of Linux's ephemeral port
// range.
func ephemeralPortsStart() (int, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0, fmt.Errorf("ip_local_port_range: %q", b)
	}
	return strconv.Atoi(fields[0])
}

// listenAgain listens on addr, retrying while the port is still in use.
func listenAgain(ctx context.Context, addr string) (net.Listener, error) {
	ctx, cancel := context.WithTimeout(ctx, rebindTimeout)
	defer cancel()
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			return ln, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("port %s still in use: %w", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
