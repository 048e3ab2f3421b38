package ingress

import (
	"reflect"
	"testing"
)

func TestParseHashKey(t *testing.T) {
	tests := []struct {
		in   string
		want []HashKeyPart
	}{
		{"$request_uri", []HashKeyPart{{Kind: "request_uri"}}},
		{"$remote_addr$http_user_agent", []HashKeyPart{{Kind: "remote_addr"}, {Kind: "http", Name: "user_agent"}}},
		{"${cookie_session}-x", []HashKeyPart{{Kind: "cookie", Name: "session"}, {Kind: "text", Name: "-x"}}},
		{"v1$arg_id", []HashKeyPart{{Kind: "text", Name: "v1"}, {Kind: "arg", Name: "id"}}},
		{"$binary_remote_addr", []HashKeyPart{{Kind: "remote_addr"}}},
	}
	for _, tt := range tests {
		got, err := ParseHashKey(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseHashKey(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"$server_name", "text", "$", "${request_uri", "$http_", "{env.HOME}"} {
		if got, err := ParseHashKey(in); err == nil {
			t.Errorf("ParseHashKey(%q) = %v, want an error", in, got)
		}
	}
}

func TestHashByAnnotations(t *testing.T) {
	hash := func(want hashConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) hashConfig { return c.hash }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "uri", annotations: nginx("upstream-hash-by", "$request_uri"), check: hash(hashConfig{by: "$request_uri"})},
		{name: "subset", annotations: nginx("upstream-hash-by", "$remote_addr", "upstream-hash-by-subset", "true"), check: hash(hashConfig{by: "$remote_addr", subsetSize: 3})},
		{name: "subset size", annotations: nginx("upstream-hash-by", "$remote_addr", "upstream-hash-by-subset", "true", "upstream-hash-by-subset-size", "5"), check: hash(hashConfig{by: "$remote_addr", subsetSize: 5})},
		{name: "unsupported variable", annotations: nginx("upstream-hash-by", "$server_name"), check: hash(hashConfig{}), wantProblem: "not supported"},
		{name: "invalid characters", annotations: nginx("upstream-hash-by", "$request_uri;"), wantProblem: "invalid value", wantFail: "ignored"},
	})
}
