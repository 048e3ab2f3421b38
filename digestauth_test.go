package caddyingress

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

const testDigestRealm = "Staff only"

func testMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newTestDigestAuth is a DigestAuth of realm "Staff only" for the users
// alice and bob (password secret), and carol of realm Other.
func newTestDigestAuth() *DigestAuth {
	app := new(App)
	app.setServed(func(s *served) {
		s.authSecrets = map[string]*ingress.AuthSecret{"default/users#digest": {Secret: "default/users#digest", Digest: map[string]map[string]string{
			testDigestRealm: {"alice": testMD5("alice:" + testDigestRealm + ":secret"), "bob": testMD5("bob:" + testDigestRealm + ":secret")},
			"Other":         {"carol": testMD5("carol:Other:secret")},
		}}}
	})
	return &DigestAuth{Secret: "default/users#digest", Realm: testDigestRealm, app: app, nonces: newDigestNonces(digestSessions)}
}

// digestAnswer is what a client answers to a challenge, computed as RFC
// 7616 says; empty fields take the defaults of answer.
type digestAnswer struct {
	user, pass, realm, nonce, uri, method, nc, cnonce, qop string
	// omit leaves a parameter out; algorithm, when set, is sent.
	omit, algorithm string
	// ha1, when set, is used instead of the MD5 of user:realm:pass.
	ha1 string
}

func (a digestAnswer) hashedPassword() string {
	if a.ha1 != "" {
		return a.ha1
	}
	return testMD5(a.user + ":" + a.realm + ":" + a.pass)
}

// header is the Authorization header of a.
func (a digestAnswer) header() string {
	ha1 := a.hashedPassword()
	response := testMD5(ha1 + ":" + a.nonce + ":" + a.nc + ":" + a.cnonce + ":" + a.qop + ":" + testMD5(a.method+":"+a.uri))
	params := []string{`username="` + a.user + `"`, `realm="` + a.realm + `"`, `nonce="` + a.nonce + `"`, `uri="` + a.uri + `"`,
		"qop=" + a.qop, "nc=" + a.nc, `cnonce="` + a.cnonce + `"`, `response="` + response + `"`}
	if a.algorithm != "" {
		params = append(params, "algorithm="+a.algorithm)
	}
	kept := params[:0]
	for _, p := range params {
		if a.omit == "" || !strings.HasPrefix(p, a.omit+"=") {
			kept = append(kept, p)
		}
	}
	return "Digest " + strings.Join(kept, ", ")
}

// rspauth is the Authentication-Info rspauth of a.
func (a digestAnswer) rspauth() string {
	ha1 := a.hashedPassword()
	return testMD5(ha1 + ":" + a.nonce + ":" + a.nc + ":" + a.cnonce + ":" + a.qop + ":" + testMD5(":"+a.uri))
}

// answer fills in alice's answer for GET /private?x=1 with nonce count 1.
func answer(a digestAnswer, nonce string) digestAnswer {
	set := func(f *string, v string) {
		if *f == "" {
			*f = v
		}
	}
	set(&a.user, "alice")
	set(&a.pass, "secret")
	set(&a.realm, testDigestRealm)
	set(&a.nonce, nonce)
	set(&a.uri, "/private?x=1")
	set(&a.method, http.MethodGet)
	set(&a.nc, "00000001")
	set(&a.cnonce, "0a4f113b")
	set(&a.qop, "auth")
	return a
}

var challengeFormat = regexp.MustCompile(`^Digest realm="([^"]*)", nonce="([A-Za-z0-9_-]{43})", qop="auth", algorithm=MD5(, stale=true)?$`)

// digestResult is how a handler answered a request.
type digestResult struct {
	status int
	// realm and nonce are the challenge's, and stale whether it says
	// stale=true.
	realm, nonce string
	stale        bool
	// info is Authentication-Info; sentAuth is whether the backend got
	// an Authorization header.
	info     string
	sentAuth bool
}

// serveDigest sends GET /private?x=1 with the Authorization header auth
// to h (which h answers on its own, or passes on to a backend).
func serveDigest(t *testing.T, h caddyhttp.MiddlewareHandler, auth string) digestResult {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/private?x=1", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	var res digestResult
	err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, res.sentAuth = r.Header["Authorization"]
		w.WriteHeader(http.StatusOK)
		return nil
	}))
	var he caddyhttp.HandlerError
	switch {
	case errors.As(err, &he):
		res.status = he.StatusCode
	case err != nil:
		t.Fatalf("got error %v, want a handler error or none", err)
	default:
		res.status = w.Code
	}
	res.info = w.Header().Get("Authentication-Info")
	if c := w.Header().Values("Www-Authenticate"); len(c) > 0 {
		m := challengeFormat.FindStringSubmatch(c[0])
		if len(c) != 1 || m == nil {
			t.Fatalf("WWW-Authenticate: got %q, want one of the form %s", c, challengeFormat)
		}
		res.realm, res.nonce, res.stale = m[1], m[2], m[3] != ""
	}
	return res
}

