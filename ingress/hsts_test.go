package ingress

import "testing"

func TestParseHSTS(t *testing.T) {
	for in, want := range map[string]string{
		"max-age=31536000": "max-age=31536000",
		"max-age=0":        "max-age=0",
		`MAX-AGE="60"; includesubdomains; PRELOAD`: "max-age=60; includeSubDomains; preload",
		"preload; max-age=1;":                      "max-age=1; preload",
		"off":                                      "",
	} {
		got, err := ParseHSTS(in)
		if err != nil || got != want {
			t.Errorf("ParseHSTS(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", ";", "includeSubDomains", "max-age", "max-age=", "max-age=-1", "max-age=+1", "max-age=1e3",
		"max-age=1; max-age=2", "max-age=1; preload; preload", "max-age=1; foo", "max-age=1, preload",
		"max-age={env.HOME}", "max-age=99999999999999999999", "Off",
	} {
		if got, err := ParseHSTS(in); err == nil {
			t.Errorf("ParseHSTS(%q) = %q, want an error", in, got)
		}
	}
}

func TestQuotedIsShort(t *testing.T) {
	long := "max-age=" + string(make([]byte, 100000))
	_, err := ParseHSTS(long)
	if err == nil || len(err.Error()) > 600 {
		t.Fatalf("error for a 100 kB value is %d bytes", len(err.Error()))
	}
	if got := quoted("é" + string(make([]byte, 200))); !utf8ValidQuoted(got) {
		t.Errorf("quoted cut a rune: %s", got)
	}
}

func utf8ValidQuoted(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}

func TestHSTSAnnotation(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "canonical", annotations: nginx("hsts", "max-age=60;preload"), check: func(c *ingressConfig) string {
			if c.hsts != (hstsConfig{value: "max-age=60; preload", set: true}) {
				return "got " + c.hsts.value
			}
			return ""
		}},
		{name: "off", annotations: nginx("hsts", "off"), check: func(c *ingressConfig) string {
			if c.hsts != (hstsConfig{set: true}) {
				return "got " + c.hsts.value
			}
			return ""
		}},
		{name: "invalid", annotations: nginx("hsts", "max-age=forever"), wantProblem: "max-age must be a number"},
	})
}
