package ingress

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	htpasswd "github.com/tg123/go-htpasswd"
	corev1 "k8s.io/api/core/v1"
)

// basicAuthConfig is what auth-type, auth-secret, auth-secret-type and
// auth-realm say.
type basicAuthConfig struct {
	on         bool
	digest     bool // auth-type digest
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
		{name: "auth-type", fails: ignoreIngress, doc: "basic asks clients of the Ingress's paths for a user and password (401 with WWW-Authenticate otherwise); digest does so by HTTP Digest authentication (MD5, qop auth; a nonce serves 60 s until first used, then 10 s, for nonce counts 1 to 19, each once). The client's Authorization header is not passed on.",
			differs: "digest without auth-realm makes the paths answer 503 (ingress-nginx leaves them unprotected); clients must answer for auth-realm, not any realm of the Secret's lines; there is no lockout after failed attempts (auth_digest_maxtries); the challenge writes algorithm and stale unquoted, as RFC 7616 does."},
		{name: "auth-secret", fails: denyPaths, doc: "The Secret (name or namespace/name) with the users: htpasswd lines in its key auth (bcrypt, apr1/MD5, {SHA}, {SSHA} or SHA-256/512 crypt), or for digest htdigest lines (user:realm:hex MD5 of user:realm:password; lines of other realms are reported). Missing, unreadable or empty: the paths answer 503. A change of the Secret applies without rebuilding routes.",
			differs: "Plain-text passwords and DES crypt are not accepted; such lines are reported and their users cannot sign in."},
		{name: "auth-secret-type", fails: denyPaths, doc: "auth-file (default: htpasswd or htdigest lines under key auth) or auth-map (each key a user, its value the hash, for digest realm:hash)."},
		{name: "auth-realm", fails: ignoreIngress, doc: "The realm of WWW-Authenticate. Default: none (an empty realm); digest needs one."},
	},
	parse: func(r *reader, c *ingressConfig) {
		b := &c.basicAuth
		if v, ok := r.value("auth-type"); ok {
			switch v {
			case "basic":
				b.on = true
			case "digest":
				b.on, b.digest = true, true
			default:
				r.invalid("auth-type", fmt.Errorf("invalid value %s: want basic or digest", quoted(v)))
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
		if b.digest && b.realm == "" {
			// The digest module of ingress-nginx turns itself off
			// without a realm, serving the paths unprotected.
			r.fail("auth-type", denyPaths, "digest needs auth-realm")
			b.on = false
			return
		}
		name, s, err := t.secretFor(r.ing, b.secret)
		var users *AuthSecret
		if err == nil {
			users, err = t.authSecret(name, s, b.secretType, b.digest, func(reason string) { r.warn("auth-secret", reason) })
		}
		if err != nil {
			r.fail("auth-secret", denyPaths, err.Error())
			b.on = false
			return
		}
		if b.digest {
			if n := users.otherRealms(b.realm); n > 0 {
				r.warn("auth-secret", fmt.Sprintf("secret %s: %d of its lines are of another realm than auth-realm %s; those users cannot sign in here", name, n, quoted(b.realm)))
			}
		}
		b.secret = users.Secret
		t.authSecrets[users.Secret] = users
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		if b := &c.basicAuth; b.on {
			p.access.basicAuth = basicAuth{secret: b.secret, realm: b.realm, digest: b.digest}
		}
	},
}

// basicAuth is the user and password check of a path.
type basicAuth struct {
	secret, realm string
	// digest asks by HTTP Digest authentication rather than basic.
	digest bool
}

// authSecret reads the htpasswd lines of a Secret, or its htdigest lines
// when digest is set; bad lines are reported through warn and left out.
func (t *translation) authSecret(name string, s *corev1.Secret, secretType string, digest bool, warn func(string)) (*AuthSecret, error) {
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
	what := "htpasswd lines with a supported hash"
	if digest {
		key += "#digest"
		what = "htdigest lines (user:realm:hex MD5) or repeat a user of a realm"
	}
	sum := sha256.Sum256(lines)
	a := t.authSecrets[key]
	if a == nil {
		a = t.prev.authSecrets[key]
	}
	if a == nil || a.SHA256 != hex.EncodeToString(sum[:]) {
		a = &AuthSecret{Secret: key, SHA256: hex.EncodeToString(sum[:])}
		if digest {
			a.Digest, a.bad = parseHtdigest(lines)
		} else {
			users, err := htpasswd.NewFromReader(bytes.NewReader(lines), htpasswdParsers, func(error) { a.bad++ })
			if err != nil {
				return nil, fmt.Errorf("secret %s: %v", name, err)
			}
			a.Users = users
		}
	}
	if a.bad > 0 {
		warn(fmt.Sprintf("secret %s: %d of its lines are not %s; those users cannot sign in", name, a.bad, what))
	}
	return a, nil
}

// parseHtdigest reads htdigest lines, user:realm:HA1 with HA1 the hex MD5
// of user:realm:password, into users by realm and user. Blank lines and
// comments (#) are skipped; bad counts the other lines left out: those
// that are not htdigest lines, and repeats of a user of a realm (the
// first is kept). The user ends at the first colon and HA1 starts after
// the last one, so a realm may hold colons.
func parseHtdigest(lines []byte) (users map[string]map[string]string, bad int) {
	users = make(map[string]map[string]string)
	for line := range strings.Lines(string(lines)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		user, rest, _ := strings.Cut(line, ":")
		i := strings.LastIndexByte(rest, ':')
		if user == "" || i <= 0 || !isMD5Hex(rest[i+1:]) {
			bad++
			continue
		}
		realm, ha1 := rest[:i], strings.ToLower(rest[i+1:])
		if users[realm] == nil {
			users[realm] = make(map[string]string)
		}
		if _, dup := users[realm][user]; dup {
			bad++
			continue
		}
		users[realm][user] = ha1
	}
	return users, bad
}

// isMD5Hex reports whether s is an MD5 sum in hex.
func isMD5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// otherRealms counts the digest users of a that are not of realm.
func (a *AuthSecret) otherRealms(realm string) int {
	n := 0
	for r, users := range a.Digest {
		if r != realm {
			n += len(users)
		}
	}
	return n
}
