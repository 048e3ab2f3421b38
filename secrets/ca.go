package secrets

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// CAKey is the Secret data key that holds trusted CA certificates, as
// ingress-nginx names it.
const CAKey = "ca.crt"

// CRLKey is the Secret data key of a certificate revocation list.
const CRLKey = "ca.crl"

// CA is a bundle of trusted certificates read from a Secret.
type CA struct {
	Pool *x509.CertPool
	// SHA256 is the hex SHA-256 of the ca.crt data.
	SHA256 string
}

// ParseCA reads the CERTIFICATE blocks in a Secret's ca.crt, of any Secret
// type. Every block must parse; the certificates need not be CAs (a
// self-signed certificate may be trusted directly).
func ParseCA(s *corev1.Secret) (*CA, error) {
	if s == nil {
		return nil, errors.New("secret is nil")
	}
	ca, err := parseCA(s.Data)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return ca, nil
}

func parseCA(data map[string][]byte) (*CA, error) {
	v, ok := data[CAKey]
	if !ok {
		return nil, fmt.Errorf("%s is missing", CAKey)
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("%s is empty", CAKey)
	}
	certs, err := parseCertificates(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAKey, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	sum := sha256.Sum256(v)
	return &CA{Pool: pool, SHA256: hex.EncodeToString(sum[:])}, nil
}

// BackendTLS is what a Secret for TLS connections to backends holds: CAs
// to trust (ca.crt) and a client certificate (tls.crt, tls.key), each
// optional but not both.
type BackendTLS struct {
	CA         *CA              // nil without ca.crt
	ClientCert *tls.Certificate // nil without tls.crt
	// SHA256 is the hex SHA-256 of ca.crt and tls.crt.
	SHA256 string
}

// ParseBackendTLS reads a Secret of any type for TLS to backends. A key
// pair that is present must be complete, match and be valid at now.
func ParseBackendTLS(s *corev1.Secret, now time.Time) (*BackendTLS, error) {
	if s == nil {
		return nil, errors.New("secret is nil")
	}
	b, err := parseBackendTLS(s.Data, now)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return b, nil
}

func parseBackendTLS(data map[string][]byte, now time.Time) (*BackendTLS, error) {
	_, hasCA := data[CAKey]
	_, hasCert := data[corev1.TLSCertKey]
	_, hasKey := data[corev1.TLSPrivateKeyKey]
	if !hasCA && !hasCert && !hasKey {
		return nil, fmt.Errorf("holds neither %s nor %s and %s", CAKey, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	b := new(BackendTLS)
	h := sha256.New()
	if hasCA {
		ca, err := parseCA(data)
		if err != nil {
			return nil, err
		}
		b.CA = ca
		h.Write(data[CAKey])
	}
	h.Write([]byte{0})
	if hasCert || hasKey {
		pair, err := parseKeyPair(data, now)
		if err != nil {
			return nil, err
		}
		b.ClientCert = pair
		h.Write(data[corev1.TLSCertKey])
	}
	b.SHA256 = hex.EncodeToString(h.Sum(nil))
	return b, nil
}
