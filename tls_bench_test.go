package caddyingress

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTLSHandshake makes full TLS 1.3 handshakes (X25519, an ECDSA
// P-256 certificate, no resumption) over loopback against a Caddy running
// in this process, one new connection per handshake, each carrying one
// HTTP/1.1 request answered by a static response, from 32 parallel
// clients, side by side:
//
//   - static: the certificate is in Caddy's own cache (tls.certificates
//     load_pem, as `tls cert key` loads it), so certmagic finds it in its
//     cache lookup;
//   - secrets=1 and secrets=10000: the certificate comes from a TLS Secret
//     through the tls.get_certificate.ingress manager, with that many
//     Secrets (each its own host and key) served.
//
// Besides ns/op (wall time per handshake, all clients together) it
// reports handshakes/s and the CPU time of the whole process (clients and
// server) per handshake, from getrusage; the clients' share is the same in
// every case, so differences between cases are the server's.
func BenchmarkTLSHandshake(b *testing.B) {
	staticCert := benchKeyPair(b, "static.test", "")
	srv := runTLSServer(b, staticCert)
	a, addr, serverTLS := srv.app, srv.addr, srv.tls

	b.Run("static", func(b *testing.B) {
		benchCertificateLookups(b, serverTLS, "static.test", staticCert.leaf)
		benchHandshakes(b, addr, "static.test", staticCert.leaf)
	})
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			snap, leaf := secretsSnapshot(b, n, "")
			a.update(snap, nil)
			benchCertificateLookups(b, serverTLS, "app0.test", leaf)
			benchHandshakes(b, addr, "app0.test", leaf)
		})
	}
}

// benchCertificateLookups measures, as sub-benchmark "lookup", what the
// server does to find the certificate in a handshake: crypto/tls calls
// GetConfigForClient (the TLS connection policies' matchers) and then
// the policy's GetCertificate (certmagic's cache lookup and, on a miss,
// the certificate managers), from all CPUs at once.
func benchCertificateLookups(b *testing.B, serverTLS *tls.Config, serverName string, want *x509.Certificate) {
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			hello := &tls.ClientHelloInfo{ServerName: serverName, SupportedVersions: []uint16{tls.VersionTLS13}}
			for pb.Next() {
				cfg, err := serverTLS.GetConfigForClient(hello)
				if err != nil {
					b.Error(err)
					return
				}
				cert, err := cfg.GetCertificate(hello)
				if err != nil {
					b.Errorf("%s: %v", serverName, err)
					return
				}
				if cert.Leaf == nil || !cert.Leaf.Equal(want) {
					b.Errorf("%s: got another certificate", serverName)
					return
				}
			}
		})
	})
}

// benchHandshakes runs b.N handshakes for serverName against addr from 32
// clients and checks that each got want.
func benchHandshakes(b *testing.B, addr, serverName string, want *x509.Certificate) {
	b.Run("handshake", func(b *testing.B) { benchHandshakesRun(b, addr, serverName, want) })
}

func benchHandshakesRun(b *testing.B, addr, serverName string, want *x509.Certificate) {
	clientCfg := &tls.Config{
		ServerName:         serverName,
		MinVersion:         tls.VersionTLS13,
		CurvePreferences:   []tls.CurveID{tls.X25519},
		InsecureSkipVerify: true, // the leaf is compared below
	}
	// One handshake first, outside the measurement.
	if err := handshakeOnce(addr, clientCfg, want); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism((32 + 1) / 2)
	// Garbage of the setup is not collected on the clock.
	runtime.GC()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := handshakeOnce(addr, clientCfg, want); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	elapsed := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handshakes/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// request is what each connection sends, as wrk with Connection: close.
const request = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"

// handshakeOnce connects, handshakes, checks the server's leaf, sends one
// request and reads the response to the end.
func handshakeOnce(addr string, cfg *tls.Config, want *x509.Certificate) error {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0]; !got.Equal(want) {
		return fmt.Errorf("%s: got certificate %q, want %q", cfg.ServerName, got.Subject, want.Subject)
	}
	if _, err := io.WriteString(conn, request); err != nil {
		return err
	}
	body, err := io.ReadAll(conn)
	if err != nil {
		return err
	}
	if len(body) < 12 || string(body[9:12]) != "200" {
		return fmt.Errorf("%s: response %q", cfg.ServerName, body)
	}
	return nil
}
