package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// helmEnv names the helm binary the chart tests render with; .ci/run
// builds one and sets it.
const helmEnv = "CADDY_INGRESS_HELM"

var (
	repoRoot = filepath.Join("..", "..", "..")
	chartDir = filepath.Join(repoRoot, "charts", "caddy-ingress")
)

// helm returns the helm command: $CADDY_INGRESS_HELM, else helm on PATH.
// Without one the test is skipped, except in CI (CI=true), where it fails.
func helm(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(helmEnv); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath("helm"); err == nil {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no helm: set %s (.ci/run builds one)", helmEnv)
	}
	t.Skipf("no helm: set %s or put helm on PATH to render the chart", helmEnv)
	return ""
}

// renderChart runs helm template for release in namespace with the given
// helm flags (-f, --set) and returns the objects, by "Kind/name".
func renderChart(t *testing.T, release, namespace string, flags ...string) map[string]*unstructured.Unstructured {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", namespace}, flags...)
	cmd := exec.Command(helm(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	objs := make(map[string]*unstructured.Unstructured)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding the rendered chart: %v", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		key := obj.GetKind() + "/" + obj.GetName()
		if objs[key] != nil {
			t.Fatalf("the chart renders %s twice", key)
		}
		objs[key] = &obj
	}
	return objs
}

// applyChart creates every object with server-side apply, as helm
// install would, and removes the cluster-scoped ones and the Service
// (whose node ports are cluster-wide) when the test ends.
func applyChart(t *testing.T, objs map[string]*unstructured.Unstructured) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube().Discovery()))
	for _, key := range slices.Sorted(maps.Keys(objs)) {
		obj := objs[key]
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		var res dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == "namespace" {
			if obj.GetNamespace() == "" {
				t.Errorf("%s: rendered without namespace, want the release namespace", key)
				continue
			}
			res = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		}
		if _, err := res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "helm-e2e", Force: true}); err != nil {
			t.Errorf("applying %s: %v", key, err)
			continue
		}
		if mapping.Scope.Name() != "namespace" || gvk.Kind == "Service" {
			t.Cleanup(func() { _ = res.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}) })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// typed converts a rendered object into out, a typed API object.
