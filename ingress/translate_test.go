package ingress_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	"github.com/caddy-ingress/caddy-ingress/source/manifests"
)

// testNow is inside the validity of the test certificates (2025-2045)
// and after the expired one (2020-2021).
var testNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// TestGolden translates each testdata/<case>.yaml and compares the result
// with <case>.golden.json and the problems with <case>.problems.txt. A line
// "# options: https-port=N default-backend=ns/name:port" sets options; see
// loadCase for the others.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no test cases in testdata")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			snap, problems, opts := loadCase(t, file)
			res := ingress.Translate(snap, opts)
			got, err := json.MarshalIndent(res, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			var probText strings.Builder
			for _, p := range append(problems, res.Problems...) {
				fmt.Fprintln(&probText, p)
			}
			compareGolden(t, "testdata/"+name+".golden.json", append(got, '\n'))
			compareGolden(t, "testdata/"+name+".problems.txt", []byte(probText.String()))
		})
	}
}

// TestDeterministic translates every case with its objects shuffled and
// expects the same bytes each time.
func TestDeterministic(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			snap, _, opts := loadCase(t, file)
			want := render(t, ingress.Translate(snap, opts))
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 20 {
				shuffled := *snap
				shuffled.Ingresses = shuffle(rng, snap.Ingresses)
				shuffled.IngressClasses = shuffle(rng, snap.IngressClasses)
				shuffled.Services = shuffle(rng, snap.Services)
				shuffled.Secrets = shuffle(rng, snap.Secrets)
				if got := render(t, ingress.Translate(&shuffled, opts)); got != want {
					t.Fatalf("shuffle %d: got a different result:\n%s\nwant:\n%s", i, got, want)
				}
			}
		})
	}
}

func shuffle[T any](rng *rand.Rand, in []T) []T {
	out := append([]T(nil), in...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func render(t *testing.T, res *ingress.Result) string {
	t.Helper()
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + fmt.Sprint(res.Problems)
}

func loadCase(t *testing.T, file string) (*ingress.Snapshot, []ingress.Problem, ingress.Options) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	opts := ingress.Options{
		IngressClass: "caddy",
		Controller:   "caddy-ingress.io/controller",
		HTTPSPort:    443,
		Now:          testNow,
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields, ok := strings.CutPrefix(line, "# options:")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(fields) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "https-port":
				if opts.HTTPSPort, err = strconv.Atoi(v); err != nil {
					t.Fatal(err)
				}
			case "default-backend":
				ref, err := ingress.ParseServiceRef(v)
				if err != nil {
					t.Fatal(err)
				}
				opts.DefaultBackend = &ref
			case "default-certificate":
				ref, err := ingress.ParseSecretRef(v, "")
				if err != nil {
					t.Fatal(err)
				}
				opts.DefaultCertificate = &ref
			case "automatic-certificates":
				opts.AutomaticCertificates = true
			case "allow-cross-namespace-secrets":
				opts.AllowCrossNamespaceSecrets = true
			case "hsts":
				if opts.HSTS, err = ingress.ParseHSTS(v); err != nil {
					t.Fatal(err)
				}
			case "annotations-prefix":
				opts.AnnotationPrefix = v
			case "legacy-annotations":
				opts.LegacyAnnotations = true
			case "global-auth-url":
				opts.GlobalAuth = &ingress.ExternalAuth{URL: v}
				if err := ingress.CheckGlobalAuth(opts.GlobalAuth); err != nil {
					t.Fatal(err)
				}
			case "allowed-response-headers":
				opts.Headers.AllowedResponse = strings.Split(v, ",")
			case "add-headers":
				opts.Headers.Add = v
			case "proxy-set-headers":
				opts.Headers.ProxySet = v
			case "drop-unsupported-snippets":
				opts.DropUnsupportedSnippets = true
			case "no-auth-locations":
				opts.NoAuthLocations = strings.Split(v, ",")
			case "enable-opentelemetry":
				opts.OpenTelemetry.Enabled = true
			default:
				t.Fatalf("unknown option %q", k)
			}
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(file)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	snap, problems, err := manifests.New(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	return snap, problems, opts
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *ingress.Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got:\n%s\nwant:\n%s", path, got, want)
	}
}
