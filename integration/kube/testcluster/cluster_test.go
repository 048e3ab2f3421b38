package testcluster_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/caddy-ingress/caddy-ingress/integration/kube/testcluster"
)

// startTimeout bounds the start of the cluster in TestMain, cold caches
// included.
const startTimeout = 3 * time.Minute

// cluster is started once for all tests by TestMain.
var (
	cluster     *testcluster.Cluster
	startupTime time.Duration
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "testcluster-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		return 1
	}
	code := 1
	defer func() {
		if code == 0 {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "testcluster: logs and data kept in %s\n", dir)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	began := time.Now()
	cluster, err = testcluster.Start(ctx, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: start: %v\n", err)
		return code
	}
	startupTime = time.Since(began)

	code = m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: stop: %v\n", err)
		code = 1
	}
	return code
}

// namespaces counts the namespaces made by freshNamespace.
var namespaces atomic.Int64

// freshNamespace returns a namespace name not used before in this
// process: namespaces never finish deleting here (no controller manager),
// so a test run again, as with -count, needs a new one.
func freshNamespace(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, namespaces.Add(1))
}

// ingressFixture is the set of objects an Ingress controller reads.
type ingressFixture struct {
	namespace     *corev1.Namespace
	service       *corev1.Service
	endpointSlice *discoveryv1.EndpointSlice
	ingressClass  *networkingv1.IngressClass
	ingress       *networkingv1.Ingress
}

// createFixture creates, in a new namespace ns, a Service "web" with an
// EndpointSlice at 192.0.2.10:8080, an IngressClass named after ns and an
// Ingress routing example.com to the Service. It returns what the API server
// returned for each.
func createFixture(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) ingressFixture {
	t.Helper()
	var f ingressFixture
	var err error
	f.namespace, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	f.service, err = client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	f.endpointSlice, err = client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "web-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: "web"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{"192.0.2.10"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create endpointslice: %v", err)
	}
	f.ingressClass, err = client.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		Spec:       networkingv1.IngressClassSpec{Controller: "caddy-ingress.example/controller"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ingressclass: %v", err)
	}
	f.ingress, err = client.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(ns),
			Rules: []networkingv1.IngressRule{{
				Host: "example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web",
							Port: networkingv1.ServiceBackendPort{Name: "http"},
						}},
					}},
				}},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ingress: %v", err)
	}
	return f
}

// checkFixture reads the objects of f back through client and checks that
// they are the ones that were created, unchanged.
func checkFixture(ctx context.Context, t *testing.T, client kubernetes.Interface, f ingressFixture) {
	t.Helper()
	ns := f.namespace.Name
	checks := []struct {
		kind string
		want metav1.Object
		get  func() (metav1.Object, error)
	}{
		{"namespace", f.namespace, func() (metav1.Object, error) {
			return client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		}},
		{"service", f.service, func() (metav1.Object, error) {
			return client.CoreV1().Services(ns).Get(ctx, f.service.Name, metav1.GetOptions{})
		}},
		{"endpointslice", f.endpointSlice, func() (metav1.Object, error) {
			return client.DiscoveryV1().EndpointSlices(ns).Get(ctx, f.endpointSlice.Name, metav1.GetOptions{})
		}},
		{"ingressclass", f.ingressClass, func() (metav1.Object, error) {
			return client.NetworkingV1().IngressClasses().Get(ctx, f.ingressClass.Name, metav1.GetOptions{})
		}},
		{"ingress", f.ingress, func() (metav1.Object, error) {
			return client.NetworkingV1().Ingresses(ns).Get(ctx, f.ingress.Name, metav1.GetOptions{})
		}},
	}
	for _, c := range checks {
		got, err := c.get()
		if err != nil {
			t.Errorf("get %s %s: %v", c.kind, c.want.GetName(), err)
			continue
		}
		if got.GetUID() != c.want.GetUID() || got.GetResourceVersion() != c.want.GetResourceVersion() {
			t.Errorf("%s %s: got uid %s resourceVersion %s, want uid %s resourceVersion %s", c.kind, c.want.GetName(),
				got.GetUID(), got.GetResourceVersion(), c.want.GetUID(), c.want.GetResourceVersion())
		}
	}
}

