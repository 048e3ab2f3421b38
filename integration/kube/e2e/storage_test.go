package e2e

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestStorageContract runs the contract tests of the storage package
// (caddy.storage.kubernetes: Store, Load, List, Stat, Delete, Exists, the
// size limit, and the Lease locks between holders: exclusion, take-over
// of an expired Lease, Unlock by another holder, renewal, a lost Lease,
// racing take-overs) against this cluster's API server instead of the
// fake clientset, as a user that has only the rights of deploy/storage-rbac.yaml's
// Role caddy-ingress-storage in the namespace.
func TestStorageContract(t *testing.T) {
	ns := newNamespace(t, "storage")
	kubeconfig := deployedStorageUser(t, ns)
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "storage.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "./storage")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the storage package's tests: %v\n%s", err, out)
	}
	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	run := exec.CommandContext(runCtx, bin, "-test.run", "^TestContract$", "-test.v", "-test.count=1")
	run.Env = append(os.Environ(), "KUBESTORAGE_TEST_KUBECONFIG="+kubeconfig, "KUBESTORAGE_TEST_NAMESPACE="+ns)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("storage contract tests against the API server: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "against the API server of "+kubeconfig) {
		t.Fatalf("the contract tests did not run against the API server:\n%s", out)
	}
	passed := regexp.MustCompile(`--- PASS: TestContract/(\w+)`).FindAllStringSubmatch(string(out), -1)
	var names []string
	for _, m := range passed {
		names = append(names, m[1])
	}
	want := []string{"StoreLoad", "ListStatExistsDelete", "Prefixes", "Size", "LockExclusion", "LocalExclusion",
		"UnlockByOther", "ExpiredTakeover", "Renewal", "Lost", "RacingTakeovers"}
	if !slices.Equal(names, want) || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("passed %q, want %q, none skipped:\n%s", names, want, out)
	}
	// Every Secret the tests left is the storage's: typed and labelled.
	secrets, err := kube().CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		if s.Type != "caddy-ingress.io/storage" || s.Labels["app.kubernetes.io/managed-by"] != "caddy-ingress" || s.Annotations["caddy-ingress.io/storage-key"] == "" {
			t.Errorf("secret %s: type %q, labels %v, annotations %v", s.Name, s.Type, s.Labels, s.Annotations)
		}
	}
}

// withSharedCertificates returns a configure function for caddyOptions:
// automatic certificates from Caddy's internal CA, kept in the Kubernetes
// storage in ns (through kubeconfig), with 3s Leases.
func withSharedCertificates(ns, kubeconfig string) func(map[string]any) {
	return func(cfg map[string]any) {
		cfg["storage"] = map[string]any{"module": "kubernetes", "namespace": ns, "kubeconfig": kubeconfig, "lease_duration": "3s"}
		apps := cfg["apps"].(map[string]any)
		apps["ingress"].(map[string]any)["automatic_certificates"] = true
		policy := apps["tls"].(map[string]any)["automation"].(map[string]any)["policies"].([]any)[0].(map[string]any)
		policy["issuers"] = []any{map[string]any{"module": "internal"}}
		apps["pki"] = map[string]any{"certificate_authorities": map[string]any{"local": map[string]any{"install_trust": false}}}
	}
}

// storedValues returns the values of the storage in ns by key.
func storedValues(t testing.TB, ns string) map[string][]byte {
	t.Helper()
	list, err := kube().CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "caddy-ingress.io/storage=caddy-storage"})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte, len(list.Items))
	for _, s := range list.Items {
		out[s.Annotations["caddy-ingress.io/storage-key"]] = s.Data["value"]
	}
	return out
}

// localCARoots trusts the root of Caddy's internal CA, read from the
// storage's Secret.
func localCARoots(t testing.TB, ns string) *tlsRoots {
	t.Helper()
	pemData := storedValues(t, ns)["pki/authorities/local/root.crt"]
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatalf("no root certificate in the storage's pki/authorities/local/root.crt (%d bytes)", len(pemData))
	}
	return &tlsRoots{pool: pool}
}

