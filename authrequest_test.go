package caddyingress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func TestAuthClientGuard(t *testing.T) {
	c := &authClient{dialGuard: dialGuard{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}}
	c.get()
	c.local[netip.MustParseAddr("192.0.2.7")] = true
	for addr, want := range map[string]string{
		"127.0.0.1":       "loopback",
		"127.0.0.2":       "",
		"::1":             "loopback",
		"0.0.0.0":         "unspecified address",
		"::":              "unspecified address",
		"169.254.169.254": "link-local",
		"fe80::1":         "link-local",
		"224.0.0.1":       "link-local",
		"239.1.1.1":       "multicast",
		"192.0.2.7":       "an address of this host",
		"10.1.2.3":        "",
		"2001:db8::1":     "",
	} {
		if got := c.refused(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: got %q, want %q", addr, got, want)
		}
	}
	if err := c.control("tcp4", "127.0.0.1:2019", nil); err == nil {
		t.Error("control let 127.0.0.1:2019 through")
	}
	if err := c.control("tcp6", "[::ffff:127.0.0.1]:2019", nil); err == nil {
		t.Error("control let an IPv4-mapped loopback address through")
	}
	if err := c.control("tcp4", "10.0.0.1:80", nil); err != nil {
		t.Errorf("control refused 10.0.0.1:80: %v", err)
	}
}

func authTestRequest(target string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RequestURI = r.URL.RequestURI() // as a server sees it
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "203.0.113.5"}))
}

func TestURLTemplates(t *testing.T) {
	r := authTestRequest("http://App.Example.com:8080/a/b%20c?x=1&y=2")
	r.Header.Set("X-Tenant", "acme")
	r.AddCookie(&http.Cookie{Name: "session", Value: "s1"})
	for tmpl, want := range map[string]string{
		"https://$host/oauth2/auth":                 "https://app.example.com/oauth2/auth",
		"http://auth/check?h=$http_host":            "http://auth/check?h=App.Example.com:8080",
		"http://auth/?rd=$escaped_request_uri":      "http://auth/?rd=%2Fa%2Fb%2520c%3Fx%3D1%26y%3D2",
		"http://auth$request_uri":                   "http://auth/a/b%20c?x=1&y=2",
		"http://auth/$scheme/$uri?$args":            "http://auth/http//a/b c?x=1&y=2",
		"http://auth/${remote_addr}/$http_x_tenant": "http://auth/203.0.113.5/acme",
		"http://auth/?s=$cookie_session&x=$arg_x":   "http://auth/?s=s1&x=1",
	} {
		parts, err := ingress.ParseURLTemplate(tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		if got := expand(parts, r); got != want {
			t.Errorf("%s: got %q, want %q", tmpl, got, want)
		}
	}
}

func TestSigninURL(t *testing.T) {
	r := authTestRequest("http://app.example.com/dash?tab=1")
	for _, tt := range []struct{ signin, param, want string }{
		{"https://login.example.com/start", "rd", "https://login.example.com/start?rd=http://app.example.com%2Fdash%3Ftab%3D1"},
		{"https://login.example.com/start?client=web", "next", "https://login.example.com/start?client=web&next=http://app.example.com%2Fdash%3Ftab%3D1"},
		{"https://$host/oauth2/start?rd=$escaped_request_uri", "rd", "https://app.example.com/oauth2/start?rd=%2Fdash%3Ftab%3D1"},
	} {
		parts, err := ingress.ParseURLTemplate(tt.signin)
		if err != nil {
			t.Fatal(err)
		}
		h := &AuthRequest{signin: parts, RedirectParam: tt.param}
		if got := h.signinURL(r); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.signin, got, tt.want)
		}
	}
}

func TestParseCacheDurations(t *testing.T) {
	got, err := parseCacheDurations([]string{"200 202 1h 30m", "401 10s", "5m"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]time.Duration{200: 90 * time.Minute, 202: 90 * time.Minute, 401: 10 * time.Second, 301: 5 * time.Minute, 302: 5 * time.Minute}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%d: got %v, want %v", k, got[k], v)
		}
	}
	for _, bad := range []string{"200", "200 5x", "5m 200"} {
		if _, err := parseCacheDurations([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestAuthCacheBounded(t *testing.T) {
	var c authCache
	now := time.Now()
	a := &authAnswer{status: 200}
	for i := 0; i < 3*maxAuthCache; i++ {
		c.put(string(rune(i)), a, now.Add(time.Hour))
	}
	if n := len(c.answers); n > maxAuthCache {
		t.Errorf("cache holds %d answers, want at most %d", n, maxAuthCache)
	}
	c.put("k", a, now.Add(time.Minute))
	if c.get("k", now) != a || c.get("k", now.Add(2*time.Minute)) != nil {
		t.Error("an answer is not served until it expires, or is served after")
	}
}

// fakeCheck passes or refuses with a status.
type fakeCheck struct {
	status int
	called *int
}

func (f fakeCheck) check(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *refusal) {
	*f.called++
	if f.status == 0 {
		return w, r, nil
	}
	return nil, nil, &refusal{status: f.status, header: http.Header{"X-Refused-By": {http.StatusText(f.status)}}, err: errors.New("no")}
}

func TestSatisfyAny(t *testing.T) {
	for _, tt := range []struct {
		name     string
		statuses []int
		want     int // 0: passed
		calls    int
	}{
		{"first passes", []int{0, 401}, 0, 1},
		{"last passes", []int{403, 401, 0}, 0, 3},
		{"credentials asked for win over forbidden", []int{403, 401, 403}, 401, 3},
		{"all forbidden", []int{403, 403}, 403, 2},
		{"a failure ends it", []int{403, 500, 0}, 500, 2},
		{"a redirect to sign in counts as asking", []int{403, 302}, 302, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			h := &SatisfyAny{}
			for _, s := range tt.statuses {
				h.checks = append(h.checks, fakeCheck{status: s, called: &calls})
			}
			w := httptest.NewRecorder()
			passed := false
			err := h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil), caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
				passed = true
				return nil
			}))
			got := 0
			var he caddyhttp.HandlerError
			switch {
			case passed:
			case errors.As(err, &he):
				got = he.StatusCode
			default:
				got = w.Code
			}
			if got != tt.want || calls != tt.calls {
				t.Errorf("got %d after %d checks, want %d after %d", got, calls, tt.want, tt.calls)
			}
			if tt.want != 0 && w.Header().Get("X-Refused-By") != http.StatusText(tt.want) {
				t.Errorf("headers %v: want those of the %d refusal", w.Header(), tt.want)
			}
		})
	}
}
