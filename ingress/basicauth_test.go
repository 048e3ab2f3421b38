package ingress

import (
	"maps"
	"testing"
)

func TestBasicAuthAnnotations(t *testing.T) {
	ba := func(want basicAuthConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) basicAuthConfig { return c.basicAuth }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "secret not found fails closed", annotations: nginx("auth-type", "basic", "auth-secret", "users"),
			check: ba(basicAuthConfig{secret: "users", secretType: "auth-file"}), wantProblem: "not found", wantFail: "denied"},
		{name: "no secret fails closed", annotations: nginx("auth-type", "basic"), wantProblem: "needs auth-secret", wantFail: "denied"},
		{name: "digest secret not found fails closed", annotations: nginx("auth-type", "digest", "auth-secret", "users", "auth-realm", "Staff"),
			check: ba(basicAuthConfig{digest: true, secret: "users", secretType: "auth-file", realm: "Staff"}), wantProblem: "not found", wantFail: "denied"},
		{name: "digest without secret fails closed", annotations: nginx("auth-type", "digest", "auth-realm", "Staff"), wantProblem: "needs auth-secret", wantFail: "denied"},
		{name: "digest without realm fails closed", annotations: nginx("auth-type", "digest", "auth-secret", "users"), wantProblem: "digest needs auth-realm", wantFail: "denied"},
		{name: "unknown type", annotations: nginx("auth-type", "ntlm"), wantProblem: "want basic or digest", wantFail: "ignored"},
		{name: "type is case-sensitive", annotations: nginx("auth-type", "Digest"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "bad realm", annotations: nginx("auth-realm", "x\"y"), wantProblem: "invalid value", wantFail: "ignored"},
		{name: "bad secret type", annotations: nginx("auth-secret-type", "ldap"), wantProblem: "invalid value", wantFail: "denied"},
		{name: "bad secret name", annotations: nginx("auth-type", "basic", "auth-secret", "a/b/c"), wantProblem: "invalid value", wantFail: "denied"},
	})
}

func TestParseHtdigest(t *testing.T) {
	const (
		ha1  = "90dea4569b2187fa20b7ed9b2c155480"
		ha1b = "286c389976666be90c02826494d5f0ef"
	)
	tests := []struct {
		name    string
		lines   string
		want    map[string]map[string]string
		wantBad int
	}{
		{name: "one user", lines: "alice:Staff only:" + ha1 + "\n", want: map[string]map[string]string{"Staff only": {"alice": ha1}}},
		{name: "CRLF, blank lines, comments, no final newline", lines: "# users\r\n\r\nalice:Staff:" + ha1 + "\r\n  \nbob:Staff:" + ha1b,
			want: map[string]map[string]string{"Staff": {"alice": ha1, "bob": ha1b}}},
		{name: "upper-case hash is lowered", lines: "alice:Staff:90DEA4569B2187FA20B7ED9B2C155480\n", want: map[string]map[string]string{"Staff": {"alice": ha1}}},
		{name: "realms apart", lines: "alice:A:" + ha1 + "\nalice:B:" + ha1b + "\n", want: map[string]map[string]string{"A": {"alice": ha1}, "B": {"alice": ha1b}}},
		{name: "realm with colons", lines: "alice:a:b:" + ha1 + "\n", want: map[string]map[string]string{"a:b": {"alice": ha1}}},
		{name: "repeat keeps the first", lines: "alice:Staff:" + ha1 + "\nalice:Staff:" + ha1b + "\n", want: map[string]map[string]string{"Staff": {"alice": ha1}}, wantBad: 1},
		{name: "htpasswd line", lines: "alice:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n", want: map[string]map[string]string{}, wantBad: 1},
		{name: "no realm", lines: "alice:" + ha1 + "\n", want: map[string]map[string]string{}, wantBad: 1},
		{name: "empty realm", lines: "alice::" + ha1 + "\n", want: map[string]map[string]string{}, wantBad: 1},
		{name: "no user", lines: ":Staff:" + ha1 + "\n", want: map[string]map[string]string{}, wantBad: 1},
		{name: "short hash", lines: "alice:Staff:" + ha1[1:] + "\n", want: map[string]map[string]string{}, wantBad: 1},
		{name: "not hex", lines: "alice:Staff:" + ha1[1:] + "g\n", want: map[string]map[string]string{}, wantBad: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad := parseHtdigest([]byte(tt.lines))
			if !maps.EqualFunc(got, tt.want, maps.Equal) || bad != tt.wantBad {
				t.Errorf("got %v, %d bad, want %v, %d bad", got, bad, tt.want, tt.wantBad)
			}
		})
	}
}
