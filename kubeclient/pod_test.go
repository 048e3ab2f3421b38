package kubeclient

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPodNamespace(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "namespace")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ env, file, want string }{
		{env: "from-env", file: file, want: "from-env"},
		{file: file, want: "from-file"},
		{file: filepath.Join(dir, "none"), want: ""},
	} {
		t.Setenv("POD_NAMESPACE", tc.env)
		if got := podNamespace(tc.file); got != tc.want {
			t.Errorf("POD_NAMESPACE %q, file %s: got %q, want %q", tc.env, tc.file, got, tc.want)
		}
	}
}

func TestPodName(t *testing.T) {
	t.Setenv("POD_NAME", "caddy-ingress-7d9f-x2")
	if got := PodName(); got != "caddy-ingress-7d9f-x2" {
		t.Errorf("got %q, want $POD_NAME", got)
	}
	t.Setenv("POD_NAME", "")
	host, _ := os.Hostname()
	if got := PodName(); got == "" || (host != "" && got != host) {
		t.Errorf("got %q without $POD_NAME, want the host name %q", got, host)
	}
}