// servedSerial polls until c serves host over HTTPS with a certificate
// that roots trust and returns its serial number.
func servedSerial(t testing.TB, c *caddyProcess, host string, roots *tlsRoots, timeout time.Duration) string {
	t.Helper()
	r := newClient(c.httpsPort, true, roots).expectWithin(t, host, "/", 200, "a ", timeout)
	leaf, err := x509.ParseCertificate(r.cert)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(leaf.DNSNames, []string{host}) {
		t.Errorf("certificate names: got %v, want [%s]", leaf.DNSNames, host)
	}
	return leaf.SerialNumber.String()
}

// obtained counts the certificates for host that c's log says it obtained.
func obtained(c *caddyProcess, host string) int {
	return len(c.log.lines("certificate obtained successfully", fmt.Sprintf(`"identifier":%q`, host)))
}

func autoTLSIngress(ns string, hosts ...string) *networkingv1.Ingress {
	var rules []networkingv1.IngressRule
	for _, h := range hosts {
		rules = append(rules, rule(h, path{path: "/", typ: "Prefix", svc: "web", portName: "http"}))
	}
	ing := ingress(ns, "web", "caddy", rules...)
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: hosts}}
	return ing
}

// TestSharedCertificates runs two replicas with automatic certificates
// from Caddy's internal CA and the Kubernetes storage: an Ingress that
// both see at once gets each of its certificates obtained exactly once,
// by one replica, and both serve the same certificate.
func TestSharedCertificates(t *testing.T) {
	ns := newNamespace(t, "shared-certs")
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))

	// One after the other: the first makes the internal CA (in
	// Provision; Caddy takes no lock for it), the second loads it.
	configure := withSharedCertificates(ns, cluster.Kubeconfig())
	replicas := []*caddyProcess{
		startCaddy(t, caddyOptions{namespace: ns, identity: "replica-1", configure: configure}),
		startCaddy(t, caddyOptions{namespace: ns, identity: "replica-2", configure: configure}),
	}
	hosts := []string{"one.shared.example.com", "two.shared.example.com", "three.shared.example.com"}
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, autoTLSIngress(ns, hosts...))

	roots := localCARoots(t, ns)
	for _, host := range hosts {
		var serials []string
		for _, r := range replicas {
			serials = append(serials, servedSerial(t, r, host, roots, 60*time.Second))
		}
		if serials[0] != serials[1] {
			t.Errorf("%s: the replicas serve serials %q, want one certificate", host, serials)
		}
		for i, r := range replicas {
			t.Logf("%s: replica-%d obtained %d, tried to lock %d, found it stored after locking %d", host, i+1, obtained(r, host),
				len(r.log.lines(`"msg":"acquiring lock"`, host)), len(r.log.lines("certificate already exists in storage", host)))
		}
		if n := obtained(replicas[0], host) + obtained(replicas[1], host); n != 1 {
			t.Errorf("%s: obtained %d times (replica-1 %d, replica-2 %d), want once", host, n, obtained(replicas[0], host), obtained(replicas[1], host))
		}
		values := storedValues(t, ns)
		for _, ext := range []string{".crt", ".key", ".json"} {
			if key := "certificates/local/" + host + "/" + host + ext; len(values[key]) == 0 {
				t.Errorf("no %s in the storage", key)
			}
		}
	}
	// The locks are released: no Lease is left.
	eventually(t, "the issuance Leases released", 10*time.Second, func() error {
		leases, err := kube().CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{LabelSelector: "caddy-ingress.io/storage=caddy-storage"})
		if err != nil {
			return err
		}
		for _, l := range leases.Items {
			if strings.HasPrefix(l.Annotations["caddy-ingress.io/storage-lock"], "issue_cert_") {
				return fmt.Errorf("lease %s of %s left", l.Name, l.Annotations["caddy-ingress.io/storage-lock"])
			}
		}
		return nil
	})
}