// challenge asks h for a nonce.
func challenge(t *testing.T, h caddyhttp.MiddlewareHandler) string {
	t.Helper()
	res := serveDigest(t, h, "")
	if res.status != http.StatusUnauthorized || res.nonce == "" || res.stale {
		t.Fatalf("no credentials: got %+v, want 401 with a challenge, not stale", res)
	}
	if d, ok := h.(*DigestAuth); ok && res.realm != d.Realm {
		t.Fatalf("challenge realm: got %q, want %q", res.realm, d.Realm)
	}
	return res.nonce
}

// TestDigestAuthAnswers: a correct answer to a fresh challenge passes
// without its Authorization header and with Authentication-Info; any
// other gets a new challenge, not stale.
func TestDigestAuthAnswers(t *testing.T) {
	other := newTestDigestAuth() // its nonces are not the handler's
	otherRealm := newTestDigestAuth()
	otherRealm.Realm = "Other"
	tests := []struct {
		name string
		a    digestAnswer
		// nonce, if set, returns the nonce answered instead of the
		// challenge's.
		nonce      func(t *testing.T) string
		wantStatus int
	}{
		{name: "alice", wantStatus: http.StatusOK},
		{name: "bob, nonce count in any case", a: digestAnswer{user: "bob", nc: "0000000A"}, wantStatus: http.StatusOK},
		{name: "uri without the query", a: digestAnswer{uri: "/private"}, wantStatus: http.StatusOK},
		{name: "algorithm MD5", a: digestAnswer{algorithm: "md5"}, wantStatus: http.StatusOK},
		{name: "wrong password", a: digestAnswer{pass: "guess"}, wantStatus: http.StatusUnauthorized},
		{name: "unknown user", a: digestAnswer{user: "mallory"}, wantStatus: http.StatusUnauthorized},
		{name: "unknown user with the stand-in hash", a: digestAnswer{user: "mallory", ha1: strings.Repeat("0", 32)}, wantStatus: http.StatusUnauthorized},
		{name: "user of another realm", a: digestAnswer{user: "carol", realm: "Other"}, wantStatus: http.StatusUnauthorized},
		{name: "wrong realm", a: digestAnswer{realm: "Other"}, wantStatus: http.StatusUnauthorized},
		{name: "other uri", a: digestAnswer{uri: "/other"}, wantStatus: http.StatusUnauthorized},
		{name: "uri prefix", a: digestAnswer{uri: "/priv"}, wantStatus: http.StatusUnauthorized},
		{name: "other method", a: digestAnswer{method: http.MethodPost}, wantStatus: http.StatusUnauthorized},
		{name: "nonce of another process", nonce: func(t *testing.T) string { return challenge(t, other) }, wantStatus: http.StatusUnauthorized},
		{name: "nonce of another realm", nonce: func(t *testing.T) string { return challenge(t, otherRealm) }, wantStatus: http.StatusUnauthorized},
		{name: "made-up nonce", nonce: func(*testing.T) string { return strings.Repeat("A", 43) }, wantStatus: http.StatusUnauthorized},
		{name: "no qop", a: digestAnswer{omit: "qop"}, wantStatus: http.StatusUnauthorized},
		{name: "no cnonce", a: digestAnswer{omit: "cnonce"}, wantStatus: http.StatusUnauthorized},
		{name: "qop auth-int", a: digestAnswer{qop: "auth-int"}, wantStatus: http.StatusUnauthorized},
		{name: "algorithm SHA-256", a: digestAnswer{algorithm: "SHA-256"}, wantStatus: http.StatusUnauthorized},
		{name: "nonce count 0", a: digestAnswer{nc: "00000000"}, wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestDigestAuth()
			nonce := challenge(t, h)
			if tt.nonce != nil {
				nonce = tt.nonce(t)
			}
			a := answer(tt.a, nonce)
			res := serveDigest(t, h, a.header())
			if res.status != tt.wantStatus {
				t.Fatalf("got %d, want %d", res.status, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				if res.nonce == "" || res.stale {
					t.Errorf("got %+v, want a new challenge, not stale", res)
				}
				return
			}
			if res.sentAuth {
				t.Error("backend got the Authorization header, want it removed")
			}
			want := fmt.Sprintf(`qop=auth, rspauth="%s", cnonce="%s", nc=%s`, a.rspauth(), a.cnonce, a.nc)
			if res.info != want {
				t.Errorf("Authentication-Info: got %q, want %q", res.info, want)
			}
		})
	}
}

