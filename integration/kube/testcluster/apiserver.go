package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/util/compatibility"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// serviceCIDR is the Service ClusterIP range; its first address, 10.0.0.1, is
// the kubernetes Service's ClusterIP.
const serviceCIDR = "10.0.0.0/16"

// apiServer is one run of the API server, from startAPIServer until its Run
// returns.
type apiServer struct {
	cancel context.CancelFunc
	ln     net.Listener
	done   chan struct{} // closed when Run has returned
	err    error         // what Run returned; read after done is closed
}

// apiServerFlags are the kube-apiserver flags of every run. They name only
// files made by Start, so every run serves the same certificate and accepts
// the same credentials.
func (c *Cluster) apiServerFlags() []string {
	return []string{
		"--etcd-servers=" + c.etcdURL,
		"--tls-cert-file=" + c.pki.servingCertFile,
		"--tls-private-key-file=" + c.pki.servingKeyFile,
		"--client-ca-file=" + c.pki.caFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + c.pki.serviceAccountKey,
		"--service-account-signing-key-file=" + c.pki.serviceAccountKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		// Without a controller manager nothing would create service account
		// tokens, so Pods would be rejected.
		"--disable-admission-plugins=ServiceAccount",
		// The only endpoint, 127.0.0.1, is not valid in an EndpointSlice.
		"--endpoint-reconciler-type=none",
		// Without a grace period open watches are not told about the
		// shutdown, and the HTTP server waits for them until
		// --request-timeout (60s): every informer would hold up
		// StopAPIServer for a minute. With one, they end at once.
		"--shutdown-watch-termination-grace-period=5s",
	}
}

// startAPIServer builds an API server serving on ln, the way kube-apiserver's
// own command does, and runs it in a goroutine until ctx is cancelled or
// stopAPIServer is called. It does not wait for readiness.
func (c *Cluster) startAPIServer(ctx context.Context, ln net.Listener) (*apiServer, error) {
	// Each run gets its own registry of feature gates and versions, as the
	// in-tree test server (cmd/kube-apiserver/app/testing) does, so that
	// runs share no such state through the process-wide default registry.
	featureGate := utilfeature.DefaultMutableFeatureGate.DeepCopy()
	effectiveVersion := releaseVersion{compatibility.DefaultBuildEffectiveVersion()}
	effectiveVersion.SetEmulationVersion(featureGate.EmulationVersion())
	effectiveVersion.SetMinCompatibilityVersion(featureGate.MinCompatibilityVersion())
	registry := basecompatibility.NewComponentGlobalsRegistry()
	if err := registry.Register(basecompatibility.DefaultKubeComponent, effectiveVersion, featureGate); err != nil {
		return nil, fmt.Errorf("api server: %w", err)
	}

	s := options.NewServerRunOptions()
	s.GenericServerRunOptions.ComponentGlobalsRegistry = registry
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(c.apiServerFlags()); err != nil {
		return nil, fmt.Errorf("api server flags: %w", err)
	}
	if err := registry.Set(); err != nil {
		return nil, fmt.Errorf("api server: %w", err)
	}
	s.SecureServing.Listener = ln
	s.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	s.SecureServing.ExternalAddress = ln.Addr().(*net.TCPAddr).IP

	run := &apiServer{ln: ln, done: make(chan struct{})}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	run.cancel = cancel
	server, err := func() (interface{ Run(context.Context) error }, error) {
		completed, err := s.Complete(runCtx)
		if err != nil {
			return nil, err
		}
		if errs := completed.Validate(); len(errs) != 0 {
			return nil, utilerrors.NewAggregate(errs)
		}
		config, err := app.NewConfig(completed)
		if err != nil {
			return nil, err
		}
		completedConfig, err := config.Complete()
		if err != nil {
			return nil, err
		}
		chain, err := app.CreateServerChain(completedConfig)
		if err != nil {
			return nil, err
		}
		return chain.PrepareRun()
	}()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("api server: %w", err)
	}
	go func() {
		defer close(run.done)
		run.err = server.Run(runCtx)
	}()
	return run, nil
}

// releaseVersion reports the version of the k8s.io/kubernetes module that
// was built in as the API server's /version. Without -ldflags -X the build
// would say v0.0.0-master+$Format:%H$, which kubectl and other clients fail to
// parse. Test binaries carry no module list: there it is the binary version
// with patch 0 (v1.37.0).
type releaseVersion struct {
	basecompatibility.MutableEffectiveVersion
}

func (v releaseVersion) Info() *apimachineryversion.Info {
	info := v.MutableEffectiveVersion.Info()
	if info == nil || !strings.HasPrefix(info.GitVersion, "v0.0.0-") {
		return info // set with -ldflags -X
	}
	info.GitVersion, info.GitCommit = kubernetesModuleVersion(), ""
	if info.GitVersion == "" {
		info.GitVersion = "v" + v.BinaryVersion().WithPatch(0).String()
	}
	return info
}

// kubernetesModuleVersion returns the version of k8s.io/kubernetes in this
// binary's build information, or "" if there is none.
func kubernetesModuleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range bi.Deps {
		if m.Path == "k8s.io/kubernetes" {
			if m.Replace != nil {
				m = m.Replace
			}
			return m.Version
		}
	}
	return ""
}

// stop cancels the run and waits until Run has returned and the port is
// free again.
func (a *apiServer) stop(ctx context.Context) error {
	a.cancel()
	select {
	case <-a.done:
	case <-ctx.Done():
		return fmt.Errorf("api server: not stopped: %w", ctx.Err())
	}
	// Run closes the listener on its way out; closing it again only makes
	// sure the port is free.
	if err := a.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("api server: closing listener: %w", err)
	}
	if a.err != nil && !errors.Is(a.err, context.Canceled) {
		return fmt.Errorf("api server: %w", a.err)
	}
	return nil
}