// TestLockHolderKilled kills the replica that holds the lock of a
// certificate in the middle of its order, and the other replica finishes
// the order once the Lease has expired.
//
// The holder is kept in the middle of the order for real, not by timing:
// a ValidatingAdmissionPolicy refuses that replica's user the Secret of the
// certificate, so its order fails at saving the certificate and certmagic
// waits (a minute) to try again, holding the lock all the while.
func TestLockHolderKilled(t *testing.T) {
	ns := newNamespace(t, "killed-holder")
	const host = "killed.example.com"
	lockName := "issue_cert_" + host
	certKey := "certificates/local/" + host + "/" + host + ".crt"
	a := startBackend(t, "a")
	mustCreate(t, kube().CoreV1().Services(ns).Create, service(ns, "web", port("http", 80)))
	mustCreate(t, kube().DiscoveryV1().EndpointSlices(ns).Create, endpointSlice(ns, "web", "http", a))

	user := "storage-holder-" + ns
	stalled := impersonatingKubeconfig(t, user, "system:masters")
	denyCertificates(t, ns, user, stalled)

	holder := startCaddy(t, caddyOptions{namespace: ns, identity: "holder", kubeconfig: stalled, configure: withSharedCertificates(ns, stalled)})
	mustCreate(t, kube().NetworkingV1().Ingresses(ns).Create, autoTLSIngress(ns, host))

	// The holder takes the lock, obtains the certificate from the
	// internal CA, cannot save it, and waits to try again.
	var lease string
	eventually(t, "the holder stalled in the order, holding the Lease", 30*time.Second, func() error {
		if len(holder.log.lines(`"msg":"will retry"`, host, "saving assets")) == 0 {
			return fmt.Errorf("no will-retry log line")
		}
		lease = leaseHolder(t, ns, lockName)
		if !strings.HasPrefix(lease, "holder-") {
			return fmt.Errorf("lease held by %q", lease)
		}
		return nil
	})
	other := startCaddy(t, caddyOptions{namespace: ns, identity: "other", configure: withSharedCertificates(ns, cluster.Kubeconfig())})
	eventually(t, "the other replica waiting for the lock", 30*time.Second, func() error {
		if len(other.log.lines(`"msg":"acquiring lock"`, host)) == 0 {
			return fmt.Errorf("no acquiring-lock log line")
		}
		return nil
	})
	// Both are past the point where the certificate could have been
	// stored: neither has it, and the Lease is still the holder's.
	if _, ok := storedValues(t, ns)[certKey]; ok {
		t.Fatalf("%s stored while the holder is stalled", certKey)
	}
	if got := leaseHolder(t, ns, lockName); got != lease {
		t.Fatalf("lease held by %q, want still %q", got, lease)
	}
	if n := len(other.log.lines(`"msg":"lock acquired"`, host)); n != 0 {
		t.Fatalf("the other replica acquired the lock while the holder holds it")
	}

	holder.kill() // SIGKILL: no Unlock, the Lease stays until it expires
	killed := time.Now()
	roots := localCARoots(t, ns)
	serial := servedSerial(t, other, host, roots, 60*time.Second)
	t.Logf("the other replica served the certificate %s after the kill", time.Since(killed).Round(time.Millisecond))
	if took := other.log.lines(`"msg":"lock taken over"`, lockName, fmt.Sprintf(`"previous_holder":%q`, lease)); len(took) != 1 {
		t.Errorf("got take-over log lines %q, want one naming the killed holder %s", took, lease)
	}
	if n := obtained(other, host); n != 1 {
		t.Errorf("the other replica obtained the certificate %d times, want once", n)
	}
	if n := obtained(holder, host); n != 0 {
		t.Errorf("the killed holder obtained the certificate %d times, want 0", n)
	}
	if _, ok := storedValues(t, ns)[certKey]; !ok {
		t.Errorf("no %s in the storage", certKey)
	}

	// A replica that starts now loads the certificate: the same one, not
	// obtained again.
	next := startCaddy(t, caddyOptions{namespace: ns, identity: "next", configure: withSharedCertificates(ns, cluster.Kubeconfig())})
	if got := servedSerial(t, next, host, roots, 30*time.Second); got != serial {
		t.Errorf("a new replica serves serial %s, want the stored %s", got, serial)
	}
	if n := obtained(next, host); n != 0 {
		t.Errorf("the new replica obtained the certificate %d times, want 0", n)
	}
}

