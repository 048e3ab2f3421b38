package ingress

import "testing"

func TestSSLRedirectAnnotations(t *testing.T) {
	ssl := func(want sslRedirectConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) sslRedirectConfig { return c.ssl }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "default", annotations: nil, check: ssl(sslRedirectConfig{redirect: true})},
		{name: "off", annotations: nginx("ssl-redirect", "false"), check: ssl(sslRedirectConfig{})},
		{name: "force", annotations: nginx("force-ssl-redirect", "1"), check: ssl(sslRedirectConfig{redirect: true, force: true})},
		{name: "preserve trailing slash", annotations: nginx("preserve-trailing-slash", "true"), check: ssl(sslRedirectConfig{redirect: true, preserveTrailingSlash: true})},
		{name: "invalid keeps the default", annotations: nginx("ssl-redirect", "nope"), check: ssl(sslRedirectConfig{redirect: true}), wantProblem: "invalid value"},
		{name: "acme", annotations: map[string]string{ownPrefix + "acme": "true"}, check: func(c *ingressConfig) string {
			if !c.acme {
				return "want acme"
			}
			return ""
		}},
	})
}

func TestSSLRedirectPlan(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sslRedirectConfig
		path    string
		hostTLS bool
		want    Redirect
	}{
		{name: "TLS host", cfg: sslRedirectConfig{redirect: true}, path: "/", hostTLS: true, want: Redirect{HTTPS: true, HTTPSPort: 8443}},
		{name: "host without TLS", cfg: sslRedirectConfig{redirect: true}, path: "/"},
		{name: "forced", cfg: sslRedirectConfig{force: true, preserveTrailingSlash: true}, path: "/", want: Redirect{HTTPS: true, HTTPSPort: 8443, PreserveTrailingSlash: true}},
		{name: "ACME challenges", cfg: sslRedirectConfig{force: true}, path: "/.well-known/acme-challenge/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p plan
			sslRedirectFamily.plan(&ingressConfig{ssl: tt.cfg}, &site{path: tt.path, hostTLS: tt.hostTLS, opts: &Options{HTTPSPort: 8443}}, &p)
			if p.redirect != tt.want {
				t.Errorf("got %+v, want %+v", p.redirect, tt.want)
			}
		})
	}
}
