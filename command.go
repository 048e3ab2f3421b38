package caddyingress

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/source/manifests"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "ingress",
		Short: "Tools for the ingress app",
		CobraFunc: func(cmd *cobra.Command) {
			render := &cobra.Command{
				Use:   "render --manifests <dir> [--ingress-class <name>] [--controller <name>] [--default-backend <ns/name:port>] [--https-port <port>] [--automatic-certificates] [--default-certificate <ns/name>] [--allow-cross-namespace-secrets] [--hsts <value>] [--annotations-prefix <prefix>] [--legacy-annotations=false]",
				Short: "Prints the routes generated from a directory of manifests",
				Long: `Reads Kubernetes manifests from a directory, translates them as the ingress
app would, and prints the generated routes and certificates as JSON (never
private keys). Problems found in the manifests are printed to stderr, one
per line, and make the command exit with status 1.`,
				RunE: caddycmd.WrapCommandFuncForCobra(cmdRender),
			}
			render.Flags().String("manifests", "", "Directory of manifests to read (required)")
			render.Flags().String("ingress-class", DefaultIngressClass, "Ingress class name to answer to")
			render.Flags().String("controller", DefaultController, "IngressClass controller name to own")
			render.Flags().String("default-backend", "", "Default backend as namespace/name:port")
			render.Flags().Int("https-port", 443, "HTTPS port that redirects point at")
			render.Flags().Bool("automatic-certificates", false, "As the app's automatic_certificates")
			render.Flags().String("default-certificate", "", "As the app's default_certificate: a Secret as namespace/name")
			render.Flags().Bool("allow-cross-namespace-secrets", false, "As the app's allow_cross_namespace_secrets")
			render.Flags().String("hsts", "", "As the app's hsts: a Strict-Transport-Security value")
			render.Flags().String("annotations-prefix", ingress.DefaultAnnotationPrefix, "As the app's annotations_prefix: the prefix of ingress-nginx annotations")
			render.Flags().Bool("legacy-annotations", true, "As the app's legacy_annotations: also read ingress.kubernetes.io/ annotations")
			cmd.AddCommand(render)
			cmd.AddCommand(statusCommand())
		},
	})
}

func cmdRender(fl caddycmd.Flags) (int, error) {
	dir := fl.String("manifests")
	if dir == "" {
		return 2, fmt.Errorf("--manifests is required")
	}
	opts := ingress.Options{
		IngressClass: fl.String("ingress-class"),
		Controller:   fl.String("controller"),
		HTTPSPort:    fl.Int("https-port"),
		Now:          time.Now(),
	}
	if db := fl.String("default-backend"); db != "" {
		ref, err := ingress.ParseServiceRef(db)
		if err != nil {
			return 2, fmt.Errorf("--default-backend: %w", err)
		}
		opts.DefaultBackend = &ref
	}
	opts.AutomaticCertificates = fl.Bool("automatic-certificates")
	opts.AllowCrossNamespaceSecrets = fl.Bool("allow-cross-namespace-secrets")
	if dc := fl.String("default-certificate"); dc != "" {
		ref, err := ingress.ParseSecretRef(dc, "")
		if err != nil {
			return 2, fmt.Errorf("--default-certificate: %w", err)
		}
		opts.DefaultCertificate = &ref
	}
	if h := fl.String("hsts"); h != "" {
		v, err := ingress.ParseHSTS(h)
		if err != nil {
			return 2, fmt.Errorf("--hsts: %w", err)
		}
		opts.HSTS = v
	}
	opts.AnnotationPrefix = fl.String("annotations-prefix")
	opts.LegacyAnnotations = fl.Bool("legacy-annotations")
	snap, problems, err := manifests.New(dir).Load()
	if err != nil {
		return 2, err
	}
	res := ingress.Translate(snap, opts)
	out, err := json.MarshalIndent(res, "", "\t")
	if err != nil {
		return 2, err
	}
	fmt.Println(string(out))
	problems = append(problems, res.Problems...)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		return 1, fmt.Errorf("%d problems", len(problems))
	}
	return 0, nil
}
