package caddyfile

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestParseOption(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		existing any
		wantJSON string
		wantErr  string
	}{
		{
			name:     "manifests only",
			input:    "ingress {\n\tmanifests ./manifests\n}",
			wantJSON: `{"source":{"source":"manifests","dir":"./manifests"}}`,
		},
		{
			name: "all options",
			input: `ingress {
				manifests /m {
					poll_interval 1m30s
				}
				ingress_class public
				controller example.com/ingress
				default_backend default/web:http
			}`,
			wantJSON: `{"source":{"source":"manifests","dir":"/m","poll_interval":90000000000},` +
				`"ingress_class":"public","controller":"example.com/ingress","default_backend":"default/web:http"}`,
		},
		{
			name:     "annotation prefixes",
			input:    "ingress {\n\tmanifests /m\n\tannotations_prefix example.com\n\tlegacy_annotations on\n}",
			wantJSON: `{"source":{"source":"manifests","dir":"/m"},"annotations_prefix":"example.com","legacy_annotations":true}`,
		},
		{
			name:    "legacy_annotations needs on or off",
			input:   "ingress {\n\tmanifests /m\n\tlegacy_annotations yes\n}",
			wantErr: "legacy_annotations: want on or off",
		},
		{
			name:     "opentelemetry",
			input:    "ingress {\n\tmanifests /m\n\tenable_opentelemetry\n\topentelemetry_trust_incoming_span off\n\topentelemetry_operation_name edge\n}",
			wantJSON: `{"source":{"source":"manifests","dir":"/m"},"enable_opentelemetry":true,"opentelemetry_trust_incoming_span":false,"opentelemetry_operation_name":"edge"}`,
		},
		{
			name:    "opentelemetry_trust_incoming_span needs on or off",
			input:   "ingress {\n\tmanifests /m\n\topentelemetry_trust_incoming_span false\n}",
			wantErr: "opentelemetry_trust_incoming_span: want on or off",
		},
		{
			name:    "enable_opentelemetry takes no argument",
			input:   "ingress {\n\tmanifests /m\n\tenable_opentelemetry on\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "global_auth takes one URL",
			input:   "ingress {\n\tmanifests /m\n\tglobal_auth https://a https://b\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "global_auth knows its options",
			input:   "ingress {\n\tmanifests /m\n\tglobal_auth https://a {\n\t\tauth_snippet x\n\t}\n}",
			wantErr: "unrecognized global_auth option 'auth_snippet'",
		},
		{
			name:    "global_auth lists need an argument",
			input:   "ingress {\n\tmanifests /m\n\tglobal_auth https://a {\n\t\tresponse_headers\n\t}\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "allowed_response_headers needs a name",
			input:   "ingress {\n\tmanifests /m\n\tallowed_response_headers\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "timeouts are whole seconds",
			input:   "ingress {\n\tmanifests /m\n\tproxy_read_timeout 60s\n}",
			wantErr: "proxy_read_timeout: want a whole number such as 60, got '60s'",
		},
		{
			name:     "poll_interval in days",
			input:    "ingress {\n\tmanifests /m {\n\t\tpoll_interval 1d\n\t}\n}",
			wantJSON: `{"source":{"source":"manifests","dir":"/m","poll_interval":86400000000000}}`,
		},
		{
			name:     "kubernetes without block",
			input:    "ingress {\n\tkubernetes\n}",
			wantJSON: `{"source":{"source":"kubernetes"}}`,
		},
		{
			name:     "kubernetes with empty block",
			input:    "ingress {\n\tkubernetes {\n\t}\n}",
			wantJSON: `{"source":{"source":"kubernetes"}}`,
		},
		{
			name: "kubernetes with every option",
			input: `ingress {
				kubernetes {
					kubeconfig /etc/caddy/kubeconfig
					namespaces apps web
					publish_service caddy-ingress/caddy-ingress
					lease_namespace caddy-ingress
					lease_name edge-leader
					lease_duration 30s
					renew_deadline 20s
					retry_period 4s
				}
				ingress_class public
			}`,
			wantJSON: `{"source":{"source":"kubernetes","kubeconfig":"/etc/caddy/kubeconfig","namespaces":["apps","web"],` +
				`"publish_service":"caddy-ingress/caddy-ingress","lease_namespace":"caddy-ingress","lease_name":"edge-leader",` +
				`"lease_duration":30000000000,"renew_deadline":20000000000,"retry_period":4000000000},"ingress_class":"public"}`,
		},
		{
			name:     "kubernetes status addresses",
			input:    "ingress {\n\tkubernetes {\n\t\tstatus_addresses 192.0.2.1 lb.example.com\n\t}\n}",
			wantJSON: `{"source":{"source":"kubernetes","status_addresses":["192.0.2.1","lb.example.com"]}}`,
		},
		{
			name:     "option given twice",
			input:    "ingress {\n\tmanifests /m\n}",
			existing: httpcaddyfile.App{Name: "ingress"},
			wantErr:  "ingress option specified more than once",
		},
		{
			name:    "argument after option name",
			input:   "ingress /m {\n\tmanifests /m\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "no block",
			input:   "ingress",
			wantErr: "ingress option needs a source",
		},
		{
			name:    "empty block",
			input:   "ingress {\n}",
			wantErr: "ingress option needs a source",
		},
		{
			name:    "no source",
			input:   "ingress {\n\tingress_class caddy\n}",
			wantErr: "ingress option needs a source",
		},
		{
			name:    "unknown subdirective",
			input:   "ingress {\n\tmanifests /m\n\tkubeconfig ~/.kube/config\n}",
			wantErr: "unrecognized ingress option 'kubeconfig'",
		},
		{
			name:    "duplicate source",
			input:   "ingress {\n\tmanifests /a\n\tmanifests /b\n}",
			wantErr: "duplicate ingress option 'manifests'",
		},
		{
			name:    "duplicate ingress_class",
			input:   "ingress {\n\tmanifests /m\n\tingress_class a\n\tingress_class b\n}",
			wantErr: "duplicate ingress option 'ingress_class'",
		},
		{
			name:    "duplicate controller",
			input:   "ingress {\n\tmanifests /m\n\tcontroller a\n\tcontroller b\n}",
			wantErr: "duplicate ingress option 'controller'",
		},
		{
			name:    "duplicate default_backend",
			input:   "ingress {\n\tmanifests /m\n\tdefault_backend a/b:80\n\tdefault_backend a/c:80\n}",
			wantErr: "duplicate ingress option 'default_backend'",
		},
		{
			name:    "manifests without dir",
			input:   "ingress {\n\tmanifests\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "manifests without dir but block",
			input:   "ingress {\n\tmanifests {\n\t\tpoll_interval 1s\n\t}\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "manifests with two dirs",
			input:   "ingress {\n\tmanifests /a /b\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "unknown manifests subdirective",
			input:   "ingress {\n\tmanifests /m {\n\t\trecursive\n\t}\n}",
			wantErr: "unrecognized manifests option 'recursive'",
		},
		{
			name:    "duplicate poll_interval",
			input:   "ingress {\n\tmanifests /m {\n\t\tpoll_interval 1s\n\t\tpoll_interval 2s\n\t}\n}",
			wantErr: "duplicate manifests option 'poll_interval'",
		},
		{
			name:    "poll_interval without value",
			input:   "ingress {\n\tmanifests /m {\n\t\tpoll_interval\n\t}\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "poll_interval with two values",
			input:   "ingress {\n\tmanifests /m {\n\t\tpoll_interval 1s 2s\n\t}\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "bad poll_interval",
			input:   "ingress {\n\tmanifests /m {\n\t\tpoll_interval soon\n\t}\n}",
			wantErr: "parsing poll_interval 'soon'",
		},
		{
			name:    "zero poll_interval",
			input:   "ingress {\n\tmanifests /m {\n\t\tpoll_interval 0s\n\t}\n}",
			wantErr: "poll_interval '0s' must be positive",
		},
		{
			name:    "negative poll_interval",
			input:   "ingress {\n\tmanifests /m {\n\t\tpoll_interval -1s\n\t}\n}",
			wantErr: "poll_interval '-1s' must be positive",
		},
		{
			name:    "kubernetes with an argument",
			input:   "ingress {\n\tkubernetes /etc/kubeconfig\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "unknown kubernetes subdirective",
			input:   "ingress {\n\tkubernetes {\n\t\tcontext prod\n\t}\n}",
			wantErr: "unrecognized kubernetes option 'context'",
		},
		{
			name:    "duplicate namespaces",
			input:   "ingress {\n\tkubernetes {\n\t\tnamespaces a\n\t\tnamespaces b\n\t}\n}",
			wantErr: "duplicate kubernetes option 'namespaces'",
		},
		{
			name:    "namespaces without value",
			input:   "ingress {\n\tkubernetes {\n\t\tnamespaces\n\t}\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "status_addresses with a block",
			input:   "ingress {\n\tkubernetes {\n\t\tstatus_addresses 192.0.2.1 {\n\t\t\tip 192.0.2.2\n\t\t}\n\t}\n}",
			wantErr: "'status_addresses' takes no block",
		},
		{
			name:    "kubeconfig with two values",
			input:   "ingress {\n\tkubernetes {\n\t\tkubeconfig a b\n\t}\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "publish_service without value",
			input:   "ingress {\n\tkubernetes {\n\t\tpublish_service\n\t}\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "bad lease_duration",
			input:   "ingress {\n\tkubernetes {\n\t\tlease_duration soon\n\t}\n}",
			wantErr: "parsing lease_duration 'soon'",
		},
		{
			name:    "zero retry_period",
			input:   "ingress {\n\tkubernetes {\n\t\tretry_period 0s\n\t}\n}",
			wantErr: "retry_period '0s' must be positive",
		},
		{
			name:    "duplicate kubernetes",
			input:   "ingress {\n\tkubernetes\n\tkubernetes\n}",
			wantErr: "duplicate ingress option 'kubernetes'",
		},
		{
			name:    "ingress_class without value",
			input:   "ingress {\n\tmanifests /m\n\tingress_class\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "ingress_class with two values",
			input:   "ingress {\n\tmanifests /m\n\tingress_class a b\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "ingress_class with a block",
			input:   "ingress {\n\tmanifests /m\n\tingress_class a {\n\t\tname b\n\t}\n}",
			wantErr: "'ingress_class' takes no block",
		},
		{
			name:    "controller without value",
			input:   "ingress {\n\tmanifests /m\n\tcontroller\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "default_backend with two values",
			input:   "ingress {\n\tmanifests /m\n\tdefault_backend default/web 80\n}",
			wantErr: "wrong argument count",
		},
		{
			name:     "automatic_certificates",
			input:    "ingress {\n\tmanifests /m\n\tautomatic_certificates\n}",
			wantJSON: `{"source":{"source":"manifests","dir":"/m"},"automatic_certificates":true}`,
		},
		{
			name:    "automatic_certificates with an argument",
			input:   "ingress {\n\tmanifests /m\n\tautomatic_certificates on\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "automatic_certificates with a block",
			input:   "ingress {\n\tmanifests /m\n\tautomatic_certificates {\n\t\tacme\n\t}\n}",
			wantErr: "'automatic_certificates' takes no block",
		},
		{
			name:    "duplicate automatic_certificates",
			input:   "ingress {\n\tmanifests /m\n\tautomatic_certificates\n\tautomatic_certificates\n}",
			wantErr: "duplicate ingress option 'automatic_certificates'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOption(caddyfile.NewTestDispenser(tt.input), tt.existing)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			app, ok := got.(httpcaddyfile.App)
			if !ok {
				t.Fatalf("got %T, want httpcaddyfile.App", got)
			}
			if app.Name != "ingress" {
				t.Errorf("got app name %v, want ingress", app.Name)
			}
			if string(app.Value) != tt.wantJSON {
				t.Errorf("got %v, want %v", string(app.Value), tt.wantJSON)
			}
		})
	}
}

// TestParseOptionOneSource checks that a second source of another kind is
// refused.
func TestParseOptionOneSource(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"kubernetes after manifests", "ingress {\n\tmanifests /m\n\tkubernetes\n}", "ingress source 'kubernetes': only one source is allowed"},
		{"manifests after kubernetes", "ingress {\n\tkubernetes {\n\t\tnamespaces a\n\t}\n\tmanifests /m\n}", "ingress source 'manifests': only one source is allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOption(caddyfile.NewTestDispenser(tt.input), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
