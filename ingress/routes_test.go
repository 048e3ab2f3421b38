package ingress

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestPlanKeyTellsPlansApart: plans that render differently have
// different keys, or paths would share the wrong routes.
func TestPlanKeyTellsPlansApart(t *testing.T) {
	tr := &translation{}
	tests := []struct {
		name string
		a, b func(p *plan)
	}{
		{name: "connection", b: func(p *plan) { p.proxy.connection = "close" }},
		{name: "close or keep-alive", a: func(p *plan) { p.proxy.connection = "keep-alive" }, b: func(p *plan) { p.proxy.connection = "close" }},
		{name: "send rate", b: func(p *plan) { p.limits.sendRate = 1024 }},
		{name: "send rate after", a: func(p *plan) { p.limits.sendRate = 1024 }, b: func(p *plan) { p.limits.sendRate, p.limits.sendRateAfter = 1024, 1 }},
		{name: "relative redirect", a: func(p *plan) { p.redirect.To = "/new" }, b: func(p *plan) { p.redirect.To, p.redirect.Relative = "/new", true }},
	}
	for _, tt := range tests {
		var a, b plan
		for _, p := range []*plan{&a, &b} {
			p.proxy.upstream, p.proxy.resolved = UpstreamKey{Namespace: "default", Service: "web"}, true
		}
		if tt.a != nil {
			tt.a(&a)
		}
		tt.b(&b)
		if tr.key(&a) == tr.key(&b) || string(render(&a)) == string(render(&b)) {
			t.Errorf("%s: got the same key or routes for both plans", tt.name)
		}
	}
}

// TestPlanKeyHasEveryField: a change of any one field of a plan changes
// its key. A field that a new annotation adds to a plan but not to
// planKey or planExtras would let paths that differ in it share the
// routes rendered for the first of them.
func TestPlanKeyHasEveryField(t *testing.T) {
	tr := &translation{}
	var base plan
	want := tr.key(&base)
	leaves := 0
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Field(i)
				walk(reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), path+"."+v.Type().Field(i).Name)
			}
			return
		case reflect.String:
			v.SetString("x")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(1)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(1)
		case reflect.Float32, reflect.Float64:
			v.SetFloat(1)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
		default:
			t.Errorf("%s: a %s, which the test cannot set", path, v.Kind())
			return
		}
		leaves++
		if tr.key(&base) == want {
			t.Errorf("%s: setting it leaves the plan's key as it was", path)
		}
		v.SetZero()
	}
	walk(reflect.ValueOf(&base).Elem(), "plan")
	if leaves < 50 {
		t.Errorf("walked %d fields of plan, want them all", leaves)
	}
}
