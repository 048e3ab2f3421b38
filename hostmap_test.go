package caddyingress

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestHostMapChain builds a chain of host maps, each from the one
// before, with random changes, and checks every map of the chain against
// a plain map after each step: a map's entries never change once
// another was built from it, through delta and fold alike.
func TestHostMapChain(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	tables := make([]*hostTable, 8)
	for i := range tables {
		tables[i] = &hostTable{appRoot: fmt.Sprint(i)}
	}
	type pair struct {
		m    *hostMap
		want map[string]*hostTable
	}
	m := newHostMap()
	chain := []pair{{&m, map[string]*hostTable{}}}
	for step := range 3 * maxDelta * 4 {
		last := chain[len(chain)-1]
		next := last.m.next()
		want := make(map[string]*hostTable, len(last.want))
		for k, v := range last.want {
			want[k] = v
		}
		for n := 1 + rnd.IntN(3); n > 0; n-- {
			name := fmt.Sprint("h", rnd.IntN(400))
			if rnd.IntN(3) == 0 {
				next.delete(name)
				delete(want, name)
			} else {
				ht := tables[rnd.IntN(len(tables))]
				next.set(name, ht)
				want[name] = ht
			}
		}
		chain = append(chain, pair{&next, want})
		for i, p := range chain {
			if i%37 != 0 && i < len(chain)-2 {
				continue // a sample of the older ones
			}
			for k := range 400 {
				name := fmt.Sprint("h", k)
				if got := p.m.get(name); got != p.want[name] {
					t.Fatalf("step %d, map %d: %s is %v, want %v", step, i, name, got, p.want[name])
				}
			}
			n := 0
			p.m.all(func(*hostTable) { n++ })
			if n != len(p.want) {
				t.Fatalf("step %d, map %d: all gives %d tables, want %d", step, i, n, len(p.want))
			}
		}
		if len(next.delta) > maxDelta+3 {
			t.Fatalf("step %d: delta of %d entries, want at most %d", step, len(next.delta), maxDelta+3)
		}
	}
}
