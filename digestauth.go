package caddyingress

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(DigestAuth{})
}

// DigestAuth asks for a user and password by HTTP Digest authentication
// (RFC 7616 with MD5 and qop auth, what ingress-nginx's
// nginx-http-auth-digest module speaks), checked against the htdigest
// users of a Secret, read from the ingress app's current state on every
// request, so that a change of users needs no new routes. A request that
// passes goes on without its Authorization header, as ingress-nginx sends
// it, and its response carries Authentication-Info.
//
// Nonces are as the module's defaults make them: a challenge's nonce
// serves for 60 s until it is first used, then for 10 s more, and for
// nonce counts 1 to 19, each once; a valid answer with a nonce past that
// gets a new challenge with stale=true, which clients answer without
// asking the user again. Nonces carry their issue time under an HMAC with
// a key drawn when the process starts, so they are checked without state,
// outlive config reloads, and are not valid on another replica; the nonce
// counts used are remembered for up to 65536 nonces at once, the
// requests beyond that answer 503 until some expire.
type DigestAuth struct {
	// Secret names the users, as Result.AuthSecrets does. Required.
	Secret string `json:"secret"`
	// Realm is the realm of WWW-Authenticate. Required: only users of
	// this realm sign in, and clients must answer for it. It may not
	// hold quotes, backslashes or control characters.
	Realm string `json:"realm"`

	app    *App
	nonces *digestNonces
}

// Digest parameters, as the module's defaults have them (auth_digest_timeout,
// auth_digest_expires, auth_digest_replays).
const (
	// digestTimeout is how long a nonce serves until its first use.
	digestTimeout = 60 * time.Second
	// digestExpires is how long a nonce serves after its first use.
	digestExpires = 10 * time.Second
	// digestReplays bounds the nonce counts of a nonce: 1 to 19.
	digestReplays = 20
	// digestSessions bounds the nonces whose counts are remembered.
	digestSessions = 1 << 16
)

// processNonces issues and checks the nonces of every DigestAuth of the
// process.
var processNonces = newDigestNonces(digestSessions)

// CaddyModule returns the Caddy module information.
func (DigestAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.DigestAuthModule,
		New: func() caddy.Module { return new(DigestAuth) },
	}
}

// Provision finds the ingress app.
func (h *DigestAuth) Provision(ctx caddy.Context) error {
	if h.Secret == "" {
		return fmt.Errorf("secret is required")
	}
	if h.Realm == "" {
		return fmt.Errorf("realm is required")
	}
	if strings.ContainsFunc(h.Realm, func(r rune) bool { return r < ' ' || r == 0x7f || r == '"' || r == '\\' }) {
		return fmt.Errorf("realm %q: quotes, backslashes and control characters are not allowed", h.Realm)
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	h.app = app.(*App)
	h.nonces = processNonces
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *DigestAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return serveChecked(h, w, r, next)
}

func (h *DigestAuth) check(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *refusal) {
	users, f := authUsers(h.app, r, h.Secret)
	if f != nil {
		return nil, nil, f
	}
	now := time.Now()
	c, err := parseDigestCredentials(r.Header.Get("Authorization"))
	if err != nil {
		return nil, nil, h.challenge(now, false, err)
	}
	if c.realm != h.Realm {
		return nil, nil, h.challenge(now, false, fmt.Errorf("credentials for realm %q", c.realm))
	}
	if !digestURIMatches(c.uri, requestURI(r)) {
		return nil, nil, h.challenge(now, false, errors.New("credentials for another URI"))
	}
	id, issued, ok := h.nonces.open(c.nonce, h.Realm)
	if !ok {
		return nil, nil, h.challenge(now, false, errors.New("nonce not issued here"))
	}
	ha1, known := users.Digest[h.Realm][c.username]
	if !known {
		ha1 = strings.Repeat("0", 32) // as much work for unknown users
	}
	want := digestResponse(ha1, c, r.Method+":"+c.uri)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.response))) != 1 || !known {
		return nil, nil, h.challenge(now, false, errors.New("no valid user and password"))
	}
	switch h.nonces.use(id, issued, c.count, now) {
	case nonceStale:
		return nil, nil, h.challenge(now, true, errors.New("stale nonce"))
	case nonceReused:
		return nil, nil, h.challenge(now, false, fmt.Errorf("nonce count %s used before", c.nc))
	case nonceFull:
		return nil, nil, &refusal{status: http.StatusServiceUnavailable, err: fmt.Errorf("%s: too many digest nonces in use", h.Secret)}
	}
	r.Header.Del("Authorization")
	w.Header().Set("Authentication-Info", "qop=auth, rspauth=\""+digestResponse(ha1, c, ":"+c.uri)+
		"\", cnonce="+quoteDigest(c.cnonce)+", nc="+c.nc)
	return w, r, nil
}

