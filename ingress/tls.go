package ingress

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// addTLS records the TLS hosts of one Ingress and claims a certificate for
// each of them. A tls entry without hosts applies to the hosts of the
// Ingress's rules. Every host stays a TLS host (redirected to HTTPS) even
// when its Secret is missing or invalid; it is then served the default
// certificate.
func (t *translation) addTLS(ing *networkingv1.Ingress, c *ingressConfig) {
	report := t.reporter(ing)
	owner := key(ing)
	for i, entry := range ing.Spec.TLS {
		field := fmt.Sprintf("spec.tls[%d]", i)
		var hosts []string
		for j, h := range entry.Hosts {
			if err := validateHost(h); err != nil {
				report(fmt.Sprintf("%s.hosts[%d]", field, j), err.Error())
				continue
			}
			hosts = append(hosts, h)
		}
		if len(entry.Hosts) == 0 {
			for _, rule := range ing.Spec.Rules {
				if rule.Host != "" && validateHost(rule.Host) == nil && !slices.Contains(hosts, rule.Host) {
					hosts = append(hosts, rule.Host)
				}
			}
		}
		for _, h := range hosts {
			t.tlsHosts[h] = true
		}
		if entry.SecretName == "" || c.acme {
			t.addManaged(c, field, hosts, entry.SecretName == "", report)
			continue
		}
		secretKey := ing.Namespace + "/" + entry.SecretName
		secret := t.secret(secretKey)
		if secret == nil {
			report(field+".secretName", fmt.Sprintf("secret %s not found", secretKey))
			continue
		}
		pair, err := t.keyPair(secret)
		if err != nil {
			report(field+".secretName", err.Error())
			continue
		}
		for _, h := range hosts {
			if prev := t.certs[h]; prev != nil {
				if prev.value != secretKey {
					report(field+".hosts", fmt.Sprintf("host %q already uses secret %s of Ingress %s", h, prev.value, prev.owner))
				}
				continue
			}
			if !secrets.Covers(pair.Leaf, h) {
				report(field+".hosts", fmt.Sprintf("certificate in secret %s does not cover host %q", secretKey, h))
				continue
			}
			t.certs[h] = &owned[string]{secretKey, owner}
		}
	}
}

// addManaged asks Caddy's automation for certificates for hosts, when the
// app allows it. noSecret says the tls entry has no secretName (rather
// than the Ingress asking for automation by annotation).
func (t *translation) addManaged(c *ingressConfig, field string, hosts []string, noSecret bool, report func(field, reason string)) {
	if !t.opts.AutomaticCertificates {
		if noSecret {
			report(field+".secretName", "no secretName, and automatic_certificates is off: the hosts are served the default certificate")
		} else {
			report(c.reader.field("acme"), "automatic_certificates is off: the hosts are served the default certificate")
		}
		return
	}
	for _, h := range hosts {
		t.managed[h] = true
	}
}

// managedHosts are the hosts to manage: those asked for that no Secret
// of an Ingress covers.
func (t *translation) managedHosts() []string {
	var out []string
	for h := range t.managed {
		if t.certs[h] == nil {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// addDefaultCertificate loads the app's default_certificate Secret.
func (t *translation) addDefaultCertificate() {
	ref := t.opts.DefaultCertificate
	if ref == nil {
		return
	}
	report := func(reason string) {
		t.problems = append(t.problems, Problem{Object: ObjectRef{Kind: "Config", Name: "default_certificate"}, Reason: reason + "; a self-signed certificate is served instead"})
	}
	secret := t.secrets[ref.String()]
	if secret == nil {
		report(fmt.Sprintf("secret %s not found", ref))
		return
	}
	pair, err := t.keyPair(secret)
	if err != nil {
		report(err.Error())
		return
	}
	sum := sha256.Sum256(pair.Leaf.Raw)
	t.defaultCert = &Certificate{Secret: ref.String(), Names: []string{}, SHA256: hex.EncodeToString(sum[:]), KeyPair: pair}
}

// backendSecretList lists the proxy-ssl-secrets in use.
func (t *translation) backendSecretList() []BackendSecret {
	out := make([]BackendSecret, 0, len(t.backendSecrets))
	for name, bt := range t.backendSecrets {
		b := BackendSecret{Secret: name, SHA256: bt.SHA256, ClientCert: bt.ClientCert}
		if bt.CA != nil {
			b.CAs, b.Revoked = bt.CA.Pool, bt.CA.Revoked
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b BackendSecret) int { return strings.Compare(a.Secret, b.Secret) })
	return out
}

// keyPair parses a Secret once per object and checks the validity period on
// every call, since that depends on Options.Now.
func (t *translation) keyPair(s *corev1.Secret) (*tls.Certificate, error) {
	pair := t.keyPairs[s]
	if pair == nil {
		pair = t.prev.keyPairs[s]
	}
	if pair == nil {
		var err error
		// Parsed once for any time; the validity period is checked here.
		if pair, err = secrets.ParseTLSSecret(s, time.Time{}); err != nil {
			return nil, err
		}
	}
	t.keyPairs[s] = pair
	leaf := pair.Leaf
	t.validity(leaf)
	if t.opts.Now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("secret %s/%s: tls.crt: certificate expired at %s", s.Namespace, s.Name, leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if t.opts.Now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("secret %s/%s: tls.crt: certificate not valid before %s", s.Namespace, s.Name, leaf.NotBefore.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return pair, nil
}

// validity notes the moments at which c becomes valid and expires.
func (t *translation) validity(c *x509.Certificate) {
	t.changesAt(c.NotBefore)
	// Valid up to and including NotAfter.
	t.changesAt(c.NotAfter.Add(time.Second))
}

// changesAt notes that the translation changes at moment m, if that is
// after opts.Now and before any moment noted so far.
func (t *translation) changesAt(m time.Time) {
	if m.After(t.opts.Now) && (t.next.IsZero() || m.Before(t.next)) {
		t.next = m
	}
}

// certificates groups the claimed hosts by Secret.
func (t *translation) certificates() []Certificate {
	bySecret := make(map[string][]string)
	for host, c := range t.certs {
		bySecret[c.value] = append(bySecret[c.value], host)
	}
	out := make([]Certificate, 0, len(bySecret))
	for secretKey, names := range bySecret {
		slices.Sort(names)
		pair := t.keyPairs[t.secrets[secretKey]]
		sum := sha256.Sum256(pair.Leaf.Raw)
		out = append(out, Certificate{Secret: secretKey, Names: names, SHA256: hex.EncodeToString(sum[:]), KeyPair: pair})
	}
	slices.SortFunc(out, func(a, b Certificate) int { return strings.Compare(a.Secret, b.Secret) })
	return out
}
