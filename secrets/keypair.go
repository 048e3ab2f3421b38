// Package secrets turns Kubernetes TLS Secrets into certificates that can be
// served, and picks the certificate for a TLS server name.
//
// The package is pure: it does no I/O, reads no clock (callers pass now) and
// logs nothing. Errors name the Secret and the data key at fault and never
// contain PEM text or key bytes, so they are safe to log and to report on
// the object.
package secrets

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ParseTLSSecret validates a Secret of type kubernetes.io/tls and returns its
// key pair with Leaf set.
//
// tls.crt holds one or more CERTIFICATE blocks, leaf first, then any
// intermediates. tls.key holds exactly one unencrypted private key: PKCS#1
// RSA, SEC1 EC (an EC PARAMETERS block beside it is ignored) or PKCS#8 RSA,
// ECDSA or Ed25519. Explanatory text before a PEM block is allowed, as
// RFC 7468 and crypto/tls allow it; anything but whitespace after the last
// block, and any PEM block that does not decode, is an error so that a
// truncated certificate is never dropped silently. The key must belong to
// the first certificate, and that certificate must be valid at now (a zero
// now skips that check, for callers that check it themselves). The
// chain is not verified beyond that: a self-signed CA certificate with no
// DNS names is accepted as a leaf.
func ParseTLSSecret(s *corev1.Secret, now time.Time) (*tls.Certificate, error) {
	if s == nil {
		return nil, errors.New("secret is nil")
	}
	cert, err := parseTLSData(s.Type, s.Data, now)
	if err != nil {
		if s.Namespace == "" {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		return nil, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return cert, nil
}

// parseTLSData does the work of ParseTLSSecret; its errors start with the
// data key at fault and leave naming the Secret to the caller.
func parseTLSData(typ corev1.SecretType, data map[string][]byte, now time.Time) (*tls.Certificate, error) {
	if typ != corev1.SecretTypeTLS {
		return nil, fmt.Errorf("type %q, want %s", typ, corev1.SecretTypeTLS)
	}
	return parseKeyPair(data, now)
}

// parseKeyPair parses tls.crt and tls.key of a Secret of any type.
func parseKeyPair(data map[string][]byte, now time.Time) (*tls.Certificate, error) {
	for _, key := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
		v, ok := data[key]
		if !ok {
			return nil, fmt.Errorf("%s is missing", key)
		}
		if len(v) == 0 {
			return nil, fmt.Errorf("%s is empty", key)
		}
	}

	chain, err := parseCertificates(data[corev1.TLSCertKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", corev1.TLSCertKey, err)
	}
	key, err := parsePrivateKey(data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", corev1.TLSPrivateKeyKey, err)
	}

	leaf := chain[0]
	if !keyMatches(key, leaf) {
		for _, c := range chain[1:] {
			if keyMatches(key, c) {
				return nil, fmt.Errorf("%s does not match the first certificate in %s (the leaf must come first)",
					corev1.TLSPrivateKeyKey, corev1.TLSCertKey)
			}
		}
		return nil, fmt.Errorf("%s does not match %s", corev1.TLSPrivateKeyKey, corev1.TLSCertKey)
	}

	switch {
	case now.IsZero():
		// The caller checks the validity period.
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("%s: certificate expired at %s", corev1.TLSCertKey, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("%s: certificate not valid before %s", corev1.TLSCertKey, leaf.NotBefore.UTC().Format(time.RFC3339))
	}

	ders := make([][]byte, len(chain))
	for i, c := range chain {
		ders[i] = c.Raw
	}
	return &tls.Certificate{Certificate: ders, PrivateKey: key, Leaf: leaf}, nil
}

// parseCertificates parses PEM data holding only CERTIFICATE blocks.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("block %d is %q, want CERTIFICATE", i+1, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// parsePrivateKey parses PEM data holding exactly one private key. Errors
// from the x509 parsers are not passed on: they describe the key's encoding,
// and nothing about a private key goes into an error.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, err
	}
	var keyBlocks []*pem.Block
	for _, b := range blocks {
		switch {
		case b.Type == "EC PARAMETERS":
			// Written by "openssl ecparam -genkey" before the key; the key
			// carries its curve itself.
		case b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"):
			return nil, errors.New("private key is encrypted")
		case b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY"):
			keyBlocks = append(keyBlocks, b)
		default:
			return nil, fmt.Errorf("unexpected %q block, want a private key", b.Type)
		}
	}
	switch len(keyBlocks) {
	case 0:
		return nil, errors.New("no private key found")
	case 1:
	default:
		return nil, fmt.Errorf("found %d private keys, want 1", len(keyBlocks))
	}

	b := keyBlocks[0]
	var key any
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		key = k
	} else {
		return nil, fmt.Errorf("%q block is not a PKCS#1, PKCS#8 or SEC1 private key", b.Type)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return k.(crypto.Signer), nil
	default:
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
}

var (
	pemBegin = []byte("-----BEGIN")
	pemEnd   = []byte("-----END")
)

// decodePEM splits data into PEM blocks. Text before a block is allowed;
// a boundary line that is not part of a block that decodes, or anything but
// whitespace after the last block, is an error.
func decodePEM(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := data
	for {
		b, next := pem.Decode(rest)
		if b == nil {
			break
		}
		// pem.Decode skips blocks it cannot decode; the text it consumed
		// holds more than one boundary pair when it did.
		consumed := rest[:len(rest)-len(next)]
		if bytes.Count(consumed, pemBegin) > 1 || bytes.Count(consumed, pemEnd) > 1 {
			return nil, fmt.Errorf("malformed PEM block before block %d", len(blocks)+1)
		}
		blocks = append(blocks, b)
		rest = next
	}

	hasBoundary := bytes.Contains(rest, pemBegin) || bytes.Contains(rest, pemEnd)
	switch {
	case len(blocks) == 0 && hasBoundary:
		return nil, errors.New("malformed PEM block")
	case len(blocks) == 0:
		return nil, errors.New("no PEM data found")
	case hasBoundary:
		return nil, fmt.Errorf("malformed PEM block after block %d", len(blocks))
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, fmt.Errorf("unexpected data after PEM block %d", len(blocks))
	}
	return blocks, nil
}

// keyMatches reports whether key is the private half of cert's public key.
func keyMatches(key crypto.Signer, cert *x509.Certificate) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// Covers reports whether leaf is valid for host.
//
// An exact host such as "bar.foo.com" is matched as x509.VerifyHostname
// does: against the DNS SANs, where "*.foo.com" covers "bar.foo.com" but
// neither "foo.com" nor "a.bar.foo.com". A wildcard host such as
// "*.foo.com" is covered only by that same wildcard SAN, compared without
// regard to ASCII case. The CommonName is never used.
func Covers(leaf *x509.Certificate, host string) bool {
	if leaf == nil {
		return false
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return false
	}
	if !strings.HasPrefix(host, "*.") {
		return leaf.VerifyHostname(host) == nil
	}
	for _, san := range leaf.DNSNames {
		if equalFoldASCII(strings.TrimSuffix(san, "."), host) {
			return true
		}
	}
	return false
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case
// only, as DNS names are compared.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
