package caddyfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite the JSON of the testdata/*.caddyfiletest goldens")

// separator divides a .caddyfiletest golden into the Caddyfile and the
// JSON it adapts to.
const separator = "----------"

// TestAdapt adapts the Caddyfile of each testdata/*.caddyfiletest golden
// and compares the result with the golden's JSON.
func TestAdapt(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*.caddyfiletest goldens")
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	if adapter == nil {
		t.Fatal("caddyfile adapter not registered")
	}

	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".caddyfiletest")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			input, want, found := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"+separator+"\n")
			if !found {
				t.Fatalf("%s: no %s line between Caddyfile and JSON", path, separator)
			}
			input = strings.TrimSpace(input) + "\n"

			out, warnings, err := adapter.Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			for _, w := range warnings {
				t.Errorf("got warning %v, want none", w)
			}
			got, err := indent(out)
			if err != nil {
				t.Fatalf("indenting adapted JSON: %v", err)
			}

			if *update {
				golden := input + separator + "\n" + got + "\n"
				if err := os.WriteFile(path, []byte(golden), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err = indent([]byte(want))
			if err != nil {
				t.Fatalf("%s: indenting golden JSON: %v", path, err)
			}
			if got != want {
				t.Errorf("adapted JSON differs from %s (-want +got):\n%s", path, lineDiff(want, got))
			}
		})
	}
}

// indent returns data as JSON indented with tabs.
func indent(data []byte) (string, error) {
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, bytes.TrimSpace(data)); err != nil {
		return "", err
	}
	if err := json.Indent(&out, compact.Bytes(), "", "\t"); err != nil {
		return "", err
	}
	return out.String(), nil
}

// lineDiff returns a line diff of want and got: lines only in want start
// with "-", lines only in got with "+", and up to three common lines
// around each change with " ".
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var lines []string
	for i, j := 0, 0; i < len(a) || j < len(b); {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, " "+a[i])
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, "-"+a[i])
			i++
		default:
			lines = append(lines, "+"+b[j])
			j++
		}
	}

	const context = 3
	var sb strings.Builder
	last := -1 // index of the last line written
	for k, line := range lines {
		if line[0] == ' ' {
			continue
		}
		from := max(k-context, last+1)
		if last >= 0 && from > last+1 {
			sb.WriteString("...\n")
		}
		for _, l := range lines[from : k+1] {
			sb.WriteString(l + "\n")
		}
		last = k
		for last+1 < len(lines) && last < k+context && lines[last+1][0] == ' ' {
			last++
			sb.WriteString(lines[last] + "\n")
		}
	}
	return sb.String()
}
