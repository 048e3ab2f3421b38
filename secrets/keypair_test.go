package secrets_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// testNow is the clock every test passes in; test certificates are valid
// from an hour before it to a day after it unless a case says otherwise.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type keyType string

const (
	rsaKey     keyType = "rsa"
	ecdsaKey   keyType = "ecdsa"
	ed25519Key keyType = "ed25519"
)

func newKey(t *testing.T, kt keyType) crypto.Signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch kt {
	case rsaKey:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case ecdsaKey, "":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ed25519Key:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown key type %q", kt)
	}
	if err != nil {
		t.Fatalf("generating %s key: %v", kt, err)
	}
	return key
}

// certSpec describes a certificate for issue to make.
type certSpec struct {
	commonName string
	dnsNames   []string
	notBefore  time.Time // zero: an hour before testNow
	notAfter   time.Time // zero: a day after testNow
	isCA       bool
	keyType    keyType // zero: ECDSA P-256
}

// issued is a certificate made by issue, with its private key.
type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var serial int64

// issue makes the certificate spec describes, signed by parent, or
// self-signed when parent is nil.
func issue(t *testing.T, spec certSpec, parent *issued) *issued {
	t.Helper()
	if spec.notBefore.IsZero() {
		spec.notBefore = testNow.Add(-time.Hour)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = testNow.Add(24 * time.Hour)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: spec.commonName},
		DNSNames:              spec.dnsNames,
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  spec.isCA,
	}
	if spec.isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	key := newKey(t, spec.keyType)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		t.Fatalf("creating certificate %v: %v", spec.dnsNames, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing certificate %v: %v", spec.dnsNames, err)
	}
	return &issued{cert: cert, key: key}
}

// certPEM encodes certs as CERTIFICATE blocks in the order given.
func certPEM(certs ...*issued) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
	}
	return b.Bytes()
}

type keyFormat string

const (
	pkcs1 keyFormat = "pkcs1"
	sec1  keyFormat = "sec1"
	pkcs8 keyFormat = "pkcs8"
)

// keyPEM encodes key as one PEM block in format.
func keyPEM(t *testing.T, key any, format keyFormat) []byte {
	t.Helper()
	var (
		block pem.Block
		err   error
	)
	switch format {
	case pkcs1:
		block.Type = "RSA PRIVATE KEY"
		block.Bytes = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
	case sec1:
		block.Type = "EC PRIVATE KEY"
		block.Bytes, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	case pkcs8:
		block.Type = "PRIVATE KEY"
		block.Bytes, err = x509.MarshalPKCS8PrivateKey(key)
	}
	if err != nil {
		t.Fatalf("encoding %T as %s: %v", key, format, err)
	}
	return pem.EncodeToMemory(&block)
}

func tlsSecret(crt, key []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "site-tls"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}
}

func concat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