// leaseHolder returns the holder of the storage Lease of lock name, or "".
func leaseHolder(t testing.TB, ns, lockName string) string {
	t.Helper()
	leases, err := kube().CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{LabelSelector: "caddy-ingress.io/storage=caddy-storage"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Items {
		if l.Annotations["caddy-ingress.io/storage-lock"] == lockName && l.Spec.HolderIdentity != nil {
			return *l.Spec.HolderIdentity
		}
	}
	return ""
}

// impersonatingKubeconfig writes the admin kubeconfig acting as user in
// groups (system:masters: all rights, under a name of its own).
func impersonatingKubeconfig(t testing.TB, user string, groups ...string) string {
	t.Helper()
	config, err := clientcmd.LoadFromFile(cluster.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range config.AuthInfos {
		auth.Impersonate = user
		auth.ImpersonateGroups = groups
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// denyCertificates makes the API server refuse user (who connects with
// kubeconfig) to create or update, in ns, a storage Secret of a
// certificate (certificates/…/*.crt), until the test ends, and waits until
// the refusal is in force.
func denyCertificates(t testing.TB, ns, user, kubeconfig string) {
	t.Helper()
	fail := admissionregistrationv1.Fail
	name := "deny-certificates-" + ns
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf(`!(request.userInfo.username == %q && request.namespace == %q && has(object.metadata.annotations) && `+
					`'caddy-ingress.io/storage-key' in object.metadata.annotations && `+
					`object.metadata.annotations['caddy-ingress.io/storage-key'].startsWith('certificates/') && `+
					`object.metadata.annotations['caddy-ingress.io/storage-key'].endsWith('.crt'))`, user, ns),
				Message: "the e2e test stalls this replica's order",
			}},
		},
	}
	mustCreate(t, kube().AdmissionregistrationV1().ValidatingAdmissionPolicies().Create, policy)
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	mustCreate(t, kube().AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create, binding)
	t.Cleanup(func() {
		_ = kube().AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = kube().AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{})
	})

	restConfig, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	as, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	probe := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Annotations: map[string]string{"caddy-ingress.io/storage-key": "certificates/probe/probe.crt"}},
	}
	eventually(t, "the policy in force", 30*time.Second, func() error {
		_, err := as.CoreV1().Secrets(ns).Create(ctx, probe, metav1.CreateOptions{})
		if err == nil {
			_ = kube().CoreV1().Secrets(ns).Delete(ctx, "probe", metav1.DeleteOptions{})
			return fmt.Errorf("probe created")
		}
		if !strings.Contains(err.Error(), "the e2e test stalls") {
			return err
		}
		return nil
	})
	// Others are not refused.
	probe.Name = "probe-admin"
	if _, err := kube().CoreV1().Secrets(ns).Create(ctx, probe, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the policy refuses the admin too: %v", err)
	}
	if err := kube().CoreV1().Secrets(ns).Delete(ctx, "probe-admin", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// deployedStorageUser creates in ns the Role caddy-ingress-storage of
// deploy/storage-rbac.yaml, binds a new user to it, and returns a kubeconfig of
// that user, who has no other rights.
func deployedStorageUser(t testing.TB, ns string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "deploy", "storage-rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var role *rbacv1.Role
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var doc rbacv1.Role
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		if doc.Kind == "Role" && doc.Name == "caddy-ingress-storage" {
			role = &doc
		}
	}
	if role == nil {
		t.Fatal("deploy/storage-rbac.yaml has no Role caddy-ingress-storage")
	}
	user := "storage-" + ns
	mustCreate(t, kube().RbacV1().Roles(ns).Create, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Rules: role.Rules})
	mustCreate(t, kube().RbacV1().RoleBindings(ns).Create, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	})
	return impersonatingKubeconfig(t, user)
}
