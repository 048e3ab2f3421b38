package ingress

import "testing"

func TestAffinityAnnotations(t *testing.T) {
	aff := func(want affinityConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) affinityConfig { return c.affinity }, want)
	}
	def := affinityConfig{mode: "balanced", name: "INGRESSCOOKIE"}
	on := def
	on.on = true
	full := affinityConfig{on: true, mode: "persistent", name: "route", path: "/app", domain: ".example.com", maxAge: 3600, expires: 60,
		sameSite: "None", conditionalSameSiteNone: true, secure: true, changeOnFailure: true}
	runAnnotationCases(t, []annotationCase{
		{name: "off", check: aff(affinityConfig{})},
		{name: "cookie", annotations: nginx("affinity", "cookie"), check: aff(on)},
		{name: "everything", annotations: nginx("affinity", "cookie", "affinity-mode", "persistent", "session-cookie-name", "route",
			"session-cookie-path", "/app", "session-cookie-domain", ".example.com", "session-cookie-max-age", "3600",
			"session-cookie-expires", "60", "session-cookie-samesite", "none", "session-cookie-conditional-samesite-none", "true",
			"session-cookie-secure", "true", "session-cookie-change-on-failure", "true"), check: aff(full)},
		{name: "unknown type", annotations: nginx("affinity", "ip"), check: aff(def), wantProblem: "invalid value"},
		{name: "invalid name", annotations: nginx("affinity", "cookie", "session-cookie-name", "a b"), check: aff(on), wantProblem: "invalid value"},
		{name: "attribute injection", annotations: nginx("affinity", "cookie", "session-cookie-path", "/;Domain=evil.com"), check: aff(on), wantProblem: "invalid value"},
		{name: "invalid max-age", annotations: nginx("affinity", "cookie", "session-cookie-max-age", "1h"), check: aff(on), wantProblem: "invalid value"},
		{name: "cookie settings without affinity", annotations: nginx("session-cookie-name", "x"), wantProblem: "no effect without affinity"},
		{name: "hash accepted", annotations: nginx("affinity", "cookie", "session-cookie-hash", "sha1"), check: aff(on)},
		{name: "hash alone", annotations: nginx("session-cookie-hash", "md5")},
		{name: "unknown hash", annotations: nginx("affinity", "cookie", "session-cookie-hash", "sha256"), check: aff(on), wantProblem: "no effect either way"},
	})
	for _, tt := range []struct{ path, sitePath, want string }{
		{"", "/shop", "/shop"}, {"", "", "/"}, {"", "/api(/|$)(.*)", "/"}, {"/x", "/shop", "/x"},
	} {
		var p plan
		affinityFamily.plan(&ingressConfig{affinity: affinityConfig{on: true, name: "c", path: tt.path}}, &site{path: tt.sitePath, opts: &Options{}}, &p)
		if p.proxy.affinity.Path != tt.want {
			t.Errorf("path %q at %q: got %q, want %q", tt.path, tt.sitePath, p.proxy.affinity.Path, tt.want)
		}
	}
}
