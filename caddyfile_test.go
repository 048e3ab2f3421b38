package caddyingress

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestCaddyfileMatchesModules adapts every Caddyfile golden and decodes
// the ingress app it produces strictly into the real modules: the
// caddyfile package builds that JSON with structs of its own (it cannot
// import this package), so this catches any field they disagree on.
func TestCaddyfileMatchesModules(t *testing.T) {
	files, err := filepath.Glob("caddyfile/testdata/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Caddyfile goldens: %v", err)
	}
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		input, _, _ := strings.Cut(string(data), "----------")
		out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var cfg struct {
			Apps map[string]json.RawMessage `json:"apps"`
		}
		if err := json.Unmarshal(out, &cfg); err != nil {
			t.Fatal(err)
		}
		raw, ok := cfg.Apps["ingress"]
		if !ok {
			continue
		}
		var app App
		if err := caddy.StrictUnmarshalJSON(raw, &app); err != nil {
			t.Errorf("%s: ingress app: %v", file, err)
			continue
		}
		var src struct {
			Source string `json:"source"`
		}
		if err := json.Unmarshal(app.SourceRaw, &src); err != nil {
			t.Fatal(err)
		}
		var target any
		switch src.Source {
		case "manifests":
			target = new(ManifestsSource)
		case "kubernetes":
			target = new(KubernetesSource)
		default:
			t.Fatalf("%s: unknown source %q", file, src.Source)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(app.SourceRaw, &fields); err != nil {
			t.Fatal(err)
		}
		delete(fields, "source")
		rest, _ := json.Marshal(fields)
		if err := caddy.StrictUnmarshalJSON(rest, target); err != nil {
			t.Errorf("%s: %s source: %v", file, src.Source, err)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no golden configures the ingress app")
	}
}