// TestDigestAuthNonces: a nonce serves digestTimeout until its first use,
// then digestExpires, each nonce count once and below digestReplays; one
// past that gets a challenge with stale=true, whose nonce serves.
func TestDigestAuthNonces(t *testing.T) {
	use := func(t *testing.T, h *DigestAuth, nonce, nc string) digestResult {
		t.Helper()
		return serveDigest(t, h, answer(digestAnswer{nc: nc}, nonce).header())
	}
	passes := func(t *testing.T, res digestResult) {
		t.Helper()
		if res.status != http.StatusOK {
			t.Fatalf("got %+v, want 200", res)
		}
	}
	stale := func(t *testing.T, res digestResult, want bool) {
		t.Helper()
		if res.status != http.StatusUnauthorized || res.nonce == "" || res.stale != want {
			t.Fatalf("got %+v, want 401 with a challenge, stale %v", res, want)
		}
	}
	t.Run("counts serve once, in any order", func(t *testing.T) {
		h := newTestDigestAuth()
		nonce := challenge(t, h)
		passes(t, use(t, h, nonce, "00000002"))
		passes(t, use(t, h, nonce, "00000001"))
		stale(t, use(t, h, nonce, "00000002"), false)
		passes(t, use(t, h, nonce, "00000013"))
		stale(t, use(t, h, nonce, "00000014"), true)
	})
	t.Run("unused nonce goes stale", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newTestDigestAuth()
			a, b := challenge(t, h), challenge(t, h)
			time.Sleep(digestTimeout - time.Nanosecond)
			passes(t, use(t, h, a, "00000001"))
			time.Sleep(time.Nanosecond)
			res := use(t, h, b, "00000001")
			stale(t, res, true)
			passes(t, use(t, h, res.nonce, "00000001"))
		})
	})
	t.Run("used nonce goes stale", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newTestDigestAuth()
			passes(t, use(t, h, challenge(t, h), "00000001"))
			time.Sleep(digestTimeout - digestExpires)
			nonce := challenge(t, h)
			passes(t, use(t, h, nonce, "00000001"))
			time.Sleep(digestExpires - time.Nanosecond)
			passes(t, use(t, h, nonce, "00000002"))
			time.Sleep(time.Nanosecond)
			stale(t, use(t, h, nonce, "00000003"), true)
			// Still remembered after the nonces in use rotate, until
			// the nonce would be stale unused.
			time.Sleep(digestTimeout - digestExpires - time.Nanosecond)
			stale(t, use(t, h, nonce, "00000004"), true)
		})
	})
	t.Run("memory is bounded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newTestDigestAuth()
			h.nonces.max = 2
			passes(t, use(t, h, challenge(t, h), "00000001"))
			time.Sleep(digestTimeout)
			passes(t, use(t, h, challenge(t, h), "00000001"))
			if res := use(t, h, challenge(t, h), "00000001"); res.status != http.StatusServiceUnavailable {
				t.Fatalf("third nonce: got %+v, want 503", res)
			}
			time.Sleep(digestTimeout)
			passes(t, use(t, h, challenge(t, h), "00000001"))
			time.Sleep(2 * digestTimeout)
			passes(t, use(t, h, challenge(t, h), "00000001"))
			if n := len(h.nonces.cur) + len(h.nonces.old); n != 1 {
				t.Errorf("nonces remembered: got %d, want 1", n)
			}
		})
	})
}

// TestDigestAuthUsersLive: users come from the served state on every
// request; without them the path answers 503.
func TestDigestAuthUsersLive(t *testing.T) {
	h := newTestDigestAuth()
	h.app.setServed(func(s *served) {
		s.authSecrets = map[string]*ingress.AuthSecret{h.Secret: {Secret: h.Secret, Digest: map[string]map[string]string{
			testDigestRealm: {"alice": testMD5("alice:" + testDigestRealm + ":new")}}}}
	})
	if res := serveDigest(t, h, answer(digestAnswer{}, challenge(t, h)).header()); res.status != http.StatusUnauthorized {
		t.Errorf("old password: got %d, want 401", res.status)
	}
	if res := serveDigest(t, h, answer(digestAnswer{pass: "new"}, challenge(t, h)).header()); res.status != http.StatusOK {
		t.Errorf("new password: got %d, want 200", res.status)
	}
	h.app.setServed(func(s *served) { s.authSecrets = nil })
	if res := serveDigest(t, h, ""); res.status != http.StatusServiceUnavailable {
		t.Errorf("users not loaded: got %d, want 503", res.status)
	}
}

