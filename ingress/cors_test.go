package ingress

import "testing"

func TestCORSAnnotations(t *testing.T) {
	cors := func(want corsPolicy) func(*ingressConfig) string {
		return is(func(c *ingressConfig) corsPolicy { return c.cors }, want)
	}
	def := corsPolicy{on: true, origins: "*", methods: corsDefaultMethods, headers: corsDefaultHeaders, credentials: true, maxAge: corsDefaultMaxAge}
	with := func(f func(*corsPolicy)) corsPolicy { p := def; f(&p); return p }
	runAnnotationCases(t, []annotationCase{
		{name: "defaults", annotations: nginx("enable-cors", "true"), check: cors(def)},
		{name: "origins", annotations: nginx("enable-cors", "true", "cors-allow-origin", "https://b.example.com, HTTPS://*.Example.com,http://localhost:3000"),
			check: cors(with(func(p *corsPolicy) { p.origins = "http://localhost:3000,https://*.example.com,https://b.example.com" }))},
		{name: "any star allows all", annotations: nginx("enable-cors", "true", "cors-allow-origin", "https://a.example.com, *"), check: cors(def)},
		{name: "origin without scheme left out", annotations: nginx("enable-cors", "true", "cors-allow-origin", "a.example.com, tauri://localhost"),
			check: cors(with(func(p *corsPolicy) { p.origins = "tauri://localhost" })), wantProblem: "left out"},
		{name: "everything", annotations: nginx("enable-cors", "true", "cors-allow-methods", "GET, POST", "cors-allow-headers", "X-Custom, Content-Type",
			"cors-expose-headers", "X-Total", "cors-allow-credentials", "false", "cors-max-age", "60"),
			check: cors(with(func(p *corsPolicy) {
				p.methods, p.headers, p.expose, p.credentials, p.maxAge = "GET, POST", "X-Custom, Content-Type", "X-Total", false, 60
			}))},
		{name: "invalid methods keep the default", annotations: nginx("enable-cors", "true", "cors-allow-methods", "GET;DROP"), check: cors(def), wantProblem: "invalid value"},
		{name: "invalid headers keep the default", annotations: nginx("enable-cors", "true", "cors-allow-headers", "X-A: 1"), check: cors(def), wantProblem: "invalid value"},
	})
}
