package ingress

import (
	"fmt"
	"testing"
)

func TestRewriteAnnotations(t *testing.T) {
	target := func(want string) func(*ingressConfig) string {
		return func(c *ingressConfig) string {
			if c.rewrite.target != want {
				return fmt.Sprintf("got target %q, want %q", c.rewrite.target, want)
			}
			return ""
		}
	}
	runAnnotationCases(t, []annotationCase{
		{name: "capture groups", annotations: nginx("rewrite-target", "/$2"), check: target("/$2")},
		{name: "plain path", annotations: nginx("rewrite-target", "/"), check: target("/")},
		{name: "query is not allowed", annotations: nginx("rewrite-target", "/x?a=1"), check: target(""), wantProblem: "not rewriting"},
		{name: "placeholder is not allowed", annotations: nginx("rewrite-target", "/{env.HOME}"), check: target(""), wantProblem: "not rewriting"},
		{name: "nginx variable", annotations: nginx("rewrite-target", "/$host"), check: target(""), wantProblem: "capture group"},
		{name: "group 0", annotations: nginx("rewrite-target", "/$0"), check: target(""), wantProblem: "capture group"},
		{name: "use-regex", annotations: nginx("use-regex", "true"), check: func(c *ingressConfig) string {
			if !c.rewrite.regex() {
				return "want regex"
			}
			return ""
		}},
		{name: "use-regex invalid", annotations: nginx("use-regex", "yes"), wantProblem: `want "true" or "false"`},
		{name: "x-forwarded-prefix", annotations: nginx("x-forwarded-prefix", "/app"), check: func(c *ingressConfig) string {
			if c.rewrite.forwardedPrefix != "/app" {
				return fmt.Sprintf("got prefix %q", c.rewrite.forwardedPrefix)
			}
			return ""
		}},
		{name: "x-forwarded-prefix invalid", annotations: nginx("x-forwarded-prefix", "/a\nb"), wantProblem: "invalid value", wantFail: "ignored"},
	})
}

func TestRewritePlan(t *testing.T) {
	tests := []struct {
		name, target, path string
		want               rewritePhase
	}{
		{name: "rewrites", target: "/$1", path: "/a/(.*)", want: rewritePhase{pattern: "/a/(.*)", target: "/$1", forwardedPrefix: "/a"}},
		{name: "target equal to the path", target: "/a", path: "/a"},
		{name: "default backend", target: "/x", path: "", want: rewritePhase{pattern: "/", target: "/x", forwardedPrefix: "/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ingressConfig{rewrite: rewriteConfig{target: tt.target, forwardedPrefix: "/a"}}
			var p plan
			rewriteFamily.plan(c, &site{path: tt.path, opts: &Options{}}, &p)
			if p.rewrite != tt.want {
				t.Errorf("got %+v, want %+v", p.rewrite, tt.want)
			}
		})
	}
}

func TestCompilePathRegex(t *testing.T) {
	tests := []struct {
		path, req string
		want      bool
	}{
		{"/id/[0-9]+", "/id/123", true},
		{"/id/[0-9]+", "/id/123a", true},
		{"/id/[0-9]+", "/x/id/123", false},
		{"/API", "/api/v1", true},
		{"/exact$", "/exact", true},
		{"/exact$", "/exact/x", false},
	}
	for _, tt := range tests {
		re, err := CompilePathRegex(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.req); got != tt.want {
			t.Errorf("%q matches %q: got %v, want %v", tt.path, tt.req, got, tt.want)
		}
	}
	for _, bad := range []string{"/a[", `/(?<=x)`, "/" + string(make([]byte, maxRegexPath))} {
		if _, err := CompilePathRegex(bad); err == nil {
			t.Errorf("%.20q: want an error", bad)
		}
	}
}
