package ingress

import "testing"

func TestProxyRewriteAnnotations(t *testing.T) {
	want := func(want proxyRewriteConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) proxyRewriteConfig { return c.proxyRewrite }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "redirect", annotations: nginx("proxy-redirect-from", "http://a/", "proxy-redirect-to", "https://b/"), check: want(proxyRewriteConfig{redirectFrom: "http://a/", redirectTo: "https://b/"})},
		{name: "redirect off", annotations: nginx("proxy-redirect-from", "off", "proxy-redirect-to", "https://b/"), check: want(proxyRewriteConfig{})},
		{name: "redirect default", annotations: nginx("proxy-redirect-from", "default"), check: want(proxyRewriteConfig{})},
		{name: "redirect to off", annotations: nginx("proxy-redirect-from", "http://a/", "proxy-redirect-to", "off"), check: want(proxyRewriteConfig{})},
		{name: "redirect without to", annotations: nginx("proxy-redirect-from", "http://a/"), check: want(proxyRewriteConfig{}), wantProblem: "no effect"},
		{name: "redirect to without from", annotations: nginx("proxy-redirect-to", "http://a/"), check: want(proxyRewriteConfig{}), wantProblem: "no effect"},
		{name: "redirect invalid", annotations: nginx("proxy-redirect-from", "http://a b/", "proxy-redirect-to", "/"), check: want(proxyRewriteConfig{}), wantProblem: "invalid value"},
		{name: "cookie path", annotations: nginx("proxy-cookie-path", "/ /app"), check: want(proxyRewriteConfig{cookiePathFrom: "/", cookiePathTo: "/app"})},
		{name: "cookie domain", annotations: nginx("proxy-cookie-domain", "a.internal  b.example.com"), check: want(proxyRewriteConfig{cookieDomainFrom: "a.internal", cookieDomainTo: "b.example.com"})},
		{name: "cookie domain off", annotations: nginx("proxy-cookie-domain", "off"), check: want(proxyRewriteConfig{})},
		{name: "cookie one token", annotations: nginx("proxy-cookie-path", "/"), check: want(proxyRewriteConfig{}), wantProblem: "invalid value"},
		{name: "cookie regex", annotations: nginx("proxy-cookie-domain", "~^(.*)$ b"), check: want(proxyRewriteConfig{}), wantProblem: "invalid value"},
		{name: "cookie attribute injection", annotations: nginx("proxy-cookie-path", "/ /;Secure"), check: want(proxyRewriteConfig{}), wantProblem: "invalid value"},
	})
}
