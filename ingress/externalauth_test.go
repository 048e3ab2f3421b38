package ingress

import (
	"strings"
	"testing"
)

func TestExternalAuthAnnotations(t *testing.T) {
	ea := func(want externalAuth) func(*ingressConfig) string {
		return is(func(c *ingressConfig) externalAuth {
			if c.extAuth == nil {
				return externalAuth{}
			}
			return *c.extAuth
		}, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "oauth2-proxy", annotations: nginx("auth-url", "https://$host/oauth2/auth", "auth-signin", "https://$host/oauth2/start?rd=$escaped_request_uri", "auth-response-headers", "x-auth-request-user, X-Auth-Request-Email,"),
			check: ea(externalAuth{url: "https://$host/oauth2/auth", signin: "https://$host/oauth2/start?rd=$escaped_request_uri", redirectParam: "rd", responseHeaders: "X-Auth-Request-User,X-Auth-Request-Email"})},
		{name: "method GET is the default", annotations: nginx("auth-url", "http://auth/check", "auth-method", "GET"), check: ea(externalAuth{url: "http://auth/check", redirectParam: "rd"})},
		{name: "method", annotations: nginx("auth-url", "http://auth/check", "auth-method", "POST"), check: ea(externalAuth{url: "http://auth/check", method: "POST", redirectParam: "rd"})},
		{name: "cache with default duration", annotations: nginx("auth-url", "http://auth/check", "auth-cache-key", "$remote_addr"),
			check: ea(externalAuth{url: "http://auth/check", redirectParam: "rd", cacheKey: "$remote_addr", cacheDuration: "200 202 401 5m"})},
		{name: "cache durations", annotations: nginx("auth-url", "http://auth/check", "auth-cache-key", "$cookie_s", "auth-cache-duration", "200 1h 30m,401 10s"),
			check: ea(externalAuth{url: "http://auth/check", redirectParam: "rd", cacheKey: "$cookie_s", cacheDuration: "200 1h 30m|401 10s"})},
		{name: "always set cookie", annotations: nginx("auth-url", "http://auth/check", "auth-always-set-cookie", "true"), check: ea(externalAuth{url: "http://auth/check", redirectParam: "rd", alwaysSetCookie: true})},
		{name: "url without scheme fails closed", annotations: nginx("auth-url", "auth.example.com/check"), wantProblem: "want an http or https URL", wantFail: "denied"},
		{name: "url with user info fails closed", annotations: nginx("auth-url", "http://user@auth/check"), wantProblem: "want an http or https URL", wantFail: "denied"},
		{name: "url with spaces fails closed", annotations: nginx("auth-url", "http://auth/check me"), wantProblem: "want an http or https URL", wantFail: "denied"},
		{name: "url with a placeholder fails closed", annotations: nginx("auth-url", "http://{http.request.host}/check"), wantProblem: "brace", wantFail: "denied"},
		{name: "unknown variable fails closed", annotations: nginx("auth-url", "http://auth/check?$request_body"), wantProblem: "unknown variable", wantFail: "denied"},
		{name: "bad method fails closed", annotations: nginx("auth-url", "http://auth/check", "auth-method", "get"), wantProblem: "HTTP method", wantFail: "denied"},
		{name: "bad response header fails closed", annotations: nginx("auth-url", "http://auth/check", "auth-response-headers", "X-A,X:B"), wantProblem: "invalid header name", wantFail: "denied"},
		{name: "bad cache duration fails closed", annotations: nginx("auth-url", "http://auth/check", "auth-cache-key", "$host", "auth-cache-duration", "200"), wantProblem: "no duration", wantFail: "denied"},
		{name: "bad signin is left out", annotations: nginx("auth-url", "http://auth/check", "auth-signin", "/login"), wantProblem: "want an http or https URL",
			check: ea(externalAuth{url: "http://auth/check", redirectParam: "rd"})},
		{name: "companion without auth-url", annotations: nginx("auth-signin", "https://login/"), wantProblem: "no effect without auth-url"},
		{name: "proxy-set-headers ConfigMap missing fails closed", annotations: nginx("auth-url", "http://auth/check", "auth-proxy-set-headers", "auth-headers"), wantProblem: "configmap default/auth-headers not found", wantFail: "denied"},
		{name: "proxy-set-headers ConfigMap of another namespace fails closed", annotations: nginx("auth-url", "http://auth/check", "auth-proxy-set-headers", "other/auth-headers"), wantProblem: "another namespace", wantFail: "denied"},
		{name: "satisfy any", annotations: nginx("satisfy", "any"), check: is(func(c *ingressConfig) bool { return c.satisfyAny }, true)},
		{name: "satisfy invalid keeps all", annotations: nginx("satisfy", "some"), wantProblem: "want any or all", check: is(func(c *ingressConfig) bool { return c.satisfyAny }, false)},
		{name: "global auth off", annotations: nginx("enable-global-auth", "false"), check: is(func(c *ingressConfig) bool { return c.noGlobalAuth }, true)},
	})
}

func TestCheckGlobalAuth(t *testing.T) {
	for _, tt := range []struct {
		auth ExternalAuth
		want string
	}{
		{ExternalAuth{URL: "https://auth.example.com/check", Method: "POST", CacheKey: "$cookie_s"}, ""},
		{ExternalAuth{URL: "ldap://auth"}, "url: invalid URL"},
		{ExternalAuth{URL: "http://auth", Method: "FETCH"}, "method: invalid value"},
		{ExternalAuth{URL: "http://auth", SigninRedirectParam: "a b"}, "signin_redirect_param: invalid value"},
	} {
		err := CheckGlobalAuth(&tt.auth)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.auth, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: got %v, want %q", tt.auth, err, tt.want)
		}
	}
}

// TestAuthURLCredentialsNotQuoted: a URL with a user and password is
// refused, and the error (a problem, logged and shown by the status API)
// does not hold them.
func TestAuthURLCredentialsNotQuoted(t *testing.T) {
	for _, v := range []string{
		"https://user:s3cret@auth.example.com/check",
		"https://user:s3cret@auth.example.com/check?x=<bad>",
		"http://s3cret@auth.example.com",
	} {
		err := checkURLTemplate(v)
		if err == nil {
			t.Errorf("%s: no error", v)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error holds the credentials: %v", v, err)
		}
		if !strings.Contains(err.Error(), "auth.example.com") {
			t.Errorf("%s: the error does not name the host: %v", v, err)
		}
	}
}