// TestDigestAuthSatisfyAny: with satisfy any, a client that no other
// check lets through is asked for digest credentials, and passes with
// them.
func TestDigestAuthSatisfyAny(t *testing.T) {
	h := newTestDigestAuth()
	satisfy := &SatisfyAny{checks: []accessCheck{&Access{}, h}} // Access refuses a request without a client address
	res := serveDigest(t, satisfy, "")
	if res.status != http.StatusUnauthorized || res.nonce == "" {
		t.Fatalf("no credentials: got %+v, want 401 with a challenge", res)
	}
	res = serveDigest(t, satisfy, answer(digestAnswer{}, res.nonce).header())
	if res.status != http.StatusOK || res.sentAuth || res.info == "" {
		t.Errorf("credentials: got %+v, want 200 with Authentication-Info and no Authorization sent on", res)
	}
}

func TestParseDigestCredentials(t *testing.T) {
	const full = `username="alice", realm="Staff only", nonce="n", uri="/a?b=c,d", qop=auth, nc=00000001, cnonce="c", response="r"`
	tests := []struct {
		name    string
		header  string
		want    *digestCredentials
		wantErr string
	}{
		{name: "full", header: "Digest " + full,
			want: &digestCredentials{username: "alice", realm: "Staff only", nonce: "n", uri: "/a?b=c,d", qop: "auth", nc: "00000001", cnonce: "c", response: "r", count: 1}},
		{name: "scheme in any case, names in any case, space around =, empty elements, quoted escapes, opaque",
			header: `digest  ,USERNAME = "al\"ice" ,, Realm="Staff only",nonce=n, uri="/a?b=c,d", qop="auth", nc=ff, cnonce=c, response=r, opaque="x" ,`,
			want:   &digestCredentials{username: `al"ice`, realm: "Staff only", nonce: "n", uri: "/a?b=c,d", qop: "auth", nc: "ff", cnonce: "c", response: "r", count: digestReplays}},
		{name: "no header", header: "", wantErr: "no credentials"},
		{name: "basic", header: "Basic YWxpY2U6c2VjcmV0", wantErr: "no digest credentials"},
		{name: "missing response", header: `Digest username="alice", realm="Staff only", nonce="n", uri="/", qop=auth, nc=1, cnonce="c"`, wantErr: "without response"},
		{name: "empty username", header: "Digest " + strings.Replace(full, `"alice"`, `""`, 1), wantErr: "without username"},
		{name: "repeated", header: "Digest " + full + `, realm="Other"`, wantErr: "repeated"},
		{name: "unterminated quote", header: `Digest username="alice`, wantErr: "quoted"},
		{name: "control character", header: "Digest username=\"al\x01ice\"", wantErr: "quoted"},
		{name: "no comma", header: `Digest username="alice" realm="x"`, wantErr: "list"},
		{name: "no value", header: `Digest username=, realm="x"`, wantErr: "without a value"},
		{name: "no name", header: `Digest ="x"`, wantErr: "malformed parameter"},
		{name: "nc too long", header: "Digest " + strings.Replace(full, "nc=00000001", "nc=000000001", 1), wantErr: "nc"},
		{name: "nc not hex", header: "Digest " + strings.Replace(full, "nc=00000001", "nc=0x1", 1), wantErr: "nc"},
		{name: "qop list", header: "Digest " + strings.Replace(full, "qop=auth", `qop="auth,auth-int"`, 1), wantErr: "qop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDigestCredentials(tt.header)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr == "" && *got != *tt.want:
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseDigestCredentials: parsing never panics; credentials it accepts
// have every required parameter, qop auth and a count in range, and their
// cnonce quotes back to itself.
func FuzzParseDigestCredentials(f *testing.F) {
	for _, seed := range []string{
		`Digest username="alice", realm="Staff only", nonce="n", uri="/", qop=auth, nc=00000001, cnonce="c", response="r"`,
		`Digest username="a\\\"", realm=r, nonce=n, uri=/, qop=auth, nc=ffffffff, cnonce="\"x\\", response=r, algorithm=MD5`,
		`Digest ,,, a="`, `Digest a=b c=d`, `Digest a="\`, "Digest a=\"\t\"", `Basic x`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c, err := parseDigestCredentials(header)
		if err != nil {
			return
		}
		if c.username == "" || c.realm == "" || c.nonce == "" || c.uri == "" || c.response == "" || c.cnonce == "" || c.qop != "auth" || c.count < 1 || c.count > digestReplays {
			t.Errorf("%q: got %+v, want every parameter, qop auth and a count from 1 to %d", header, c, digestReplays)
		}
		if v, rest, ok := cutQuoted(quoteDigest(c.cnonce)); !ok || v != c.cnonce || rest != "" {
			t.Errorf("cnonce %q: quoted and read back as %q, %q, %v", c.cnonce, v, rest, ok)
		}
	})
}
