package secrets

import (
	"bytes"
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
	// SHA256 is the hex SHA-256 of the ca.crt data (and ca.crl, if any).
	SHA256 string
	// Revoked holds the certificates revoked by the CRLs in ca.crl; nil
	// without ca.crl.
	Revoked *Revocations
	// NextUpdate is the earliest time a CRL in ca.crl expires.
	NextUpdate time.Time
}

// Revocations are the certificates revoked by a set of CRLs.
type Revocations struct {
	serials map[string]struct{} // issuer's raw subject + "/" + serial
}

// Revoked reports whether c is revoked by one of the CRLs.
func (r *Revocations) Revoked(c *x509.Certificate) bool {
	if r == nil {
		return false
	}
	_, ok := r.serials[string(c.RawIssuer)+"/"+c.SerialNumber.String()]
	return ok
}

// ParseCA reads the CERTIFICATE blocks in a Secret's ca.crt, of any Secret
// type, and the X509 CRL blocks in its ca.crl if there is one. Every block
// must parse; the certificates need not be CAs (a self-signed certificate
// may be trusted directly). Each CRL must be signed by a certificate in
// ca.crt and be current at now; a zero now skips that check, for callers
// that check it themselves (CheckCurrent).
func ParseCA(s *corev1.Secret, now time.Time) (*CA, error) {
	if s == nil {
		return nil, errors.New("secret is nil")
	}
	ca, err := parseCA(s.Data)
	if err == nil {
		err = ca.CheckCurrent(now)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return ca, nil
}

// CheckCurrent returns an error when a CRL of ca has expired at now: an
// expired CRL says nothing about recent revocations, so nothing verifies.
// A zero now checks nothing.
func (ca *CA) CheckCurrent(now time.Time) error {
	if ca.Revoked != nil && !now.IsZero() && now.After(ca.NextUpdate) {
		return fmt.Errorf("%s: revocation list expired at %s", CRLKey, ca.NextUpdate.UTC().Format(time.RFC3339))
	}
	return nil
}

// parseCRLs reads the CRLs in ca.crl and checks their signatures against
// the certificates of ca.crt.
func parseCRLs(data []byte, issuers []*x509.Certificate) (*Revocations, time.Time, error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", CRLKey, err)
	}
	r := &Revocations{serials: make(map[string]struct{})}
	var next time.Time
	for i, b := range blocks {
		if b.Type != "X509 CRL" {
			return nil, time.Time{}, fmt.Errorf("%s: block %d is %q, want X509 CRL", CRLKey, i+1, b.Type)
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: block %d: %v", CRLKey, i+1, err)
		}
		signed := false
		for _, c := range issuers {
			if bytes.Equal(c.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(c) == nil {
				signed = true
				break
			}
		}
		if !signed {
			return nil, time.Time{}, fmt.Errorf("%s: block %d: not signed by a certificate in %s", CRLKey, i+1, CAKey)
		}
		if next.IsZero() || crl.NextUpdate.Before(next) {
			next = crl.NextUpdate
		}
		for _, e := range crl.RevokedCertificateEntries {
			r.serials[string(crl.RawIssuer)+"/"+e.SerialNumber.String()] = struct{}{}
		}
	}
	return r, next, nil
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
	ca := &CA{Pool: pool}
	h := sha256.New()
	h.Write(v)
	if crl, ok := data[CRLKey]; ok {
		if ca.Revoked, ca.NextUpdate, err = parseCRLs(crl, certs); err != nil {
			return nil, err
		}
		h.Write([]byte{0})
		h.Write(crl)
	}
	ca.SHA256 = hex.EncodeToString(h.Sum(nil))
	return ca, nil
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
// pair that is present must be complete, match and be valid at now; a
// ca.crl beside ca.crt must be current at now (see ParseCA). A zero now
// skips both checks of time.
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
		h.Write([]byte(ca.SHA256)) // covers ca.crl too
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
	if b.CA != nil {
		if err := b.CA.CheckCurrent(now); err != nil {
			return nil, err
		}
	}
	return b, nil
}