// challenge is the refusal that asks for credentials with a new nonce.
func (h *DigestAuth) challenge(now time.Time, stale bool, err error) *refusal {
	v := `Digest realm="` + h.Realm + `", nonce="` + h.nonces.issue(h.Realm, now) + `", qop="auth", algorithm=MD5`
	if stale {
		v += ", stale=true"
	}
	return &refusal{status: http.StatusUnauthorized, header: http.Header{"Www-Authenticate": {v}}, err: fmt.Errorf("%s: %w", h.Secret, err)}
}

// requestURI is the request target as the client sent it, before any
// rewrite.
func requestURI(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.RequestURI != "" {
		return orig.RequestURI
	}
	return r.RequestURI
}

// digestURIMatches reports whether the uri of credentials is the request
// target, or the target without its query (some clients leave it out, and
// the module accepts that).
func digestURIMatches(uri, target string) bool {
	return uri == target || strings.HasPrefix(target, uri) && target[len(uri)] == '?'
}

// digestResponse is KD(HA1, nonce:nc:cnonce:qop:H(a2)) with MD5: the
// response of credentials c for a2 (method:uri), or the rspauth of
// Authentication-Info for :uri.
func digestResponse(ha1 string, c *digestCredentials, a2 string) string {
	return md5Hex(ha1 + ":" + c.nonce + ":" + c.nc + ":" + c.cnonce + ":" + c.qop + ":" + md5Hex(a2))
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// digestCredentials are the parameters of a Digest Authorization header.
type digestCredentials struct {
	username, realm, nonce, uri, response, qop, nc, cnonce string
	// count is nc, a number from 1 to digestReplays-1.
	count int
}

// parseDigestCredentials reads a Digest Authorization header: every
// parameter the module requires (all but opaque), qop auth, algorithm MD5
// if given, nc in hex.
func parseDigestCredentials(header string) (*digestCredentials, error) {
	if header == "" {
		return nil, errors.New("no credentials")
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, errors.New("no digest credentials")
	}
	params, err := parseAuthParams(rest)
	if err != nil {
		return nil, fmt.Errorf("digest credentials: %w", err)
	}
	c := &digestCredentials{username: params["username"], realm: params["realm"], nonce: params["nonce"], uri: params["uri"],
		response: params["response"], qop: params["qop"], nc: params["nc"], cnonce: params["cnonce"]}
	for _, p := range []struct{ name, value string }{{"username", c.username}, {"realm", c.realm}, {"nonce", c.nonce}, {"uri", c.uri},
		{"response", c.response}, {"qop", c.qop}, {"nc", c.nc}, {"cnonce", c.cnonce}} {
		if p.value == "" {
			return nil, fmt.Errorf("digest credentials without %s", p.name)
		}
	}
	if c.qop != "auth" {
		return nil, fmt.Errorf("digest credentials with qop %q, want auth", c.qop)
	}
	if a, ok := params["algorithm"]; ok && !strings.EqualFold(a, "MD5") {
		return nil, fmt.Errorf("digest credentials with algorithm %q, want MD5", a)
	}
	n, err := strconv.ParseUint(c.nc, 16, 32)
	if err != nil || len(c.nc) > 8 || n == 0 {
		return nil, fmt.Errorf("digest credentials with nc %q, want 1 to 8 hex digits, not 0", c.nc)
	}
	c.count = int(min(n, digestReplays)) // digestReplays and more are stale
	return c, nil
}

// parseAuthParams reads a comma-separated list of auth-params (RFC 9110
// section 11.2): name=token or name="quoted string", names in any case and
// each once.
func parseAuthParams(s string) (map[string]string, error) {
	params := make(map[string]string)
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return params, nil
		}
		var name, value string
		name, s = cutToken(s)
		s = strings.TrimLeft(s, " \t")
		if name == "" || s == "" || s[0] != '=' {
			return nil, errors.New("malformed parameter")
		}
		s = strings.TrimLeft(s[1:], " \t")
		if s != "" && s[0] == '"' {
			var ok bool
			if value, s, ok = cutQuoted(s); !ok {
				return nil, errors.New("malformed quoted string")
			}
		} else if value, s = cutToken(s); value == "" {
			return nil, fmt.Errorf("parameter %s without a value", name)
		}
		name = strings.ToLower(name)
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("parameter %s repeated", name)
		}
		params[name] = value
		if s = strings.TrimLeft(s, " \t"); s != "" && s[0] != ',' {
			return nil, errors.New("malformed parameter list")
		}
	}
}

