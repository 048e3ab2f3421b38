package ingress

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHostListPatch patches a list of hosts at random, a few hosts or
// many at a time, and checks it against the list made from scratch; a
// patch shares the chunks it does not touch with the list it patched.
func TestHostListPatch(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 13))
	names := make([]string, 3000)
	for i := range names {
		names[i] = fmt.Sprintf("h%04d.test", i)
	}
	want := map[string]*Host{}
	var l HostList
	for step := range 600 {
		gone := map[string]bool{}
		var add []*Host
		n := 1 + rnd.IntN(3)
		if step%50 == 0 {
			n = 400 // a bulk change now and then
		}
		for range n {
			name := names[rnd.IntN(len(names))]
			if gone[name] {
				continue
			}
			gone[name] = true
			if rnd.IntN(3) == 0 {
				delete(want, name)
				continue
			}
			h := &Host{Host: name}
			want[name] = h
			add = append(add, h)
		}
		next := l.Patch(gone, add)

		var exp []*Host
		for _, name := range names {
			if h := want[name]; h != nil {
				exp = append(exp, h)
			}
		}
		if got := next.Slice(); !slices.Equal(got, exp) || next.Len() != len(exp) {
			t.Fatalf("step %d: got %d hosts (Len %d), want %d", step, len(got), next.Len(), len(exp))
		}
		for _, c := range next.Chunks() {
			if len(c) == 0 || len(c) >= 2*hostChunk {
				t.Fatalf("step %d: chunk of %d hosts", step, len(c))
			}
		}
		if n < 4 && l.Len() > 4*hostChunk {
			// A few hosts changed: all but a few chunks are shared.
			shared := 0
			for _, c := range next.Chunks() {
				if slices.ContainsFunc(l.Chunks(), func(o []*Host) bool { return len(o) == len(c) && &o[0] == &c[0] }) {
					shared++
				}
			}
			if len(next.Chunks())-shared > 2*n {
				t.Fatalf("step %d: %d hosts changed, %d of %d chunks are new", step, n, len(next.Chunks())-shared, len(next.Chunks()))
			}
		}
		l = next
	}
}
