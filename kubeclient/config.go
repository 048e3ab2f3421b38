package kubeclient

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig returns the client configuration of caddy-ingress's modules:
// from the kubeconfig file when one is named, else in-cluster (the pod's
// service account), with userAgent, protobuf, and a rate of 20 requests
// per second (bursts of 40): client-go's default of 5 would take minutes
// to write the status of a few hundred Ingresses, and make the storage's
// cleaning of a certificate's Secrets slow.
func RESTConfig(kubeconfig, userAgent string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, fmt.Errorf("in-cluster kubernetes config (outside a cluster, set kubeconfig): %w", err)
	}
	cfg.UserAgent = userAgent
	cfg.QPS, cfg.Burst = 20, 40
	// Protobuf costs the API server and this process less than JSON.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return cfg, nil
}