// cutToken splits a token (RFC 9110 tchar) off the start of s.
func cutToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && isTChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// cutQuoted splits a quoted string off the start of s (which starts with
// a quote), returning it unquoted; control characters other than tab are
// refused.
func cutQuoted(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), s[i+1:], true
		case c == '\\' && i+1 < len(s):
			i++
			c = s[i]
		}
		if c < ' ' && c != '\t' || c == 0x7f {
			return "", "", false
		}
		b.WriteByte(c)
	}
	return "", "", false
}

// quoteDigest quotes s as a quoted string.
func quoteDigest(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// digestNonces issues nonces and remembers, for the nonces in use, the
// nonce counts used. A nonce is 16 bytes of ID (issue time in Unix
// nanoseconds, then a sequence number) and 16 bytes of HMAC-SHA256 over
// the ID and realm, in unpadded base64url.
type digestNonces struct {
	key []byte
	seq atomic.Uint64
	// max bounds the nonces remembered.
	max int

	mu sync.Mutex
	// cur and old are the nonces first used since rotated, and in the
	// digestTimeout before: a nonce first used at t is remembered until
	// at least t+digestTimeout, when it has expired.
	cur, old map[[16]byte]digestSession
	rotated  time.Time
}

// digestSession is what is remembered of a nonce in use.
type digestSession struct {
	expires time.Time
	// used has bit n set when nonce count n was used.
	used uint32
}

func newDigestNonces(max int) *digestNonces {
	key := make([]byte, 32)
	rand.Read(key)
	return &digestNonces{key: key, max: max}
}

// issue returns a new nonce for realm.
func (d *digestNonces) issue(realm string, now time.Time) string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	binary.BigEndian.PutUint64(b[8:16], d.seq.Add(1))
	copy(b[16:], d.mac(b[:16], realm))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (d *digestNonces) mac(id []byte, realm string) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write(id)
	m.Write([]byte(realm))
	return m.Sum(nil)[:16]
}

// open returns the ID and issue time of nonce if d issued it for realm.
func (d *digestNonces) open(nonce, realm string) (id [16]byte, issued time.Time, ok bool) {
	var b [32]byte
	if len(nonce) != base64.RawURLEncoding.EncodedLen(len(b)) {
		return id, issued, false
	}
	if n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(nonce)); err != nil || n != len(b) {
		return id, issued, false
	}
	if !hmac.Equal(b[16:], d.mac(b[:16], realm)) {
		return id, issued, false
	}
	copy(id[:], b[:16])
	return id, time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

// nonceUse is what use decides.
type nonceUse int

const (
	nonceOK nonceUse = iota
	// nonceStale: the nonce served its time or its counts.
	nonceStale
	// nonceReused: the nonce count was used before (a replay).
	nonceReused
	// nonceFull: too many nonces are remembered to take another.
	nonceFull
)

// use records the use of nonce count count of the nonce id issued at
// issued, as the module does: until its first use a nonce serves for
// digestTimeout, then for digestExpires; each count serves once.
func (d *digestNonces) use(id [16]byte, issued time.Time, count int, now time.Time) nonceUse {
	if count >= digestReplays {
		return nonceStale
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rotate(now)
	m := d.cur
	s, ok := m[id]
	if !ok {
		if s, ok = d.old[id]; ok {
			m = d.old
		}
	}
	switch {
	case !ok:
		if age := now.Sub(issued); age < 0 || age >= digestTimeout {
			return nonceStale
		}
		if len(d.cur)+len(d.old) >= d.max {
			return nonceFull
		}
		s.expires = now.Add(digestExpires)
	case !now.Before(s.expires):
		return nonceStale
	case s.used&(1<<count) != 0:
		return nonceReused
	}
	s.used |= 1 << count
	m[id] = s
	return nonceOK
}

// rotate forgets the nonces first used before the last digestTimeout
// when one has passed since the last rotation.
func (d *digestNonces) rotate(now time.Time) {
	since := now.Sub(d.rotated)
	if d.cur != nil && since < digestTimeout {
		return
	}
	d.old = d.cur
	if since >= 2*digestTimeout {
		// Every nonce of cur was first used more than digestTimeout ago.
		d.old = nil
	}
	d.cur = make(map[[16]byte]digestSession)
	d.rotated = now
}

// Interface guards
var (
	_ caddy.Provisioner           = (*DigestAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*DigestAuth)(nil)
	_ accessCheck                 = (*DigestAuth)(nil)
)