func TestParseTLSSecret(t *testing.T) {
	ca := issue(t, certSpec{commonName: "test ca", isCA: true}, nil)
	ecLeaf := issue(t, certSpec{dnsNames: []string{"www.example.com"}}, ca)
	rsaLeaf := issue(t, certSpec{dnsNames: []string{"www.example.com"}, keyType: rsaKey}, ca)
	edLeaf := issue(t, certSpec{dnsNames: []string{"www.example.com"}, keyType: ed25519Key}, ca)
	other := issue(t, certSpec{dnsNames: []string{"other.example.com"}}, ca)
	expired := issue(t, certSpec{
		dnsNames:  []string{"www.example.com"},
		notBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		notAfter:  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}, ca)
	notYet := issue(t, certSpec{
		dnsNames:  []string{"www.example.com"},
		notBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		notAfter:  time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}, ca)
	endsNow := issue(t, certSpec{dnsNames: []string{"www.example.com"}, notAfter: testNow}, ca)
	caAsLeaf := issue(t, certSpec{commonName: "self-signed ca", isCA: true}, nil)

	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generating X25519 key: %v", err)
	}
	junkDER := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	_, junkErr := x509.ParseCertificate(junkDER)
	if junkErr == nil {
		t.Fatal("parsing junk DER as a certificate: got no error, want one")
	}

	ecCrt, ecKey := certPEM(ecLeaf), keyPEM(t, ecLeaf.key, sec1)
	truncated := ecCrt[:len(ecCrt)/2]
	badBase64 := []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
	encryptedKey := pem.EncodeToMemory(&pem.Block{
		Type:    "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   []byte("ciphertext"),
	})
	ecParams := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})

	const prefix = "secret web/site-tls: "
	tests := []struct {
		name   string
		secret *corev1.Secret
		// wantErr is the whole error text; empty means success.
		wantErr string
		// wantLeaf and wantChain are checked on success.
		wantLeaf  *issued
		wantChain int
	}{
		{name: "ecdsa sec1 key", secret: tlsSecret(ecCrt, ecKey), wantLeaf: ecLeaf, wantChain: 1},
		{name: "ecdsa pkcs8 key", secret: tlsSecret(ecCrt, keyPEM(t, ecLeaf.key, pkcs8)), wantLeaf: ecLeaf, wantChain: 1},
		{name: "rsa pkcs1 key", secret: tlsSecret(certPEM(rsaLeaf), keyPEM(t, rsaLeaf.key, pkcs1)), wantLeaf: rsaLeaf, wantChain: 1},
		{name: "rsa pkcs8 key", secret: tlsSecret(certPEM(rsaLeaf), keyPEM(t, rsaLeaf.key, pkcs8)), wantLeaf: rsaLeaf, wantChain: 1},
		{name: "ed25519 pkcs8 key", secret: tlsSecret(certPEM(edLeaf), keyPEM(t, edLeaf.key, pkcs8)), wantLeaf: edLeaf, wantChain: 1},
		{name: "chain leaf first", secret: tlsSecret(certPEM(ecLeaf, ca), ecKey), wantLeaf: ecLeaf, wantChain: 2},
		{name: "ca certificate without dns names as leaf", secret: tlsSecret(certPEM(caAsLeaf), keyPEM(t, caAsLeaf.key, pkcs8)), wantLeaf: caAsLeaf, wantChain: 1},
		{name: "valid until exactly now", secret: tlsSecret(certPEM(endsNow), keyPEM(t, endsNow.key, sec1)), wantLeaf: endsNow, wantChain: 1},
		{name: "ec parameters before key", secret: tlsSecret(ecCrt, concat(ecParams, ecKey)), wantLeaf: ecLeaf, wantChain: 1},
		{name: "explanatory text before blocks", secret: tlsSecret(concat([]byte("subject=CN = www.example.com\n"), ecCrt), concat([]byte("Bag Attributes\n    friendlyName: www\n"), ecKey)), wantLeaf: ecLeaf, wantChain: 1},
		{name: "trailing whitespace", secret: tlsSecret(concat(ecCrt, []byte("\n\n  \t\n")), concat(ecKey, []byte("\r\n"))), wantLeaf: ecLeaf, wantChain: 1},
		{name: "crlf line endings", secret: tlsSecret(bytes.ReplaceAll(certPEM(ecLeaf, ca), []byte("\n"), []byte("\r\n")), bytes.ReplaceAll(ecKey, []byte("\n"), []byte("\r\n"))), wantLeaf: ecLeaf, wantChain: 2},

		{name: "nil secret", secret: nil, wantErr: "secret is nil"},
		{
			name: "opaque type",
			secret: func() *corev1.Secret {
				s := tlsSecret(ecCrt, ecKey)
				s.Type = corev1.SecretTypeOpaque
				return s
			}(),
			wantErr: prefix + `type "Opaque", want kubernetes.io/tls`,
		},
		{
			name: "no namespace",
			secret: func() *corev1.Secret {
				s := tlsSecret(ecCrt, ecKey)
				s.Namespace = ""
				s.Type = ""
				return s
			}(),
			wantErr: `secret site-tls: type "", want kubernetes.io/tls`,
		},
		{
			name: "tls.crt missing",
			secret: func() *corev1.Secret {
				s := tlsSecret(nil, ecKey)
				delete(s.Data, corev1.TLSCertKey)
				return s
			}(),
			wantErr: prefix + "tls.crt is missing",
		},
		{
			name: "tls.key missing",
			secret: func() *corev1.Secret {
				s := tlsSecret(ecCrt, nil)
				delete(s.Data, corev1.TLSPrivateKeyKey)
				return s
			}(),
			wantErr: prefix + "tls.key is missing",
		},
		{name: "tls.crt empty", secret: tlsSecret(nil, ecKey), wantErr: prefix + "tls.crt is empty"},
		{name: "tls.key empty", secret: tlsSecret(ecCrt, []byte{}), wantErr: prefix + "tls.key is empty"},
		{name: "tls.crt not pem", secret: tlsSecret([]byte("not a certificate"), ecKey), wantErr: prefix + "tls.crt: no PEM data found"},
		{name: "tls.crt whitespace only", secret: tlsSecret([]byte(" \n\t\n"), ecKey), wantErr: prefix + "tls.crt: no PEM data found"},
		{name: "tls.crt trailing garbage", secret: tlsSecret(concat(ecCrt, []byte("garbage\n")), ecKey), wantErr: prefix + "tls.crt: unexpected data after PEM block 1"},
		{name: "tls.crt truncated only block", secret: tlsSecret(truncated, ecKey), wantErr: prefix + "tls.crt: malformed PEM block"},
		{name: "tls.crt truncated last block", secret: tlsSecret(concat(ecCrt, truncated), ecKey), wantErr: prefix + "tls.crt: malformed PEM block after block 1"},
		{name: "tls.crt undecodable block in the middle", secret: tlsSecret(concat(ecCrt, badBase64, certPEM(ca)), ecKey), wantErr: prefix + "tls.crt: malformed PEM block before block 2"},
		{name: "tls.crt holds a private key", secret: tlsSecret(concat(ecCrt, ecKey), ecKey), wantErr: prefix + `tls.crt: block 2 is "EC PRIVATE KEY", want CERTIFICATE`},
		{
			name:    "tls.crt block is not x509",
			secret:  tlsSecret(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: junkDER}), ecKey),
			wantErr: prefix + "tls.crt: certificate 1: " + junkErr.Error(),
		},
		{name: "tls.key not pem", secret: tlsSecret(ecCrt, []byte("not a key")), wantErr: prefix + "tls.key: no PEM data found"},
		{name: "tls.key trailing garbage", secret: tlsSecret(ecCrt, concat(ecKey, []byte("x"))), wantErr: prefix + "tls.key: unexpected data after PEM block 1"},
		{name: "tls.key holds a certificate", secret: tlsSecret(ecCrt, concat(ecKey, ecCrt)), wantErr: prefix + `tls.key: unexpected "CERTIFICATE" block, want a private key`},
		{name: "tls.key only ec parameters", secret: tlsSecret(ecCrt, ecParams), wantErr: prefix + "tls.key: no private key found"},
		{name: "tls.key two keys", secret: tlsSecret(ecCrt, concat(ecKey, keyPEM(t, other.key, pkcs8))), wantErr: prefix + "tls.key: found 2 private keys, want 1"},
		{name: "tls.key encrypted pkcs1", secret: tlsSecret(ecCrt, encryptedKey), wantErr: prefix + "tls.key: private key is encrypted"},
		{
			name:    "tls.key encrypted pkcs8",
			secret:  tlsSecret(ecCrt, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("ciphertext")})),
			wantErr: prefix + "tls.key: private key is encrypted",
		},
		{
			name:    "tls.key block does not parse",
			secret:  tlsSecret(ecCrt, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not a key")})),
			wantErr: prefix + `tls.key: "PRIVATE KEY" block is not a PKCS#1, PKCS#8 or SEC1 private key`,
		},
		{name: "tls.key x25519", secret: tlsSecret(ecCrt, keyPEM(t, x25519, pkcs8)), wantErr: prefix + "tls.key: unsupported private key type *ecdh.PrivateKey"},
		{name: "key of another certificate", secret: tlsSecret(ecCrt, keyPEM(t, other.key, pkcs8)), wantErr: prefix + "tls.key does not match tls.crt"},
		{name: "rsa key with ecdsa certificate", secret: tlsSecret(ecCrt, keyPEM(t, rsaLeaf.key, pkcs1)), wantErr: prefix + "tls.key does not match tls.crt"},
		{
			name:    "chain with ca first",
			secret:  tlsSecret(certPEM(ca, ecLeaf), ecKey),
			wantErr: prefix + "tls.key does not match the first certificate in tls.crt (the leaf must come first)",
		},
		{name: "expired", secret: tlsSecret(certPEM(expired), keyPEM(t, expired.key, sec1)), wantErr: prefix + "tls.crt: certificate expired at 2024-01-02T03:04:05Z"},
		{name: "not yet valid", secret: tlsSecret(certPEM(notYet), keyPEM(t, notYet.key, sec1)), wantErr: prefix + "tls.crt: certificate not valid before 2026-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secrets.ParseTLSSecret(tt.secret, testNow)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseTLSSecret() error = nil, want %q", tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("ParseTLSSecret() error: got %q, want %q", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("ParseTLSSecret() certificate: got %v, want nil", got)
				}
				if leaked := leakedLine(err.Error(), tt.secret); leaked {
					t.Errorf("ParseTLSSecret() error %q holds PEM data from the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTLSSecret() error: got %v, want nil", err)
			}
			if got.Leaf == nil || !got.Leaf.Equal(tt.wantLeaf.cert) {
				t.Errorf("Leaf: got %v, want %v", subject(got.Leaf), subject(tt.wantLeaf.cert))
			}
			if len(got.Certificate) != tt.wantChain {
				t.Fatalf("len(Certificate): got %d, want %d", len(got.Certificate), tt.wantChain)
			}
			if !bytes.Equal(got.Certificate[0], tt.wantLeaf.cert.Raw) {
				t.Errorf("Certificate[0]: got a different DER, want the leaf's")
			}
			signer, ok := got.PrivateKey.(crypto.Signer)
			if !ok {
				t.Fatalf("PrivateKey: got %T, want a crypto.Signer", got.PrivateKey)
			}
			if !tt.wantLeaf.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
				t.Errorf("PrivateKey: got a key for another public key, want the leaf's")
			}
		})
	}
}

