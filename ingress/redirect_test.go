package ingress

import (
	"fmt"
	"testing"
)

func TestRedirectAnnotations(t *testing.T) {
	redirect := func(to string, code int, appRoot string) func(*ingressConfig) string {
		return func(c *ingressConfig) string {
			want := redirectConfig{appRoot: appRoot, to: to, code: code}
			if c.redirect != want {
				return fmt.Sprintf("got %+v, want %+v", c.redirect, want)
			}
			return ""
		}
	}
	runAnnotationCases(t, []annotationCase{
		{name: "permanent", annotations: nginx("permanent-redirect", "https://example.com/new"), check: redirect("https://example.com/new", 301, "")},
		{name: "permanent with code", annotations: nginx("permanent-redirect", "https://example.com", "permanent-redirect-code", "308"), check: redirect("https://example.com", 308, "")},
		{name: "permanent code out of range", annotations: nginx("permanent-redirect", "https://example.com", "permanent-redirect-code", "309"), check: redirect("https://example.com", 301, ""), wantProblem: "using 301"},
		{name: "permanent code not a number", annotations: nginx("permanent-redirect-code", "301s"), wantProblem: "want a number", wantFail: "ignored"},
		{name: "permanent relative", annotations: nginx("permanent-redirect", "/new"), check: redirect("/new", 301, "")},
		{name: "permanent bad characters", annotations: nginx("permanent-redirect", "https://example.com/%7Benv.HOME%7D"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "temporal", annotations: nginx("temporal-redirect", "http://example.com"), check: redirect("http://example.com", 302, "")},
		{name: "temporal code 308 is out of range", annotations: nginx("temporal-redirect", "http://example.com", "temporal-redirect-code", "308"), check: redirect("http://example.com", 302, ""), wantProblem: "using 302"},
		{name: "temporal wins", annotations: nginx("temporal-redirect", "http://t.example.com", "permanent-redirect", "http://p.example.com"), check: redirect("http://t.example.com", 302, "")},
		{name: "temporal not http", annotations: nginx("temporal-redirect", "ftp://example.com"), check: redirect("", 0, ""), wantProblem: "not redirecting"},
		{name: "app-root", annotations: nginx("app-root", "/app"), check: redirect("", 0, "/app")},
		{name: "relative-redirects invalid", annotations: nginx("permanent-redirect", "/new", "relative-redirects", "yes"), check: redirect("/new", 301, ""), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "app-root absolute URL", annotations: nginx("app-root", "http://example.com/app"), check: redirect("", 0, ""), wantProblem: "absolute path"},
		{name: "app-root variable", annotations: nginx("app-root", "/$host"), check: redirect("", 0, ""), wantProblem: "absolute path"},
	})
}

func TestRelativeRedirects(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        Redirect
	}{
		{name: "path made absolute by default", annotations: nginx("permanent-redirect", "/new"), want: Redirect{To: "/new", Code: 301}},
		{name: "path kept relative", annotations: nginx("permanent-redirect", "/new", "relative-redirects", "true"), want: Redirect{To: "/new", Code: 301, Relative: true}},
		{name: "false", annotations: nginx("permanent-redirect", "/new", "relative-redirects", "false"), want: Redirect{To: "/new", Code: 301}},
		// A URL with a scheme is absolute anyway; the plan says nothing
		// of relative, so that it equals the plan without it.
		{name: "URL", annotations: nginx("permanent-redirect", "https://example.com/new", "relative-redirects", "true"), want: Redirect{To: "https://example.com/new", Code: 301}},
		{name: "alone", annotations: nginx("relative-redirects", "true")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems := readFor(t, tt.annotations, Options{})
			if len(problems) > 0 {
				t.Fatalf("got problems %v, want none", problems)
			}
			var p plan
			redirectFamily.plan(c, &site{opts: &Options{}}, &p)
			if p.redirect != tt.want {
				t.Errorf("got %+v, want %+v", p.redirect, tt.want)
			}
		})
	}
}
