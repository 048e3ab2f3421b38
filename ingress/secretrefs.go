package ingress

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// secretFor resolves a Secret reference from an annotation of ing: a bare
// name is in the Ingress's namespace; another namespace needs the app's
// allow_cross_namespace_secrets.
func (t *translation) secretFor(ing *networkingv1.Ingress, value string) (string, *corev1.Secret, error) {
	ref, err := ParseSecretRef(value, ing.Namespace)
	if err != nil {
		return "", nil, err
	}
	if ref.Namespace != ing.Namespace && !t.opts.AllowCrossNamespaceSecrets {
		return "", nil, fmt.Errorf("secret %s is in another namespace than the Ingress, and allow_cross_namespace_secrets is off", ref)
	}
	s := t.secret(ref.String())
	if s == nil {
		return "", nil, fmt.Errorf("secret %s not found", ref)
	}
	return ref.String(), s, nil
}

// resolveBackendTLS checks the proxy-ssl-* annotations against the
// backend protocol and loads the Secret they name. Anything wrong refuses
// the Ingress: its backends must not be reached with less protection than
// asked for.
func (t *translation) resolveBackendTLS(r *reader, c *ingressConfig) {
	ing, b := r.ing, &c.backend
	if !b.tls() && b.secret == "" && b.verifyAnnotation == "" && b.ownVerify == "" && b.serverName == "" && b.sendSNIAnnotation == "" &&
		b.protocolMin == "" && b.ciphers == "" && !b.depthSet {
		return
	}
	if !b.tls() {
		for _, name := range []string{"proxy-ssl-secret", "proxy-ssl-verify", "backend-tls-verify", "proxy-ssl-name", "proxy-ssl-server-name",
			"proxy-ssl-protocols", "proxy-ssl-ciphers", "proxy-ssl-verify-depth"} {
			if r.has(name) {
				r.warn(name, "has no effect unless backend-protocol is HTTPS or GRPCS")
			}
		}
		*b = backendOptions{protocol: b.protocol}
		return
	}
	b.ingress = key(ing)
	hasCA := false
	var bt *secrets.BackendTLS
	if b.secret != "" {
		name, s, err := t.secretFor(ing, b.secret)
		if err == nil {
			bt, err = t.backendTLS(s)
		}
		if err != nil {
			r.fail("proxy-ssl-secret", denyPaths, err.Error())
			b.secret = ""
			return
		}
		b.secret = name
		hasCA = bt.CA != nil
	}
	b.verify = hasCA
	verifyName := "proxy-ssl-verify"
	if b.verifyAnnotation != "" {
		b.verify = b.verifyAnnotation == "on"
	}
	if b.ownVerify != "" {
		b.verify, verifyName = b.ownVerify == "on", "backend-tls-verify"
	}
	if b.verify && !hasCA {
		r.fail(verifyName, denyPaths, "verifying backend certificates needs the CAs to trust: set proxy-ssl-secret to a Secret with ca.crt")
	}
	switch {
	case b.verify && !b.depthSet:
		b.verifyDepth = 1 // ingress-nginx's default
	case !b.verify && b.depthSet:
		r.warn("proxy-ssl-verify-depth", "has no effect unless the backend certificate is verified (proxy-ssl-verify)")
		b.verifyDepth = 0
	}
	b.depthSet = false
	b.sendSNI = b.sendSNIAnnotation == "on"
	if bt != nil && c.denied == "" {
		t.backendSecrets[b.secret] = bt
	}
	b.verifyAnnotation, b.ownVerify, b.sendSNIAnnotation = "", "", ""
}

// resolveClientAuth turns the auth-tls-* annotations of an Ingress into
// the client certificate check of its hosts; nil when there is none.
// Anything wrong refuses the Ingress.
func (t *translation) resolveClientAuth(r *reader, cfg *ingressConfig) *ClientAuth {
	ing, c := r.ing, cfg.clientAuth
	cfg.clientAuth = clientAuthOptions{}
	if c == (clientAuthOptions{}) || c.verify == "off" {
		return nil
	}
	if c.secret == "" {
		for _, name := range []string{"auth-tls-verify-client", "auth-tls-verify-depth", "auth-tls-pass-certificate-to-upstream", "auth-tls-match-cn", "auth-tls-error-page"} {
			if r.has(name) {
				r.fail(name, denyPaths, "needs auth-tls-secret")
				return nil
			}
		}
		return nil
	}
	name, s, err := t.secretFor(ing, c.secret)
	var ca *secrets.CA
	if err == nil {
		ca, err = t.clientCA(s)
	}
	if err != nil {
		r.fail("auth-tls-secret", denyPaths, err.Error())
		return nil
	}
	auth := &ClientAuth{
		Ingress:         key(ing),
		Secret:          name,
		Verify:          ClientVerifyOn,
		Depth:           1,
		PassCertificate: c.pass,
		MatchCN:         c.matchCN,
		ErrorPage:       c.errorPage,
		SHA256:          ca.SHA256,
		CAs:             ca.Pool,
		Revoked:         ca.Revoked,
	}
	if c.verify != "" {
		auth.Verify = c.verify
	}
	if c.depth != 0 {
		auth.Depth = c.depth
	}
	return auth
}

// sameClientAuth reports whether two Ingresses ask for the same check.
func sameClientAuth(a, b *ClientAuth) bool {
	return a.Secret == b.Secret && a.Verify == b.Verify && a.Depth == b.Depth && a.PassCertificate == b.PassCertificate && a.MatchCN == b.MatchCN &&
		a.ErrorPage == b.ErrorPage
}

// clientCA parses a Secret's ca.crt and ca.crl once per object; whether
// the revocation lists are current is checked on every call.
func (t *translation) clientCA(s *corev1.Secret) (*secrets.CA, error) {
	ca := t.cas[s]
	if ca == nil {
		ca = t.prev.cas[s]
	}
	if ca == nil {
		var err error
		if ca, err = secrets.ParseCA(s, time.Time{}); err != nil {
			return nil, err
		}
	}
	t.cas[s] = ca
	t.crlValidity(ca)
	if err := ca.CheckCurrent(t.opts.Now); err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return ca, nil
}

// backendTLS parses a proxy-ssl-secret once per object; a client
// certificate's validity is checked on every call.
func (t *translation) backendTLS(s *corev1.Secret) (*secrets.BackendTLS, error) {
	bt := t.backendTLSs[s]
	if bt == nil {
		bt = t.prev.backendTLSs[s]
	}
	if bt == nil {
		var err error
		if bt, err = secrets.ParseBackendTLS(s, time.Time{}); err != nil {
			return nil, err
		}
	}
	t.backendTLSs[s] = bt
	if bt.CA != nil {
		t.crlValidity(bt.CA)
		if err := bt.CA.CheckCurrent(t.opts.Now); err != nil {
			return nil, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	if bt.ClientCert != nil {
		t.validity(bt.ClientCert.Leaf)
		if leaf := bt.ClientCert.Leaf; t.opts.Now.After(leaf.NotAfter) || t.opts.Now.Before(leaf.NotBefore) {
			return nil, fmt.Errorf("secret %s/%s: tls.crt: certificate is not valid now (valid %s to %s)", s.Namespace, s.Name,
				leaf.NotBefore.UTC().Format("2006-01-02T15:04:05Z"), leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
		}
	}
	return bt, nil
}

// crlValidity notes the moment at which ca's revocation lists expire.
func (t *translation) crlValidity(ca *secrets.CA) {
	if ca.Revoked != nil {
		// Current up to and including NextUpdate.
		t.changesAt(ca.NextUpdate.Add(time.Second))
	}
}
