package caddyingress

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// statusCommand is `caddy ingress status`.
func statusCommand() *cobra.Command {
	status := &cobra.Command{
		Use:   "status [--address <interface>] [--config <path> [--adapter <name>]] [--json]",
		Short: "Prints what a running instance serves",
		Long: `Asks a running Caddy's admin API (` + statusEndpoint + `) for what its ingress
app serves: the hosts and paths with their Ingress and backend Service,
the certificates served by SNI with their Secret and expiry, and the
current problems. The admin address is found as 'caddy stop' finds it:
--address, else the admin address of the --config file, else Caddy's
default. --json prints the answer as it comes.`,
		RunE: caddycmd.WrapCommandFuncForCobra(cmdStatus),
	}
	status.Flags().String("address", "", "The address of the admin API endpoint, if not the default")
	status.Flags().StringP("config", "c", "", "Configuration file to read the admin address from, if --address is not used")
	status.Flags().StringP("adapter", "a", "", "Name of config adapter to apply (when --config is used)")
	status.Flags().Bool("json", false, "Print the JSON answer of the admin API")
	return status
}

func cmdStatus(fl caddycmd.Flags) (int, error) {
	addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("finding the admin address: %v", err)
	}
	resp, err := caddycmd.AdminAPIRequest(addr, http.MethodGet, statusEndpoint, nil, nil)
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("asking %s for %s: %v", addr, statusEndpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("reading %s from %s: %v", statusEndpoint, addr, err)
	}
	if fl.Bool("json") {
		_, err := os.Stdout.Write(body)
		return caddy.ExitCodeSuccess, err
	}
	var report statusReport
	if err := json.Unmarshal(body, &report); err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("decoding %s from %s: %v", statusEndpoint, addr, err)
	}
	writeStatus(os.Stdout, &report, time.Now())
	return caddy.ExitCodeSuccess, nil
}

// writeStatus prints a report for people.
func writeStatus(out io.Writer, r *statusReport, now time.Time) {
	fmt.Fprintf(out, "Applied %s (%s ago)\n", r.AppliedAt.UTC().Format(time.RFC3339), now.Sub(r.AppliedAt).Round(time.Second))

	fmt.Fprintf(out, "\nHosts (%d)\n", len(r.Hosts))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	backend := func(b *statusBackend) string {
		ing := b.Ingress
		if ing == "" {
			ing = "(default_backend)"
		}
		svc := b.Service
		if svc == "" {
			svc = "(no service)"
		}
		return ing + "\t" + svc
	}
	for _, h := range r.Hosts {
		name := h.Host
		if name == "" {
			name = "(rules without host)"
		}
		var notes []string
		if h.TLS {
			notes = append(notes, "tls")
		}
		if len(h.Aliases) > 0 {
			notes = append(notes, "aliases "+strings.Join(h.Aliases, ", "))
		}
		if h.ClientAuth != "" {
			notes = append(notes, "client certificates from "+h.ClientAuth)
		}
		if len(notes) > 0 {
			name += " [" + strings.Join(notes, "; ") + "]"
		}
		fmt.Fprintf(tw, "%s\n", name) // no cell: each host aligns its own paths
		for _, p := range h.Paths {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Path, p.Type, backend(&p.statusBackend))
		}
		if h.DefaultBackend != nil {
			fmt.Fprintf(tw, "  (default)\t\t%s\n", backend(h.DefaultBackend))
		}
	}
	if r.DefaultBackend != nil {
		fmt.Fprintf(tw, "(all other requests)\t\t%s\n", backend(r.DefaultBackend))
	}
	tw.Flush()

	fmt.Fprintf(out, "\nCertificates (%d)\n", len(r.Certificates))
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	cert := func(c *statusCertificate, names string) {
		fmt.Fprintf(tw, "  %s\t%s\tnot after %s (%s)\n", c.Secret, names, c.NotAfter.UTC().Format(time.RFC3339), untilText(c.NotAfter.Sub(now)))
	}
	for i := range r.Certificates {
		cert(&r.Certificates[i], strings.Join(r.Certificates[i].Names, ", "))
	}
	if r.DefaultCertificate != nil {
		cert(r.DefaultCertificate, "(default certificate)")
	} else {
		fmt.Fprintf(tw, "  (default certificate)\tself-signed\n")
	}
	tw.Flush()
	if len(r.Managed) > 0 {
		fmt.Fprintf(out, "  managed by Caddy's automation: %s\n", strings.Join(r.Managed, ", "))
	}

	fmt.Fprintf(out, "\nProblems (%d)\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(out, "  %s\n", p)
	}
}

// untilText says how far off d is, in days when it is more than two.
func untilText(d time.Duration) string {
	switch {
	case d < 0:
		return "expired " + (-d).Round(time.Minute).String() + " ago"
	case d > 48*time.Hour:
		return fmt.Sprintf("in %d days", int(d/(24*time.Hour)))
	default:
		return "in " + d.Round(time.Minute).String()
	}
}
