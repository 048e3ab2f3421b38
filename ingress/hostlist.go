package ingress

import (
	"encoding/json"
	"iter"
	"slices"
	"strings"
)

// HostList is a list of hosts sorted by name, kept in chunks that the
// results of incremental translation share: a result made from another
// by changing a few hosts has new chunks only where they changed, so a
// change to one host of 10,000 copies about hostChunk hosts and the list
// of chunks, not every host. It is immutable; the zero value is empty.
type HostList struct {
	chunks [][]*Host
	n      int
}

// hostChunk is the size chunks are made with; a chunk that grows past
// twice this is split.
const hostChunk = 128

// NewHostList returns the list of hosts, which must be sorted by name
// and have no name twice. The list keeps the slice.
func NewHostList(hosts []*Host) HostList {
	var l HostList
	l.appendChunks(hosts)
	return l
}

// appendChunks adds hosts, sorted and after l's, as chunks of hostChunk.
func (l *HostList) appendChunks(hosts []*Host) {
	for len(hosts) > 0 {
		n := min(len(hosts), hostChunk)
		if len(hosts) < 2*hostChunk {
			n = len(hosts)
		}
		l.chunks = append(l.chunks, hosts[:n:n])
		l.n += n
		hosts = hosts[n:]
	}
}

// Len returns the number of hosts.
func (l HostList) Len() int { return l.n }

// All yields the hosts in order.
func (l HostList) All() iter.Seq[*Host] {
	return func(yield func(*Host) bool) {
		for _, c := range l.chunks {
			for _, h := range c {
				if !yield(h) {
					return
				}
			}
		}
	}
}

// Slice returns the hosts in order, in a new slice.
func (l HostList) Slice() []*Host {
	out := make([]*Host, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

// Chunks returns the chunks of the list, in order. Two lists that share a
// chunk (the same slice: equal first element address and length) have
// the same hosts there.
func (l HostList) Chunks() [][]*Host { return l.chunks }

// MarshalJSON writes the hosts as a JSON array.
func (l HostList) MarshalJSON() ([]byte, error) {
	return json.Marshal(l.Slice())
}

// UnmarshalJSON reads a JSON array of hosts, sorted by name.
func (l *HostList) UnmarshalJSON(b []byte) error {
	var hosts []*Host
	if err := json.Unmarshal(b, &hosts); err != nil {
		return err
	}
	*l = NewHostList(hosts)
	return nil
}

// Patch returns l without the hosts named in gone and with add, which
// may hold hosts of the same names anew. Chunks that neither lose nor
// gain a host are shared with l.
func (l HostList) Patch(gone map[string]bool, add []*Host) HostList {
	add = slices.Clone(add)
	slices.SortStableFunc(add, compareHosts)
	drop := make([]string, 0, len(gone))
	for k := range gone {
		drop = append(drop, k)
	}
	slices.Sort(drop)
	var out HostList
	for i, c := range l.chunks {
		// The chunk takes the names below the next chunk's first.
		var nd, na int
		if i+1 < len(l.chunks) {
			limit := l.chunks[i+1][0].Host
			nd, _ = slices.BinarySearch(drop, limit)
			na, _ = slices.BinarySearchFunc(add, limit, func(h *Host, k string) int { return strings.Compare(h.Host, k) })
		} else {
			nd, na = len(drop), len(add)
		}
		if nd == 0 && na == 0 {
			out.chunks = append(out.chunks, c)
			out.n += len(c)
			continue
		}
		dropped := make(map[string]bool, nd)
		for _, k := range drop[:nd] {
			dropped[k] = true
		}
		out.appendChunks(patchSorted(c, dropped, func(h *Host, k string) int { return strings.Compare(h.Host, k) }, add[:na], compareHosts))
		drop, add = drop[nd:], add[na:]
	}
	if len(l.chunks) == 0 {
		out.appendChunks(add)
	}
	// Many small chunks, after many removals, are made anew.
	if len(out.chunks) > 4 && len(out.chunks) > 2*(out.n/hostChunk+1) {
		return NewHostList(out.Slice())
	}
	return out
}

func compareHosts(a, b *Host) int { return strings.Compare(a.Host, b.Host) }
