package integration

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"testing"
)

const digestRealm = "Staff only"

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// digestLines are htdigest lines of realm "Staff only" for users, each
// with the password secret.
func digestLines(users ...string) []string {
	lines := make([]string, len(users))
	for i, u := range users {
		lines[i] = u + ":" + digestRealm + ":" + md5Hex(u+":"+digestRealm+":secret")
	}
	return lines
}

var digestChallenge = regexp.MustCompile(`^Digest realm="Staff only", nonce="([^"]+)", qop="auth", algorithm=MD5(, stale=true)?$`)

// challengeNonce returns the nonce of r's Digest challenge.
func challengeNonce(r *response) (string, error) {
	v := r.header.Values("Www-Authenticate")
	if len(v) != 1 {
		return "", fmt.Errorf("WWW-Authenticate: got %q, want one challenge", v)
	}
	m := digestChallenge.FindStringSubmatch(v[0])
	if m == nil {
		return "", fmt.Errorf("WWW-Authenticate: got %q, want the form %s", v[0], digestChallenge)
	}
	return m[1], nil
}

// digestAuthorization is the answer of user with password pass to nonce
// for GET uri with nonce count nc, as RFC 7616 computes it.
func digestAuthorization(user, pass, nonce, uri string, nc int) http.Header {
	const cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	ha1 := md5Hex(user + ":" + digestRealm + ":" + pass)
	count := fmt.Sprintf("%08x", nc)
	response := md5Hex(ha1 + ":" + nonce + ":" + count + ":" + cnonce + ":auth:" + md5Hex("GET:"+uri))
	return http.Header{"Authorization": {fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s", response="%s"`,
		user, digestRealm, nonce, uri, count, cnonce, response)}}
}

// getDigest requests uri of host, answers the challenge as user with
// password pass, and returns the answer to that and its nonce.
func (c *client) getDigest(cp *caddyProcess, host, uri, user, pass string) (*response, string, error) {
	url := httpURL(cp, host, uri)
	r, err := c.get(url)
	if err != nil {
		return nil, "", err
	}
	if r.status != http.StatusUnauthorized {
		return nil, "", fmt.Errorf("GET %s without credentials: got %d, want 401", url, r.status)
	}
	nonce, err := challengeNonce(r)
	if err != nil {
		return nil, "", err
	}
	r, err = c.getWithHeader(url, digestAuthorization(user, pass, nonce, uri, 1))
	return r, nonce, err
}

// TestDigestAuth: a digest user signs in over a real socket, the backend
// never sees the credentials, a nonce serves the next nonce count but not
// the same one again, a wrong password gets 401 with a new challenge, and
// a change of the Secret applies live.
func TestDigestAuth(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "web")
	dir := t.TempDir()
	const host, uri = "digest.example.com", "/private?x=1"
	writeIngresses(t, dir, routingIngress{name: "private", host: host, paths: root("web"),
		annotations: nginxAnnotations("auth-type", "digest", "auth-secret", "users", "auth-realm", digestRealm)})
	writeManifest(t, dir, "web.yaml", serviceWithEndpoints("web", be))
	writeManifest(t, dir, "users.yaml", authSecretYAML("users", digestLines("alice", "bob")))
	c := startCaddy(t, dir)
	cl := newClient(nil)
	url := httpURL(c, host, uri)

	r, nonce, err := cl.getDigest(c, host, uri, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || r.body != be.name {
		t.Fatalf("alice: got %d %q, want 200 from %s", r.status, r.body, be.name)
	}
	if v, ok := r.header["X-Seen-Header-Authorization"]; ok {
		t.Errorf("alice: backend got Authorization %q, want none", v)
	}
	if r.header.Get("Authentication-Info") == "" {
		t.Error("alice: got no Authentication-Info, want one")
	}

	checks := []struct {
		name       string
		header     http.Header
		wantStatus int
	}{
		{name: "next nonce count", header: digestAuthorization("alice", "secret", nonce, uri, 2), wantStatus: http.StatusOK},
		{name: "replayed nonce count", header: digestAuthorization("alice", "secret", nonce, uri, 2), wantStatus: http.StatusUnauthorized},
		{name: "wrong password", header: digestAuthorization("alice", "guess", nonce, uri, 3), wantStatus: http.StatusUnauthorized},
		{name: "unknown user", header: digestAuthorization("mallory", "secret", nonce, uri, 4), wantStatus: http.StatusUnauthorized},
		{name: "answer for another uri", header: digestAuthorization("alice", "secret", nonce, "/other", 5), wantStatus: http.StatusUnauthorized},
		{name: "basic", header: http.Header{"Authorization": {"Basic YWxpY2U6c2VjcmV0"}}, wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range checks {
		t.Run(tt.name, func(t *testing.T) {
			r, err := cl.getWithHeader(url, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.wantStatus {
				t.Fatalf("got %d %q, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				return
			}
			if got := r.header.Get("X-Backend"); got != "" {
				t.Errorf("X-Backend: got %q, want none", got)
			}
			if n, err := challengeNonce(r); err != nil {
				t.Error(err)
			} else if n == nonce {
				t.Errorf("challenge: got the nonce answered, want a new one")
			}
		})
	}

	// Rotation: alice goes, bob stays.
	writeManifest(t, dir, "users.yaml", authSecretYAML("users", digestLines("bob")))
	eventually(t, "alice is refused", func() error {
		r, _, err := cl.getDigest(c, host, uri, "alice", "secret")
		if err == nil && r.status != http.StatusUnauthorized {
			err = fmt.Errorf("alice: got %d, want 401", r.status)
		}
		return err
	})
	if r, _, err := cl.getDigest(c, host, uri, "bob", "secret"); err != nil {
		t.Error(err)
	} else if r.status != http.StatusOK {
		t.Errorf("bob: got %d, want 200", r.status)
	}
}
