package ingress

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1000": 1000, "8m": 8 << 20, "8M": 8 << 20, "512k": 512 << 10, "1g": 1 << 30, " 2K ": 2 << 10,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "8mb", "-1", "+1", "1.5m", "1t", "9999999999999g", "{env.X}"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestBodySizeAnnotations(t *testing.T) {
	body := func(want bodyConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) bodyConfig { return c.body }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "size", annotations: nginx("proxy-body-size", "8m"), check: body(bodyConfig{size: 8 << 20, set: true})},
		{name: "no limit", annotations: nginx("proxy-body-size", "0"), check: body(bodyConfig{set: true})},
		{name: "invalid keeps the default", annotations: nginx("proxy-body-size", "big"), check: body(bodyConfig{}), wantProblem: "invalid value"},
		{name: "buffer size accepted", annotations: nginx("client-body-buffer-size", "16k")},
		{name: "buffer size invalid", annotations: nginx("client-body-buffer-size", "16 k"), wantProblem: "invalid value", wantFail: "ignored"},
	})
}

func TestBodySizePlan(t *testing.T) {
	tests := []struct {
		name string
		cfg  bodyConfig
		def  int64
		want int64
	}{
		{name: "app default", def: 1 << 20, want: 1 << 20},
		{name: "annotation wins", cfg: bodyConfig{size: 5, set: true}, def: 1 << 20, want: 5},
		{name: "annotation lifts the limit", cfg: bodyConfig{set: true}, def: 1 << 20, want: 0},
	}
	for _, tt := range tests {
		var p plan
		bodySizeFamily.plan(&ingressConfig{body: tt.cfg}, &site{opts: &Options{Traffic: Traffic{BodySize: tt.def}}}, &p)
		if p.limits.bodySize != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, p.limits.bodySize, tt.want)
		}
	}
}
