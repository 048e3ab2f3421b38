package caddyingress

import "maps"

// hostMap maps names to host tables. A table built from another shares
// its base map, which is never written once shared, and keeps its own
// changes to it in a small delta: a change to one host of 10,000 copies
// the delta, not the map. Once the delta has grown to maxDelta entries it
// is folded into a new base, which costs a copy of the map every maxDelta
// changes.
type hostMap struct {
	base map[string]*hostTable
	// delta holds the changes on base; a nil value removes a name.
	delta map[string]*hostTable
	// owned says base is this map's own, written in place: it is until
	// another map shares it.
	owned bool
}

// maxDelta bounds the delta: a change copies at most this many entries,
// and a fold, every maxDelta changes, copies the base.
const maxDelta = 128

func newHostMap() hostMap {
	return hostMap{base: make(map[string]*hostTable), owned: true}
}

// get returns the host table of name, or nil.
func (m *hostMap) get(name string) *hostTable {
	if m.delta != nil {
		if ht, ok := m.delta[name]; ok {
			return ht
		}
	}
	return m.base[name]
}

func (m *hostMap) set(name string, ht *hostTable) {
	if m.owned {
		m.base[name] = ht
		return
	}
	if m.delta == nil {
		m.delta = make(map[string]*hostTable)
	}
	m.delta[name] = ht
}

func (m *hostMap) delete(name string) {
	if m.owned {
		delete(m.base, name)
		return
	}
	if _, ok := m.base[name]; !ok {
		delete(m.delta, name)
		return
	}
	m.set(name, nil)
}

// next returns a map with m's entries for a table built from m's: it
// shares m's base, or, when m's delta is full, has a new one.
func (m *hostMap) next() hostMap {
	if len(m.delta) < maxDelta {
		m.owned = false // shared from now on
		return hostMap{base: m.base, delta: maps.Clone(m.delta)}
	}
	base := maps.Clone(m.base)
	for name, ht := range m.delta {
		if ht == nil {
			delete(base, name)
		} else {
			base[name] = ht
		}
	}
	return hostMap{base: base, owned: true}
}

// all calls f with each host table of m.
func (m *hostMap) all(f func(*hostTable)) {
	for name, ht := range m.base {
		if _, changed := m.delta[name]; !changed {
			f(ht)
		}
	}
	for _, ht := range m.delta {
		if ht != nil {
			f(ht)
		}
	}
}
