package kubeclient

import (
	"cmp"
	"os"
	"strings"
)

// ServiceAccountNamespaceFile holds, in a pod, the namespace of the pod
// (that of its service account).
const ServiceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// PodNamespace returns the namespace this process runs in: $POD_NAMESPACE,
// else the pod's own (ServiceAccountNamespaceFile), else "" outside a
// cluster.
func PodNamespace() string {
	return podNamespace(ServiceAccountNamespaceFile)
}

func podNamespace(file string) string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// PodName names this replica among others, for the holder identities of
// Leases: $POD_NAME, else the host name (a pod's name too), else "caddy".
func PodName() string {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name
	}
	host, _ := os.Hostname()
	return cmp.Or(host, "caddy")
}
