package ingress

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"

	htpasswd "github.com/tg123/go-htpasswd"
	corev1 "k8s.io/api/core/v1"
)

// basicAuthConfig is what auth-type, auth-secret, auth-secret-type and
// auth-realm say.
type basicAuthConfig struct {
	on         bool
	secret     string
	secretType string // "auth-file" or "auth-map"
	realm      string
}

// BasicAuthModule (http.handlers.<name>) asks for a user and password
// checked against an htpasswd Secret in Result.AuthSecrets.
const BasicAuthModule = "ingress_basic_auth"

// DigestAuthModule (http.handlers.<name>) asks for a user and password by
// HTTP Digest authentication, checked against an htdigest Secret in
// Result.AuthSecrets.
const DigestAuthModule = "ingress_digest_auth"

// AuthSecret is the htpasswd or htdigest content of a Secret named by
// auth-secret.
type AuthSecret struct {
	// Secret is the namespace/name of the Secret, with "#map" appended
	// when it is read as auth-secret-type auth-map and "#digest" when
	// it is read as htdigest lines (auth-type digest).
	Secret string `json:"secret"`
	// SHA256 is the hex SHA-256 of the lines.
	SHA256 string `json:"sha256"`
	// Users checks user names and passwords of auth-type basic; never
	// rendered.
	Users *htpasswd.File `json:"-"`
	// Digest holds the users of auth-type digest: by realm, then by user,
	// the lowercase hex MD5 of user:realm:password (HA1); never rendered.
	Digest map[string]map[string]string `json:"-"`
	// bad counts the lines left out.
	bad int
}

// realmValue is what auth-realm may hold (it is quoted in a header).
var realmValue = regexp.MustCompile(`^[A-Za-z0-9 _.,:;/@()'-]{0,128}$`)

// htpasswdParsers are the hash formats accepted: bcrypt, apr1/MD5,
// {SHA}, {SSHA} and SHA-256/512 crypt; never plain text.
var htpasswdParsers = []htpasswd.PasswdParser{htpasswd.AcceptMd5, htpasswd.AcceptSha, htpasswd.AcceptBcrypt, htpasswd.AcceptSsha, htpasswd.AcceptCryptSha}

var basicAuthFamily = family{
	annotations: []annotationSpec{
		{name: "auth-type", fails: ignoreIngress, doc: "basic asks clients of the Ingress's paths for a user and password (401 with WWW-Authenticate otherwise); the client's Authorization header is not passed on.",
			differs: "digest is not supported: the paths answer 503."},
		{name: "auth-secret", fails: denyPaths, doc: "The Secret (name or namespace/name) with the users: htpasswd lines in its key auth (bcrypt, apr1/MD5, {SHA}, {SSHA} or SHA-256/512 crypt). Missing, unreadable or empty: the paths answer 503. A change of the Secret applies without rebuilding routes.",
			differs: "Plain-text passwords and DES crypt are not accepted; such lines are reported and their users cannot sign in."},
		{name: "auth-secret-type", fails: denyPaths, doc: "auth-file (default: htpasswd lines under key auth) or auth-map (each key a user, its value the hash)."},
		{name: "auth-realm", fails: ignoreIngress, doc: "The realm of WWW-Authenticate. Default: none (an empty realm)."},
	},
	parse: func(r *reader, c *ingressConfig) {
		b := &c.basicAuth
		if v, ok := r.value("auth-type"); ok {
			switch v {
			case "basic":
				b.on = true
			case "digest":
				r.fail("auth-type", denyPaths, "digest authentication is not supported")
			default:
				r.invalid("auth-type", fmt.Errorf("invalid value %s: want basic", quoted(v)))
			}
		}
		b.secretType = "auth-file"
		if v, ok := r.value("auth-secret-type"); ok {
			if v != "auth-file" && v != "auth-map" {
				r.invalid("auth-secret-type", fmt.Errorf("invalid value %s: want auth-file or auth-map", quoted(v)))
			} else {
				b.secretType = v
			}
		}
		if v, ok := r.value("auth-realm"); ok {
			if !realmValue.MatchString(v) {
				r.invalid("auth-realm", fmt.Errorf("invalid value %s: want letters, digits, spaces and _ . , : ; / @ ( ) ' -", quoted(v)))
			} else {
				b.realm = v
			}
		}
		if v, ok := r.value("auth-secret"); ok {
			if err := checkSecretRef(v); err != nil {
				r.invalid("auth-secret", err)
				b.on = false // denied; nothing more to check
			} else {
				b.secret = v
			}
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) {
		b := &c.basicAuth
		if !b.on {
			return
		}
		if b.secret == "" {
			r.fail("auth-type", denyPaths, "needs auth-secret")
			return
		}
		name, s, err := t.secretFor(r.ing, b.secret)
		var users *AuthSecret
		if err == nil {
			users, err = t.authSecret(name, s, b.secretType, func(reason string) { r.warn("auth-secret", reason) })
		}
		if err != nil {
			r.fail("auth-secret", denyPaths, err.Error())
			b.on = false
			return
		}
		b.secret = users.Secret
		t.authSecrets[users.Secret] = users
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		if c.basicAuth.on {
			p.access.basicAuth = basicAuth{secret: c.basicAuth.secret, realm: c.basicAuth.realm}
		}
	},
}

// basicAuth is the user and password check of a path.
type basicAuth struct {
	secret, realm string
}

// authSecret reads the htpasswd lines of a Secret; bad lines are
// reported through warn and left out.
func (t *translation) authSecret(name string, s *corev1.Secret, secretType string, warn func(string)) (*AuthSecret, error) {
	var lines []byte
	key := name
	if secretType == "auth-map" {
		key += "#map"
		users := make([]string, 0, len(s.Data))
		for u := range s.Data {
			users = append(users, u)
		}
		slices.Sort(users)
		for _, u := range users {
			lines = append(append(append(append(lines, u...), ':'), bytes.TrimSpace(s.Data[u])...), '\n')
		}
	} else {
		data, ok := s.Data["auth"]
		if !ok {
			return nil, fmt.Errorf("secret %s has no key auth", name)
		}
		lines = data
	}
	sum := sha256.Sum256(lines)
	a := t.authSecrets[key]
	if a == nil {
		a = t.prev.authSecrets[key]
	}
	if a == nil || a.SHA256 != hex.EncodeToString(sum[:]) {
		bad := 0
		users, err := htpasswd.NewFromReader(bytes.NewReader(lines), htpasswdParsers, func(error) { bad++ })
		if err != nil {
			return nil, fmt.Errorf("secret %s: %v", name, err)
		}
		a = &AuthSecret{Secret: key, SHA256: hex.EncodeToString(sum[:]), Users: users, bad: bad}
	}
	if a.bad > 0 {
		warn(fmt.Sprintf("secret %s: %d of its lines are not htpasswd lines with a supported hash; those users cannot sign in", name, a.bad))
	}
	return a, nil
}