func TestObjects(t *testing.T) {
	t.Logf("cluster started in %v", startupTime)
	ctx := t.Context()
	ns := freshNamespace("objects")
	client := cluster.Client()
	f := createFixture(ctx, t, client, ns)
	checkFixture(ctx, t, client, f)

	// The API server allocated a ClusterIP from its service range.
	ip, err := netip.ParseAddr(f.service.Spec.ClusterIP)
	if err != nil {
		t.Fatalf("service clusterIP %q: %v", f.service.Spec.ClusterIP, err)
	}
	if want := netip.MustParsePrefix("10.0.0.0/16"); !want.Contains(ip) {
		t.Errorf("service clusterIP: got %v, want an address in %v", ip, want)
	}

	ing, err := client.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ingress: %v", err)
	}
	if got := ptr.Deref(ing.Spec.IngressClassName, ""); got != ns {
		t.Errorf("ingress class name: got %q, want %q", got, ns)
	}
	backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if backend.Name != "web" || backend.Port.Name != "http" {
		t.Errorf("ingress backend: got %s:%s, want web:http", backend.Name, backend.Port.Name)
	}

	slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=web",
	})
	if err != nil {
		t.Fatalf("list endpointslices: %v", err)
	}
	if len(slices.Items) != 1 || slices.Items[0].Endpoints[0].Addresses[0] != "192.0.2.10" {
		t.Errorf("endpointslices of web: got %+v, want one at 192.0.2.10", slices.Items)
	}

	// Validation is the real one: loopback endpoints are refused.
	_, err = client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "loopback"},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("create endpointslice at 127.0.0.1: got %v, want an Invalid error", err)
	}

	// RBAC is on: an unauthenticated client is forbidden.
	anonymous := cluster.RESTConfig()
	anonymous.CertData, anonymous.KeyData = nil, nil
	anonClient, err := kubernetes.NewForConfig(anonymous)
	if err != nil {
		t.Fatal(err)
	}
	_, err = anonClient.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("anonymous list namespaces: got %v, want Forbidden", err)
	}
}

func TestServerVersion(t *testing.T) {
	info, err := cluster.Client().Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	t.Logf("server version %s", info.GitVersion)
	v, err := version.ParseSemantic(info.GitVersion)
	if err != nil {
		t.Fatalf("server git version: %v", err)
	}
	if got, want := fmt.Sprintf("%d.%d", v.Major(), v.Minor()), info.Major+"."+info.Minor; got != want {
		t.Errorf("server version: got git version %s, want %s.x", info.GitVersion, want)
	}
	if v.Major() != 1 || v.Minor() < 37 {
		t.Errorf("server version: got %s, want v1.37 or later", info.GitVersion)
	}
}

func TestRestartAPIServer(t *testing.T) {
	ctx := t.Context()
	ns := freshNamespace("restart")
	client := cluster.Client()
	f := createFixture(ctx, t, client, ns)
	host := cluster.RESTConfig().Host

	// The kubeconfig file works before the restart.
	kubeconfigClient := clientFromKubeconfig(t)
	if _, err := kubeconfigClient.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("get ingress through the kubeconfig: %v", err)
	}
	if err := cluster.StartAPIServer(ctx); err == nil {
		t.Errorf("StartAPIServer while running: got no error, want one")
	}

	// An open watch, like an informer's, ends when the API server stops.
	w, err := kubeconfigClient.NetworkingV1().Ingresses(ns).Watch(ctx, metav1.ListOptions{
		ResourceVersion: f.ingress.ResourceVersion,
	})
	if err != nil {
		t.Fatalf("watch ingresses: %v", err)
	}
	defer w.Stop()

	began := time.Now()
	if err := cluster.StopAPIServer(); err != nil {
		t.Fatalf("StopAPIServer: %v", err)
	}
	t.Logf("api server stopped in %v", time.Since(began))
	if err := cluster.StopAPIServer(); err == nil {
		t.Errorf("StopAPIServer while stopped: got no error, want one")
	}
	waitWatchClosed(t, w)

	for name, c := range map[string]kubernetes.Interface{"client": client, "kubeconfig": kubeconfigClient} {
		_, err := c.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s: get ingress while stopped: got %v, want connection refused", name, err)
		}
	}

	began = time.Now()
	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Fatalf("StartAPIServer: %v", err)
	}
	t.Logf("api server restarted and ready in %v", time.Since(began))

	if got := cluster.RESTConfig().Host; got != host {
		t.Errorf("host after restart: got %s, want %s", got, host)
	}
	// The objects are still there, unchanged, read through the old client
	// and through a client made from the kubeconfig file before the restart.
	checkFixture(ctx, t, client, f)
	checkFixture(ctx, t, kubeconfigClient, f)
	checkFixture(ctx, t, clientFromKubeconfig(t), f)

	// Writes work, and resource versions carry on from before.
	f.ingress.Spec.Rules[0].Host = "www.example.com"
	updated, err := kubeconfigClient.NetworkingV1().Ingresses(ns).Update(ctx, f.ingress, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update ingress after restart: %v", err)
	}
	if updated.Spec.Rules[0].Host != "www.example.com" || updated.ResourceVersion == f.ingress.ResourceVersion {
		t.Errorf("updated ingress: got host %s resourceVersion %s, want www.example.com and a resourceVersion other than %s",
			updated.Spec.Rules[0].Host, updated.ResourceVersion, f.ingress.ResourceVersion)
	}
}

// clientFromKubeconfig builds a clientset from the cluster's kubeconfig file
// alone, as a separate Caddy process would.
func clientFromKubeconfig(t *testing.T) kubernetes.Interface {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig())
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatalf("client from kubeconfig: %v", err)
	}
	return client
}

// waitWatchClosed waits until w's result channel is closed, skipping any
// events, and fails the test after 30 seconds.
func waitWatchClosed(t *testing.T, w watch.Interface) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("watch still open 30s after the api server stopped")
		}
	}
}
