package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// TestForbiddenLists runs Caddy as a user that RBAC does not let list
// anything: it serves 503, is not ready, and says at error level which
// resource it cannot list at which API server and why. Once the user is
// granted the controller's rules, it recovers by itself, says so, and
// serves; the ConfigMap that the Ingress names is read under those rules
// too, in the first snapshot.
func TestForbiddenLists(t *testing.T) {
	ns := newNamespace(t, "rbac")
	user := "caddy-e2e-" + ns
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))
	mustCreate(t, kube().CoreV1().ConfigMaps(ns).Create, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "headers"},
		Data:       map[string]string{"X-Rbac": "read"},
	})
	web := ingress(ns, "web", "caddy", rule("rbac.example.com", path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	web.Annotations = map[string]string{"nginx.ingress.kubernetes.io/custom-headers": "headers"}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, web)

	// The admin kubeconfig, impersonating a user with no permissions.
	kubeconfig := impersonatingKubeconfig(t, user)

	caddy := startCaddy(t, caddyOptions{namespace: ns, identity: "rbac-1", kubeconfig: kubeconfig, unready: true})
	server := cluster.RESTConfig().Host
	want := fmt.Sprintf("cannot list ingresses.networking.k8s.io at %s: ", server)
	eventually(t, "the refusal logged", 10*time.Second, func() error {
		for _, line := range caddy.log.lines(`"level":"error"`, want) {
			if strings.Contains(line, "forbidden") && strings.Contains(line, user) {
				t.Logf("logged: %.300s", line)
				return nil
			}
		}
		return fmt.Errorf("no error line %q naming the user", want)
	})
	if err := caddy.ready(); err == nil {
		t.Error("ready while no list is allowed, want not ready")
	}
	c := newClient(caddy.httpPort, false, nil)
	c.expect(t, "rbac.example.com", "/", 503, "")

	grant(t, user)
	eventually(t, "ready once allowed", 90*time.Second, caddy.ready)
	if r := c.expect(t, "rbac.example.com", "/", 200, "a "); r.header.Get("X-Rbac") != "read" {
		t.Errorf("X-Rbac: got %q, want the custom-headers ConfigMap's \"read\"", r.header.Get("X-Rbac"))
	}
	// A change of the ConfigMap applies live.
	cm, err := kube().CoreV1().ConfigMaps(ns).Get(context.Background(), "headers", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["X-Rbac"] = "changed"
	if _, err := kube().CoreV1().ConfigMaps(ns).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the changed header", 15*time.Second, func() error {
		r, err := c.get("rbac.example.com", "/")
		if err != nil {
			return err
		}
		if got := r.header.Get("X-Rbac"); got != "changed" {
			return fmt.Errorf("X-Rbac: got %q", got)
		}
		return nil
	})
	recovered := fmt.Sprintf("listing and watching ingresses.networking.k8s.io at %s works again", server)
	if len(caddy.log.lines(recovered)) == 0 {
		t.Errorf("no log line %q", recovered)
	}
	if synced := caddy.log.lines("caches synced"); len(synced) != 1 || !strings.Contains(synced[0], `"configmaps":1`) {
		t.Errorf("got log lines %q, want one caches synced line with \"configmaps\":1", synced)
	}
	if refused := caddy.log.lines("cannot list configmaps"); len(refused) > 0 {
		t.Errorf("got %q, want configmaps listed", refused)
	}
}

// grant gives user, until the test ends, the rules of the ClusterRole in
// deploy/rbac.yaml, and leases in every namespace (deploy/ grants them in
// its own namespace, for its own Lease name).
func grant(t *testing.T, user string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var deployed rbacv1.ClusterRole
	if err := utilyaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&deployed); err != nil || deployed.Kind != "ClusterRole" {
		t.Fatalf("the first document of deploy/rbac.yaml: got %s, %v; want the ClusterRole", deployed.Kind, err)
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules: append(deployed.Rules, rbacv1.PolicyRule{
			APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create", "get", "update"},
		}),
	}
	mustCreate(t, kube().RbacV1().ClusterRoles().Create, role)
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	mustCreate(t, kube().RbacV1().ClusterRoleBindings().Create, binding)
	t.Cleanup(func() {
		_ = kube().RbacV1().ClusterRoleBindings().Delete(ctx, user, metav1.DeleteOptions{})
		_ = kube().RbacV1().ClusterRoles().Delete(ctx, user, metav1.DeleteOptions{})
	})
}
