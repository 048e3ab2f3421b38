package secrets_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

func TestSelfSigned(t *testing.T) {
	cert, err := secrets.SelfSigned(testNow)
	if err != nil {
		t.Fatalf("SelfSigned() error: got %v, want nil", err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		t.Fatal("Leaf: got nil, want the parsed certificate")
	}
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("PrivateKey: got %T, want *ecdsa.PrivateKey", cert.PrivateKey)
	}

	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "chain length", got: len(cert.Certificate), want: 1},
		{name: "leaf is the served certificate", got: len(cert.Certificate) == 1 && string(cert.Certificate[0]) == string(leaf.Raw), want: true},
		{name: "curve", got: key.Curve, want: elliptic.P256()},
		{name: "key matches leaf", got: key.PublicKey.Equal(leaf.PublicKey), want: true},
		{name: "common name", got: leaf.Subject.CommonName, want: "caddy-ingress default certificate"},
		{name: "common name constant", got: secrets.SelfSignedCommonName, want: "caddy-ingress default certificate"},
		{name: "dns names", got: len(leaf.DNSNames), want: 0},
		{name: "ip addresses", got: len(leaf.IPAddresses), want: 0},
		{name: "not before", got: leaf.NotBefore, want: testNow.Add(-time.Hour)},
		{name: "not after", got: leaf.NotAfter, want: testNow.AddDate(1, 0, 0)},
		{name: "key usage", got: leaf.KeyUsage, want: x509.KeyUsageDigitalSignature},
		{name: "ext key usage", got: len(leaf.ExtKeyUsage) == 1 && leaf.ExtKeyUsage[0] == x509.ExtKeyUsageServerAuth, want: true},
		{name: "not a ca", got: leaf.IsCA, want: false},
		{name: "serial positive", got: leaf.SerialNumber.Sign(), want: 1},
		{name: "serial fits 128 bits", got: leaf.SerialNumber.BitLen() <= 128, want: true},
		{name: "self-signed", got: leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature), want: error(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestSelfSignedSerialsDiffer(t *testing.T) {
	a, err := secrets.SelfSigned(testNow)
	if err != nil {
		t.Fatalf("SelfSigned() error: got %v, want nil", err)
	}
	b, err := secrets.SelfSigned(testNow)
	if err != nil {
		t.Fatalf("SelfSigned() error: got %v, want nil", err)
	}
	if a.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 {
		t.Errorf("serial numbers: got %v twice, want two different", a.Leaf.SerialNumber)
	}
	if a.Leaf.PublicKey.(*ecdsa.PublicKey).Equal(b.Leaf.PublicKey) {
		t.Error("keys: got the same key twice, want two different")
	}
}

// TestSelfSignedParses shows that the certificate passes ParseTLSSecret when
// stored as a Secret, and covers no host.
func TestSelfSignedParses(t *testing.T) {
	cert, err := secrets.SelfSigned(testNow)
	if err != nil {
		t.Fatalf("SelfSigned() error: got %v, want nil", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatalf("encoding key: %v", err)
	}
	secret := tlsSecret(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	)
	tests := []struct {
		name    string
		now     time.Time
		wantErr string
	}{
		{name: "at now", now: testNow},
		{name: "within the hour before", now: testNow.Add(-59 * time.Minute)},
		{name: "a year on", now: testNow.AddDate(1, 0, 0)},
		{name: "after a year", now: testNow.AddDate(1, 0, 0).Add(time.Second), wantErr: "secret web/site-tls: tls.crt: certificate expired at 2026-06-01T12:00:00Z"},
		{name: "two hours before", now: testNow.Add(-2 * time.Hour), wantErr: "secret web/site-tls: tls.crt: certificate not valid before 2025-06-01T11:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := secrets.ParseTLSSecret(secret, tt.now)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("ParseTLSSecret() error: got %q, want %q", gotErr, tt.wantErr)
			}
		})
	}
	for _, host := range []string{"caddy-ingress default certificate", "localhost", "*.example.com"} {
		if secrets.Covers(cert.Leaf, host) {
			t.Errorf("Covers(%q): got true, want false", host)
		}
	}
}
