package kubestorage

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

var update = flag.Bool("update", false, "rewrite the JSON of the testdata/*.caddyfiletest goldens")

// TestAdapt adapts the Caddyfile of each testdata/*.caddyfiletest golden
// (Caddyfile, a line "----------", JSON) and compares the JSON.
func TestAdapt(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".caddyfiletest"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), "\n----------\n")
			if !ok {
				t.Fatalf("%s: no ---------- line", path)
			}
			input = strings.TrimSpace(input) + "\n"
			out, warnings, err := adapter.Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			for _, w := range warnings {
				t.Errorf("got warning %v, want none", w)
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			got := buf.String() + "\n"
			if *update {
				if err := os.WriteFile(path, []byte(input+"----------\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("adapted JSON: got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    Storage
		wantErr string
	}{
		{name: "bare", input: "kubernetes"},
		{
			name: "all",
			input: `kubernetes {
				namespace certs
				kubeconfig /etc/kube/config
				prefix edge
				lease_duration 45s
				holder_identity pod-1
			}`,
			want: Storage{Namespace: "certs", Kubeconfig: "/etc/kube/config", Prefix: "edge", LeaseDuration: caddy.Duration(45 * time.Second), HolderIdentity: "pod-1"},
		},
		{name: "argument", input: "kubernetes certs", wantErr: "wrong argument count"},
		{name: "unknown", input: "kubernetes {\n\tnamepsace certs\n}", wantErr: `storage kubernetes: unknown option "namepsace"`},
		{name: "no value", input: "kubernetes {\n\tprefix\n}", wantErr: "storage kubernetes: prefix needs a value"},
		{name: "two values", input: "kubernetes {\n\tnamespace a b\n}", wantErr: "storage kubernetes: namespace takes one value"},
		{name: "twice", input: "kubernetes {\n\tnamespace a\n\tnamespace b\n}", wantErr: "storage kubernetes: namespace is set twice"},
		{name: "duration twice", input: "kubernetes {\n\tlease_duration 10s\n\tlease_duration 20s\n}", wantErr: "storage kubernetes: lease_duration is set twice"},
		{name: "bad duration", input: "kubernetes {\n\tlease_duration soon\n}", wantErr: `storage kubernetes: lease_duration "soon"`},
		{name: "short duration", input: "kubernetes {\n\tlease_duration 500ms\n}", wantErr: `lease_duration "500ms": must be at least 1s`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Storage
			err := s.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Namespace != tc.want.Namespace || s.Kubeconfig != tc.want.Kubeconfig || s.Prefix != tc.want.Prefix || s.LeaseDuration != tc.want.LeaseDuration || s.HolderIdentity != tc.want.HolderIdentity {
				t.Errorf("got %+v, want %+v", s, tc.want)
			}
		})
	}
}