// leakedLine reports whether msg holds any long line of the secret's data,
// such as a line of base64 from a PEM block.
func leakedLine(msg string, s *corev1.Secret) bool {
	if s == nil {
		return false
	}
	if strings.Contains(msg, "-----") {
		return true
	}
	for _, v := range s.Data {
		for _, line := range strings.Split(string(v), "\n") {
			line = strings.TrimSpace(line)
			if len(line) >= 16 && strings.Contains(msg, line) {
				return true
			}
		}
	}
	return false
}

func subject(c *x509.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	return c.Subject.String()
}

// TestParseTLSSecretServes completes a TLS handshake with each key type to
// show that the returned key pair is usable as it is.
func TestParseTLSSecretServes(t *testing.T) {
	ca := issue(t, certSpec{commonName: "test ca", isCA: true}, nil)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	tests := []struct {
		name    string
		keyType keyType
		format  keyFormat
	}{
		{name: "rsa", keyType: rsaKey, format: pkcs1},
		{name: "ecdsa", keyType: ecdsaKey, format: sec1},
		{name: "ed25519", keyType: ed25519Key, format: pkcs8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := issue(t, certSpec{dnsNames: []string{"www.example.com"}, keyType: tt.keyType}, ca)
			cert, err := secrets.ParseTLSSecret(tlsSecret(certPEM(leaf), keyPEM(t, leaf.key, tt.format)), testNow)
			if err != nil {
				t.Fatalf("ParseTLSSecret() error: got %v, want nil", err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			clientConn, serverConn := net.Pipe()
			defer clientConn.Close()
			defer serverConn.Close()
			server := tls.Server(serverConn, &tls.Config{Certificates: []tls.Certificate{*cert}})
			serverErr := make(chan error, 1)
			go func() { serverErr <- server.HandshakeContext(ctx) }()

			client := tls.Client(clientConn, &tls.Config{
				ServerName: "www.example.com",
				RootCAs:    roots,
				Time:       func() time.Time { return testNow },
			})
			if err := client.HandshakeContext(ctx); err != nil {
				t.Fatalf("client handshake: got %v, want nil", err)
			}
			if err := <-serverErr; err != nil {
				t.Fatalf("server handshake: got %v, want nil", err)
			}
			peer := client.ConnectionState().PeerCertificates
			if len(peer) == 0 || !peer[0].Equal(leaf.cert) {
				t.Errorf("peer certificate: got %d certificates, want the leaf first", len(peer))
			}
		})
	}
}

func TestCovers(t *testing.T) {
	ca := issue(t, certSpec{commonName: "test ca", isCA: true}, nil)
	leaf := issue(t, certSpec{commonName: "cn.example.com", dnsNames: []string{"www.example.com", "*.apps.example.com", "*.trailing.example.com."}}, ca)
	cnOnly := issue(t, certSpec{commonName: "cn-only.example.com"}, ca)

	tests := []struct {
		name string
		leaf *x509.Certificate
		host string
		want bool
	}{
		{name: "exact san", leaf: leaf.cert, host: "www.example.com", want: true},
		{name: "exact san uppercase host", leaf: leaf.cert, host: "WWW.Example.COM", want: true},
		{name: "exact san trailing dot", leaf: leaf.cert, host: "www.example.com.", want: true},
		{name: "parent of san", leaf: leaf.cert, host: "example.com", want: false},
		{name: "other name", leaf: leaf.cert, host: "mail.example.com", want: false},
		{name: "wildcard san covers one label", leaf: leaf.cert, host: "shop.apps.example.com", want: true},
		{name: "wildcard san does not cover two labels", leaf: leaf.cert, host: "a.shop.apps.example.com", want: false},
		{name: "wildcard san does not cover its base", leaf: leaf.cert, host: "apps.example.com", want: false},
		{name: "wildcard host with that wildcard san", leaf: leaf.cert, host: "*.apps.example.com", want: true},
		{name: "wildcard host uppercase", leaf: leaf.cert, host: "*.APPS.Example.com", want: true},
		{name: "wildcard host trailing dot", leaf: leaf.cert, host: "*.apps.example.com.", want: true},
		{name: "wildcard san with trailing dot", leaf: leaf.cert, host: "*.trailing.example.com", want: true},
		{name: "wildcard host not covered by exact sans", leaf: leaf.cert, host: "*.example.com", want: false},
		{name: "wildcard host deeper than wildcard san", leaf: leaf.cert, host: "*.shop.apps.example.com", want: false},
		{name: "common name is ignored", leaf: leaf.cert, host: "cn.example.com", want: false},
		{name: "cn-only certificate", leaf: cnOnly.cert, host: "cn-only.example.com", want: false},
		{name: "empty host", leaf: leaf.cert, host: "", want: false},
		{name: "nil leaf", leaf: nil, host: "www.example.com", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secrets.Covers(tt.leaf, tt.host); got != tt.want {
				t.Errorf("Covers(%q): got %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}
