package caddyingress

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
)

// backendProcessEnv, when set, makes the test binary a backend instead:
// it answers "ok" to every request on a loopback port, which it prints
// first, until its standard input closes (serveBackendProcess).
const backendProcessEnv = "CADDY_INGRESS_TEST_BACKEND"

func TestMain(m *testing.M) {
	if os.Getenv(backendProcessEnv) != "" {
		serveBackendProcess()
		return
	}
	os.Exit(m.Run())
}

// serveBackendProcess is the backend of startBackendProcess.
func serveBackendProcess() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
}

// startBackendProcess runs the test binary as a backend in a process of
// its own (see backendProcessEnv) and returns its port. The process
// ends when the test does: its standard input is closed, then it is
// killed by its PID and waited for.
func startBackendProcess(tb testing.TB) int32 {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), backendProcessEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	var port int32
	if _, err := fmt.Fscan(bufio.NewReader(stdout), &port); err != nil {
		tb.Fatalf("reading the backend process's port: %v", err)
	}
	return port
}
