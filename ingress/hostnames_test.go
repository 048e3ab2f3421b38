package ingress

import (
	"fmt"
	"slices"
	"testing"
)

func TestWWWPeer(t *testing.T) {
	for host, want := range map[string]string{
		"example.com":      "www.example.com",
		"www.example.com":  "example.com",
		"shop.example.com": "www.shop.example.com",
		"www.com":          "",
		"*.example.com":    "",
		"":                 "",
	} {
		if got := wwwPeer(host); got != want {
			t.Errorf("wwwPeer(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestHostNameAnnotations(t *testing.T) {
	aliases := func(want ...string) func(*ingressConfig) string {
		return func(c *ingressConfig) string {
			if !slices.Equal(c.aliases, want) {
				return fmt.Sprintf("got aliases %q, want %q", c.aliases, want)
			}
			return ""
		}
	}
	runAnnotationCases(t, []annotationCase{
		{name: "aliases trimmed, lowercased, sorted, once", annotations: nginx("server-alias", " b.example.com,A.example.com, a.example.com,,"), check: aliases("a.example.com", "b.example.com")},
		{name: "wildcard alias", annotations: nginx("server-alias", "*.example.com"), check: aliases("*.example.com")},
		{name: "regex alias", annotations: nginx("server-alias", "~^x\\.example\\.com$,b.example.com"), check: aliases("b.example.com"), wantProblem: "not supported"},
		{name: "invalid alias", annotations: nginx("server-alias", "a.example.com,bad name"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "www redirect", annotations: nginx("from-to-www-redirect", "true"), check: func(c *ingressConfig) string {
			if !c.wwwRedirect {
				return "want the www redirect"
			}
			return ""
		}},
		{name: "www redirect invalid", annotations: nginx("from-to-www-redirect", "www"), wantProblem: "invalid value"},
	})
}
