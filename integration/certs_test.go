package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

// keyPair is a leaf certificate and its key, as PEM for a Secret and as
// DER to compare with what a server presents.
type keyPair struct {
	certPEM []byte
	keyPEM  []byte
	der     []byte
}

// newCA is a CA with its own CommonName, signed by parent, or self-signed
// when parent is nil. Certificates of two CAs then name different issuers.
func newCA(t *testing.T, cn string, parent *testCA) *testCA {
	t.Helper()
	der, key := newCert(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, parent)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a server certificate for the DNS names, each call with a new
// key.
func (ca *testCA) issue(t *testing.T, names ...string) keyPair {
	t.Helper()
	return ca.issueLeaf(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    names,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// issueClient makes a client certificate (extended key usage clientAuth)
// for cn.
func (ca *testCA) issueClient(t *testing.T, cn string) keyPair {
	t.Helper()
	return ca.issueLeaf(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"caddy-ingress e2e"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// issueLeaf signs tmpl, a leaf for digital signatures, with a new key. Its
// certPEM holds the leaf and, for an intermediate CA, the intermediate, as
// a peer sends them.
func (ca *testCA) issueLeaf(t *testing.T, tmpl *x509.Certificate) keyPair {
	t.Helper()
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, key := newCert(t, tmpl, ca)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if !isSelfSigned(ca.cert) {
		certPEM = append(certPEM, caPEM(ca)...)
	}
	return keyPair{
		certPEM: certPEM,
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		der:     der,
	}
}

// newCert makes a key and a certificate from tmpl for it, signed by parent,
// or self-signed when parent is nil. It sets tmpl's serial number and,
// unless tmpl has one, a validity from an hour ago to a day ahead.
func newCert(t *testing.T, tmpl *x509.Certificate, parent *testCA) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = randomSerial(t)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	issuer, signer := tmpl, any(key)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func randomSerial(t *testing.T) *big.Int {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	return serial.Add(serial, big.NewInt(1))
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// caPEM is the CA's certificate as PEM, for a Secret's ca.crt.
func caPEM(ca *testCA) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// leafPEM is the PEM of a key pair's leaf certificate alone.
func (kp keyPair) leafPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.der})
}

func (kp keyPair) tlsCertificate(t *testing.T) *tls.Certificate {
	t.Helper()
	cert, err := tls.X509KeyPair(kp.certPEM, kp.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}
