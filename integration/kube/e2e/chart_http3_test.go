package e2e

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestChartHTTP3 renders the chart with HTTP/3 on (the default, as
// deploy/) and off: the Service's UDP 443 port, the container's UDP port
// and Caddy's protocols go together, and deploy/configmap.yaml's Caddyfile
// serves h3 as the chart's default does.
func TestChartHTTP3(t *testing.T) {
	var deployCM corev1.ConfigMap
	deployed(t, "configmap.yaml", "ConfigMap", &deployCM)
	if !strings.Contains(deployCM.Data["Caddyfile"], "\t\tprotocols h1 h2 h3\n") {
		t.Errorf("deploy/configmap.yaml's Caddyfile has no line \"protocols h1 h2 h3\", want it with the Service's UDP 443:\n%s", deployCM.Data["Caddyfile"])
	}
	for _, tt := range []struct {
		name      string
		flags     []string
		wantUDP   bool
		protocols string
	}{
		{"default", nil, true, "\t\tprotocols h1 h2 h3\n"},
		{"off", []string{"--set", "service.http3=false"}, false, "\t\tprotocols h1 h2\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs := renderChart(t, "h3", "h3", tt.flags...)
			full := "h3-caddy-ingress"
			var svc corev1.Service
			typed(t, objs, "Service/"+full, &svc)
			udp := false
			for _, p := range svc.Spec.Ports {
				if p.Protocol == corev1.ProtocolUDP {
					udp = p.Port == 443 && p.TargetPort.String() == "https-udp"
				}
			}
			if udp != tt.wantUDP {
				t.Errorf("Service UDP 443 to https-udp: got %v, want %v (ports %+v)", udp, tt.wantUDP, svc.Spec.Ports)
			}
			var deploy appsv1.Deployment
			typed(t, objs, "Deployment/"+full, &deploy)
			containerUDP := false
			for _, p := range deploy.Spec.Template.Spec.Containers[0].Ports {
				if p.Protocol == corev1.ProtocolUDP {
					containerUDP = p.Name == "https-udp" && p.ContainerPort == 443
				}
			}
			if containerUDP != tt.wantUDP {
				t.Errorf("container port https-udp 443/UDP: got %v, want %v", containerUDP, tt.wantUDP)
			}
			var cm corev1.ConfigMap
			typed(t, objs, "ConfigMap/"+full, &cm)
			if !strings.Contains(cm.Data["Caddyfile"], tt.protocols) {
				t.Errorf("the Caddyfile has no line %q:\n%s", tt.protocols, cm.Data["Caddyfile"])
			}
		})
	}
}
