package secrets

import (
	"crypto/tls"
	"strings"
)

// Entry is one certificate served for the listed names.
type Entry struct {
	// Names are exact server names such as "foo.com" or one-label
	// wildcards such as "*.foo.com". Case and one trailing dot are ignored;
	// empty names and names with a "*" anywhere else are skipped.
	Names []string
	// Cert is served for Names. Entries with a nil Cert are skipped.
	Cert *tls.Certificate
}

// Store answers which certificate to serve for a TLS server name. It is
// immutable once built, so it can be swapped atomically by its owner.
type Store struct {
	exact map[string]*tls.Certificate
	// wildcard is keyed by what follows "*." in the name.
	wildcard map[string]*tls.Certificate
	fallback *tls.Certificate
}

// NewStore builds a Store from entries. When two entries list the same
// name the earlier one wins; callers resolve conflicts before. fallback is
// served for names no entry covers and may be nil.
func NewStore(entries []Entry, fallback *tls.Certificate) *Store {
	s := &Store{
		exact:    make(map[string]*tls.Certificate),
		wildcard: make(map[string]*tls.Certificate),
		fallback: fallback,
	}
	for _, e := range entries {
		if e.Cert == nil {
			continue
		}
		for _, name := range e.Names {
			m, key := s.exact, normalizeName(name)
			if suffix, ok := strings.CutPrefix(key, "*."); ok {
				m, key = s.wildcard, suffix
			}
			if key == "" || strings.Contains(key, "*") {
				continue
			}
			if _, taken := m[key]; !taken {
				m[key] = e.Cert
			}
		}
	}
	return s
}

// Get returns the certificate to serve for serverName: the entry for the
// exact name, else the entry for the one-label wildcard ("*.foo.com" for
// "bar.foo.com", never for "a.bar.foo.com"), else the fallback. Case and
// one trailing dot are ignored. A nil Store returns nil.
//
// Get runs on every TLS handshake: it only looks up maps and allocates only
// to lowercase a name that is not already lowercase.
func (s *Store) Get(serverName string) *tls.Certificate {
	if s == nil {
		return nil
	}
	name := normalizeName(serverName)
	if name == "" {
		return s.fallback
	}
	if c, ok := s.exact[name]; ok {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c, ok := s.wildcard[name[i+1:]]; ok {
			return c
		}
	}
	return s.fallback
}

// Len returns the number of names in the Store, exact and wildcard; the
// fallback is not counted.
func (s *Store) Len() int {
	if s == nil {
		return 0
	}
	return len(s.exact) + len(s.wildcard)
}

// normalizeName lowercases ASCII letters and strips one trailing dot. It
// returns name itself, without allocating, when there is nothing to lower.
func normalizeName(name string) string {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if 'A' <= name[i] && name[i] <= 'Z' {
			var b strings.Builder
			b.Grow(len(name))
			b.WriteString(name[:i])
			for j := i; j < len(name); j++ {
				b.WriteByte(lowerASCII(name[j]))
			}
			return b.String()
		}
	}
	return name
}
