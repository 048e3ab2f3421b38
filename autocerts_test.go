package caddyingress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddytls"

	_ "github.com/caddyserver/caddy/v2/modules/filestorage"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

func TestDiffNames(t *testing.T) {
	tests := []struct {
		name         string
		current      []string
		want         []string
		wantAdded    []string
		wantReleased []string
	}{
		{name: "nothing", current: nil, want: nil},
		{name: "first names", current: nil, want: []string{"a.test", "b.test"}, wantAdded: []string{"a.test", "b.test"}},
		{name: "unchanged", current: []string{"a.test", "b.test"}, want: []string{"a.test", "b.test"}},
		{name: "one added one released", current: []string{"a.test", "b.test"}, want: []string{"b.test", "c.test"},
			wantAdded: []string{"c.test"}, wantReleased: []string{"a.test"}},
		{name: "all released", current: []string{"c.test", "a.test", "b.test"}, want: nil,
			wantReleased: []string{"a.test", "b.test", "c.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := make(map[string]context.CancelFunc)
			for _, n := range tt.current {
				current[n] = func() {}
			}
			added, released := diffNames(current, tt.want)
			if !slices.Equal(added, tt.wantAdded) {
				t.Errorf("added: got %v, want %v", added, tt.wantAdded)
			}
			if !slices.Equal(released, tt.wantReleased) {
				t.Errorf("released: got %v, want %v", released, tt.wantReleased)
			}
		})
	}
}

// runAutoCertsApp runs Caddy in-process with the ingress app, a TLS
// automation policy that issues from Caddy's internal CA and lists the
// ingress certificate manager, and a policy for other.test without it.
func runAutoCertsApp(t *testing.T) *App {
	t.Helper()
	cfg := fmt.Sprintf(`{
		"admin": {"disabled": true, "config": {"persist": false}},
		"logging": {"logs": {"default": {"level": "ERROR"}}},
		"storage": {"module": "file_system", "root": %q},
		"apps": {
			"ingress": {"source": {"source": "by_hand"}, "automatic_certificates": true},
			"pki": {"certificate_authorities": {"local": {"install_trust": false}}},
			"tls": {"automation": {"policies": [
				{"subjects": ["other.test"], "issuers": [{"module": "internal"}]},
				{"issuers": [{"module": "internal"}], "get_certificate": [{"via": "ingress"}]}
			]}}
		}
	}`, t.TempDir())
	return loadApp(t, cfg)
}

func (a *App) manageForTest(names ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.manageCertificates(names)
}