func typed(t *testing.T, objs map[string]*unstructured.Unstructured, key string, out any) {
	t.Helper()
	obj := objs[key]
	if obj == nil {
		t.Fatalf("the chart renders no %s; it renders %v", key, slices.Sorted(maps.Keys(objs)))
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// deployed returns the document of deploy/<file> whose kind is kind,
// decoded into out.
func deployed(t *testing.T, file, kind string, out any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", file))
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			t.Fatalf("deploy/%s: no %s (%v)", file, kind, err)
		}
		if obj.GetKind() == kind {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

// adapt runs caddy adapt on the Caddyfile of the rendered ConfigMap and
// returns the JSON config, or the error with Caddy's output.
func adapt(t *testing.T, objs map[string]*unstructured.Unstructured, configMap string) (map[string]any, error) {
	t.Helper()
	var cm corev1.ConfigMap
	typed(t, objs, "ConfigMap/"+configMap, &cm)
	file := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(file, []byte(cm.Data["Caddyfile"]), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(caddyBin, "adapt", "--config", file, "--adapter", "caddyfile").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("caddy adapt: %w\n%s\nCaddyfile:\n%s", err, out, cm.Data["Caddyfile"])
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		return nil, fmt.Errorf("caddy adapt printed no JSON config: %w\n%s", err, out)
	}
	return cfg, nil
}

// TestChartDefaults renders the chart with its default values (a class
// and namespace of the test's own), applies every object to the API
// server, checks that it matches deploy/ where they must agree, adapts its
// Caddyfile, and runs Caddy with the chart's ServiceAccount: the chart's
// RBAC lets it list and watch, hold the Lease, and write status.
func TestChartDefaults(t *testing.T) {
	ns := newNamespace(t, "chart")
	class := "chart-" + ns
	objs := renderChart(t, "ci", ns, "--set", "ingressClass.name="+class, "--set", "watchNamespaces={"+ns+"}")
	applyChart(t, objs)
	full := "ci-caddy-ingress"

	for _, key := range []string{"ServiceAccount/" + full, "ClusterRole/" + full, "ClusterRoleBinding/" + full,
		"Role/" + full + "-leader-election", "RoleBinding/" + full + "-leader-election", "ConfigMap/" + full,
		"IngressClass/" + class, "Service/" + full, "Deployment/" + full, "PodDisruptionBudget/" + full} {
		if objs[key] == nil {
			t.Errorf("the chart renders no %s", key)
		}
	}
	if objs["Role/"+full+"-storage"] != nil {
		t.Errorf("the storage Role is rendered with automatic certificates off")
	}

	// What deploy/ and the chart must agree on.
	var chartRole, deployRole rbacv1.ClusterRole
	typed(t, objs, "ClusterRole/"+full, &chartRole)
	deployed(t, "rbac.yaml", "ClusterRole", &deployRole)
	if !reflect.DeepEqual(chartRole.Rules, deployRole.Rules) {
		t.Errorf("ClusterRole rules: got %+v in the chart, want deploy/rbac.yaml's %+v", chartRole.Rules, deployRole.Rules)
	}
	var chartLeader, deployLeader rbacv1.Role
	typed(t, objs, "Role/"+full+"-leader-election", &chartLeader)
	deployed(t, "rbac.yaml", "Role", &deployLeader)
	for i := range deployLeader.Rules {
		if deployLeader.Rules[i].ResourceNames != nil {
			deployLeader.Rules[i].ResourceNames = []string{full + "-leader"}
		}
	}
	if !reflect.DeepEqual(chartLeader.Rules, deployLeader.Rules) {
		t.Errorf("leader election Role rules: got %+v in the chart, want deploy/rbac.yaml's for its Lease %+v", chartLeader.Rules, deployLeader.Rules)
	}
	var chartDeploy, deployDeploy appsv1.Deployment
	typed(t, objs, "Deployment/"+full, &chartDeploy)
	deployed(t, "deployment.yaml", "Deployment", &deployDeploy)
	if got, want := *chartDeploy.Spec.Replicas, *deployDeploy.Spec.Replicas; got != want {
		t.Errorf("replicas: got %d, want deploy/'s %d", got, want)
	}
	cc, dc := chartDeploy.Spec.Template.Spec.Containers[0], deployDeploy.Spec.Template.Spec.Containers[0]
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"command", cc.Command, dc.Command},
		{"env", cc.Env, dc.Env},
		{"ports", cc.Ports, dc.Ports},
		{"probes", []any{cc.StartupProbe, cc.ReadinessProbe, cc.LivenessProbe}, []any{dc.StartupProbe, dc.ReadinessProbe, dc.LivenessProbe}},
		{"lifecycle", cc.Lifecycle, dc.Lifecycle},
		{"resources", cc.Resources, dc.Resources},
		{"securityContext", cc.SecurityContext, dc.SecurityContext},
		{"volumeMounts", cc.VolumeMounts, dc.VolumeMounts},
		{"pod securityContext", chartDeploy.Spec.Template.Spec.SecurityContext, deployDeploy.Spec.Template.Spec.SecurityContext},
		{"terminationGracePeriodSeconds", chartDeploy.Spec.Template.Spec.TerminationGracePeriodSeconds, deployDeploy.Spec.Template.Spec.TerminationGracePeriodSeconds},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("container %s: got %+v in the chart, want deploy/deployment.yaml's %+v", f.name, f.got, f.want)
		}
	}
	var chartSvc, deploySvc corev1.Service
	typed(t, objs, "Service/"+full, &chartSvc)
	deployed(t, "service.yaml", "Service", &deploySvc)
	if chartSvc.Spec.Type != deploySvc.Spec.Type || chartSvc.Spec.ExternalTrafficPolicy != deploySvc.Spec.ExternalTrafficPolicy ||
		!reflect.DeepEqual(chartSvc.Spec.Ports, deploySvc.Spec.Ports) {
		t.Errorf("Service: got %s %s %+v in the chart, want deploy/service.yaml's %s %s %+v", chartSvc.Spec.Type,
			chartSvc.Spec.ExternalTrafficPolicy, chartSvc.Spec.Ports, deploySvc.Spec.Type, deploySvc.Spec.ExternalTrafficPolicy, deploySvc.Spec.Ports)
	}

	// The Caddyfile adapts, with the values in their places.
	cfg, err := adapt(t, objs, full)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := cfg["apps"].(map[string]any)["ingress"].(map[string]any)
	source, _ := app["source"].(map[string]any)
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"ingress_class", app["ingress_class"], class},
		{"controller", app["controller"], "caddy-ingress.io/controller"},
		{"namespaces", source["namespaces"], []any{ns}},
		{"publish_service", source["publish_service"], ns + "/" + full},
		{"lease_name", source["lease_name"], full + "-leader"},
		{"automatic_certificates", app["automatic_certificates"], nil},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("adapted %s: got %v, want %v", f.name, f.got, f.want)
		}
	}

	// Caddy as the chart's ServiceAccount, with its Lease.
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create,
		ingress(ns, "web", class, rule("chart.example.com", path{path: "/", typ: "Prefix", svc: "web", portName: "http"})))
	bad := ingress(ns, "bad", class, rule("bad.example.com", path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	bad.Annotations = map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "lots"}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, bad)

	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "chart-1", ingressClass: class,
		kubeconfig: impersonatingKubeconfig(t, "system:serviceaccount:"+ns+":"+full), leaseName: full + "-leader",
		statusAddresses: []string{"192.0.2.77"}})
	newClient(caddy.httpPort, false, nil).expect(t, "chart.example.com", "/", 200, "a ")
	eventually(t, "the status written as the chart's ServiceAccount", 20*time.Second, func() error {
		ing, err := kube().NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1GetOptions)
		if err != nil {
			return err
		}
		if got := statusIPs(ing); !slices.Equal(got, []string{"192.0.2.77"}) {
			return fmt.Errorf("status: got %v", got)
		}
		return nil
	})
	expectWarningEvent(t, ns, "bad", "proxy-body-size")
	if refused := caddy.log.lines("forbidden"); len(refused) > 0 {
		t.Errorf("got refusals %q, want the chart's RBAC to allow everything", refused)
	}
}

