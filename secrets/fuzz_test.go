package secrets_test

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// fuzzPEM returns a valid certificate and key as PEM, for seeds.
func fuzzPEM(f *testing.F) (crt, key []byte) {
	f.Helper()
	c, err := secrets.SelfSigned(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		f.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// namesSecretAndKey reports whether an error message names the Secret and
// one of its data keys.
func namesSecretAndKey(msg string) bool {
	if !strings.HasPrefix(msg, "secret fuzz/web: ") {
		return false
	}
	for _, k := range []string{"tls.crt", "tls.key", "ca.crt", "ca.crl", "type", "holds neither"} {
		if strings.Contains(msg, k) {
			return true
		}
	}
	return false
}

// FuzzParseSecrets parses any tls.crt, tls.key, ca.crt and ca.crl as each
// kind of Secret: no panic, and every error names the Secret and the data
// key at fault, without echoing the private key.
func FuzzParseSecrets(f *testing.F) {
	crt, key := fuzzPEM(f)
	f.Add(crt, key, crt, []byte(nil))
	f.Add(crt[:len(crt)/2], key, []byte("garbage"), []byte("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"))
	f.Add(append([]byte("text before\n"), crt...), append(key, "trailing"...), append(crt, crt...), crt)
	f.Add([]byte(""), []byte(""), []byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, tlsCrt, tlsKey, caCrt, caCrl []byte) {
		data := map[string][]byte{"tls.crt": tlsCrt, "tls.key": tlsKey, "ca.crt": caCrt}
		if caCrl != nil {
			data["ca.crl"] = caCrl
		}
		meta := metav1.ObjectMeta{Namespace: "fuzz", Name: "web"}
		now := time.Now()
		check := func(what string, err error) {
			if err == nil {
				return
			}
			msg := err.Error()
			if !namesSecretAndKey(msg) {
				t.Errorf("%s: got error %q, want one naming secret fuzz/web and the data key", what, msg)
			}
			if len(tlsKey) > 16 && strings.Contains(msg, string(tlsKey)) {
				t.Errorf("%s: the error echoes tls.key", what)
			}
		}
		_, err := secrets.ParseTLSSecret(&corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeTLS, Data: data}, now)
		check("tls secret", err)
		_, err = secrets.ParseCA(&corev1.Secret{ObjectMeta: meta, Data: data}, now)
		check("ca", err)
		_, err = secrets.ParseBackendTLS(&corev1.Secret{ObjectMeta: meta, Data: data}, now)
		check("backend tls", err)
		_, err = secrets.ParseBackendTLS(&corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"ca.crt": caCrt, "ca.crl": caCrl}}, time.Time{})
		check("backend ca only", err)
	})
}