// served returns the leaf certificate a handshake for name gets.
func (a *App) served(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	c := a.certificate(&tls.ClientHelloInfo{ServerName: name})
	if c == nil {
		t.Fatalf("%s: no certificate", name)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// waitIssued waits until handshakes for name get a certificate for name
// from Caddy's local CA.
func (a *App) waitIssued(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaf := a.served(t, name)
		err := checkLocalCALeaf(leaf, name)
		if err == nil {
			return leaf
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkLocalCALeaf(leaf *x509.Certificate, name string) error {
	if !slices.Equal(leaf.DNSNames, []string{name}) {
		return fmt.Errorf("got certificate for %v issued by %q, want one for %s", leaf.DNSNames, leaf.Issuer.CommonName, name)
	}
	if !strings.HasPrefix(leaf.Issuer.CommonName, "Caddy Local Authority") {
		return fmt.Errorf("got certificate issued by %q, want Caddy's local CA", leaf.Issuer.CommonName)
	}
	return nil
}

const selfSignedCN = "caddy-ingress default certificate"

// TestManageCertificates manages and releases names with Caddy's internal
// issuer and checks what handshakes get and what the cache holds.
func TestManageCertificates(t *testing.T) {
	a := runAutoCertsApp(t)

	a.manageForTest("a.example.com", "b.example.com", "other.test")
	first := a.waitIssued(t, "a.example.com")
	b := a.waitIssued(t, "b.example.com")
	if got := a.served(t, "other.test"); got.Subject.CommonName != selfSignedCN {
		t.Errorf("other.test (policy without the ingress manager): got %v, want the default certificate", got.DNSNames)
	}
	if got := caddytls.AllMatchingCertificates("a.example.com"); len(got) != 0 {
		t.Errorf("TLS app's cache: got %d certificates for a.example.com, want none", len(got))
	}

	// The same names again change nothing.
	a.manageForTest("a.example.com", "b.example.com", "other.test")
	if got := a.served(t, "a.example.com"); !got.Equal(first) {
		t.Errorf("a.example.com after the same names: got serial %s, want %s", got.SerialNumber, first.SerialNumber)
	}

	// Releasing a.example.com takes it out of the cache at once.
	a.manageForTest("b.example.com")
	if got := a.served(t, "a.example.com"); got.Subject.CommonName != selfSignedCN {
		t.Errorf("a.example.com after release: got %v issued by %q, want the default certificate", got.DNSNames, got.Issuer.CommonName)
	}
	if got := a.autocerts.cache.AllMatchingCertificates("a.example.com"); len(got) != 0 {
		t.Errorf("cache after release: got %d certificates for a.example.com, want none", len(got))
	}
	if got := a.served(t, "b.example.com"); !got.Equal(b) {
		t.Errorf("b.example.com: got serial %s, want %s", got.SerialNumber, b.SerialNumber)
	}

	// A name that comes back is served again, loaded from storage.
	a.manageForTest("a.example.com", "b.example.com")
	if got := a.waitIssued(t, "a.example.com"); !got.Equal(first) {
		t.Errorf("a.example.com managed again: got serial %s, want the stored %s", got.SerialNumber, first.SerialNumber)
	}

	a.manageForTest()
	for _, name := range []string{"a.example.com", "b.example.com"} {
		if got := a.served(t, name); got.Subject.CommonName != selfSignedCN {
			t.Errorf("%s after releasing all: got %v, want the default certificate", name, got.DNSNames)
		}
	}
}

// TestCertificatePrecedence checks that exact names win over wildcards,
// whether their certificates come from Secrets or from automation.
func TestCertificatePrecedence(t *testing.T) {
	a := runAutoCertsApp(t)
	selfSigned := func() *tls.Certificate {
		c, err := secrets.SelfSigned(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	exactSecret, wildSecret := selfSigned(), selfSigned()
	labels := map[*tls.Certificate]string{
		exactSecret:   "s.example.com Secret",
		wildSecret:    "*.other.example Secret",
		a.defaultCert: "default certificate",
	}
	a.mu.Lock()
	a.setServed(func(s *served) {
		s.certs = secrets.NewStore([]secrets.Entry{
			{Names: []string{"s.example.com"}, Cert: exactSecret},
			{Names: []string{"*.other.example"}, Cert: wildSecret},
		}, a.defaultCert)
	})
	a.mu.Unlock()
	a.manageForTest("*.example.com", "m.other.example")
	a.waitIssued(t, "m.other.example")
	deadline := time.Now().Add(10 * time.Second)
	for checkLocalCALeaf(a.served(t, "x.example.com"), "*.example.com") != nil {
		if time.Now().After(deadline) {
			t.Fatal("no certificate for *.example.com")
		}
		time.Sleep(20 * time.Millisecond)
	}

	tests := []struct {
		name string
		sni  string
		// want is a Secret's certificate, or nil for a managed one
		// for wantName.
		want     *tls.Certificate
		wantName string
	}{
		{name: "exact Secret beats managed wildcard", sni: "s.example.com", want: exactSecret},
		{name: "managed wildcard", sni: "x.example.com", wantName: "*.example.com"},
		{name: "managed wildcard, any case and trailing dot", sni: "X.Example.COM.", wantName: "*.example.com"},
		{name: "managed exact beats Secret wildcard", sni: "m.other.example", wantName: "m.other.example"},
		{name: "Secret wildcard", sni: "n.other.example", want: wildSecret},
		{name: "unknown name", sni: "unknown.test", want: a.defaultCert},
		{name: "no SNI", sni: "", want: a.defaultCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.certificate(&tls.ClientHelloInfo{ServerName: tt.sni})
			if tt.want != nil {
				if got != tt.want {
					t.Errorf("got %s, want the %s", describe(got, labels), labels[tt.want])
				}
				return
			}
			leaf, err := x509.ParseCertificate(got.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := checkLocalCALeaf(leaf, tt.wantName); err != nil {
				t.Error(err)
			}
		})
	}
}

// describe names a certificate by its label, else by its leaf.
func describe(c *tls.Certificate, labels map[*tls.Certificate]string) string {
	if c == nil {
		return "none"
	}
	if l, ok := labels[c]; ok {
		return l
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("certificate for %v issued by %q", leaf.DNSNames, leaf.Issuer.CommonName)
}