// TestChartValues renders the chart with CI's non-default values
// (automatic certificates, NodePort, 3 replicas, namespaces, HTTP/3 on
// NodePort, a default class), applies it, and checks that each value reached its
// object.
func TestChartValues(t *testing.T) {
	ns := newNamespace(t, "chartvalues")
	class := "chart-" + ns
	objs := renderChart(t, "values", ns, "-f", filepath.Join(chartDir, "ci", "ci-values.yaml"), "--set", "ingressClass.name="+class)
	applyChart(t, objs)
	full := "values-caddy-ingress"

	var deploy appsv1.Deployment
	typed(t, objs, "Deployment/"+full, &deploy)
	if got := *deploy.Spec.Replicas; got != 3 {
		t.Errorf("replicas: got %d, want 3", got)
	}
	if got, want := deploy.Spec.Template.Spec.Containers[0].Image, "registry.example.com/caddy-ingress:1.2.3"; got != want {
		t.Errorf("image: got %s, want %s", got, want)
	}
	var svc corev1.Service
	typed(t, objs, "Service/"+full, &svc)
	var nodePorts []string
	for _, p := range svc.Spec.Ports {
		nodePorts = append(nodePorts, fmt.Sprintf("%s/%d/%s:%d", p.Name, p.Port, p.Protocol, p.NodePort))
	}
	if want := []string{"http/80/TCP:30080", "https/443/TCP:30443", "https-udp/443/UDP:30443"}; svc.Spec.Type != corev1.ServiceTypeNodePort || !slices.Equal(nodePorts, want) {
		t.Errorf("Service: got %s %v, want NodePort %v", svc.Spec.Type, nodePorts, want)
	}
	var ic networkingv1.IngressClass
	typed(t, objs, "IngressClass/"+class, &ic)
	if got := ic.Annotations["ingressclass.kubernetes.io/is-default-class"]; got != "true" {
		t.Errorf("is-default-class: got %q, want \"true\"", got)
	}
	var pdb policyv1.PodDisruptionBudget
	typed(t, objs, "PodDisruptionBudget/"+full, &pdb)
	if got := pdb.Spec.MinAvailable; got == nil || got.String() != "2" {
		t.Errorf("minAvailable: got %v, want 2", got)
	}
	var storage rbacv1.Role
	typed(t, objs, "Role/"+full+"-storage", &storage)
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update", "delete"}},
	}
	if storage.Namespace != ns || !reflect.DeepEqual(storage.Rules, want) {
		t.Errorf("storage Role: got %s %+v, want %s %+v", storage.Namespace, storage.Rules, ns, want)
	}
	var deployStorage rbacv1.Role
	deployed(t, "storage-rbac.yaml", "Role", &deployStorage)
	if !reflect.DeepEqual(storage.Rules, deployStorage.Rules) {
		t.Errorf("storage Role rules: got %+v in the chart, want deploy/storage-rbac.yaml's %+v", storage.Rules, deployStorage.Rules)
	}
	if got, err := kube().RbacV1().RoleBindings(ns).Get(ctx, full+"-storage", metav1GetOptions); err != nil || got.RoleRef.Name != full+"-storage" {
		t.Errorf("storage RoleBinding: got %v, %v", got, err)
	}

	var cm corev1.ConfigMap
	typed(t, objs, "ConfigMap/"+full, &cm)
	caddyfile := cm.Data["Caddyfile"]
	for _, line := range []string{"\t\t\tnamespaces apps web\n", "\t\t\tstatus_addresses 192.0.2.1 ingress.example.com\n",
		"\t\tautomatic_certificates\n", "\t\thsts \"max-age=31536000\"\n", "\tstorage kubernetes {\n\t\tnamespace " + ns + "\n\t}\n",
		"\tlocal_certs\n", "\t\tprotocols h1 h2 h3\n", "http://:8082 {\n"} {
		if !strings.Contains(caddyfile, line) {
			t.Errorf("the Caddyfile has no line %q:\n%s", line, caddyfile)
		}
	}
	if strings.Contains(caddyfile, "publish_service") {
		t.Errorf("the Caddyfile publishes a Service with publishService off:\n%s", caddyfile)
	}
	// The Kubernetes storage is a module of its own; with it the
	// Caddyfile adapts, without it adapting fails on it alone.
	modules, err := exec.Command(caddyBin, "list-modules").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, err = adapt(t, objs, full)
	switch hasStorage := slices.Contains(strings.Fields(string(modules)), "caddy.storage.kubernetes"); {
	case hasStorage && err != nil:
		t.Error(err)
	case !hasStorage && (err == nil || !strings.Contains(err.Error(), "caddy.storage.kubernetes")):
		t.Errorf("got %v adapting without the caddy.storage.kubernetes module, want an error naming it", err)
	}
}
