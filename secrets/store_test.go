package secrets_test

import (
	"crypto/tls"
	"testing"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// certNamed returns a distinct certificate that Store tests tell apart by
// pointer; Store never looks inside it.
func certNamed(name string) *tls.Certificate {
	return &tls.Certificate{OCSPStaple: []byte(name)}
}

func certName(c *tls.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	return string(c.OCSPStaple)
}

func TestStoreGet(t *testing.T) {
	apex := certNamed("apex")
	wildcard := certNamed("wildcard")
	www := certNamed("www")
	later := certNamed("later")
	mixed := certNamed("mixed")
	fallback := certNamed("fallback")

	store := secrets.NewStore([]secrets.Entry{
		{Names: []string{"foo.com"}, Cert: apex},
		{Names: []string{"*.foo.com"}, Cert: wildcard},
		{Names: []string{"www.foo.com"}, Cert: www},
		{Names: []string{"foo.com", "*.foo.com", "later.org"}, Cert: later},
		{Names: []string{"Mixed.EXAMPLE.org.", "*.Mixed.Example.org"}, Cert: mixed},
		{Names: []string{"nil.org"}, Cert: nil},
		{Names: []string{"", ".", "*.", "*.."}, Cert: later},
	}, fallback)

	tests := []struct {
		name       string
		serverName string
		want       *tls.Certificate
	}{
		{name: "exact", serverName: "foo.com", want: apex},
		{name: "exact beats wildcard", serverName: "www.foo.com", want: www},
		{name: "wildcard one label", serverName: "api.foo.com", want: wildcard},
		{name: "wildcard does not match two labels", serverName: "a.b.foo.com", want: fallback},
		{name: "empty first label", serverName: ".foo.com", want: fallback},
		{name: "first entry wins for exact name", serverName: "foo.com", want: apex},
		{name: "first entry wins for wildcard", serverName: "x.foo.com", want: wildcard},
		{name: "name only a later entry lists", serverName: "later.org", want: later},
		{name: "uppercase sni", serverName: "API.Foo.COM", want: wildcard},
		{name: "trailing dot", serverName: "foo.com.", want: apex},
		{name: "uppercase and trailing dot", serverName: "WWW.FOO.COM.", want: www},
		{name: "two trailing dots", serverName: "foo.com..", want: fallback},
		{name: "entry names are normalized", serverName: "mixed.example.org", want: mixed},
		{name: "entry wildcard is normalized", serverName: "a.mixed.example.org", want: mixed},
		{name: "entry with nil cert is skipped", serverName: "nil.org", want: fallback},
		{name: "empty sni", serverName: "", want: fallback},
		{name: "lone dot", serverName: ".", want: fallback},
		{name: "unknown name", serverName: "bar.org", want: fallback},
		{name: "single label", serverName: "localhost", want: fallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.Get(tt.serverName); got != tt.want {
				t.Errorf("Get(%q): got %v, want %v", tt.serverName, certName(got), certName(tt.want))
			}
		})
	}
}

func TestStoreWithoutFallback(t *testing.T) {
	foo := certNamed("foo")
	var nilStore *secrets.Store
	tests := []struct {
		name       string
		store      *secrets.Store
		serverName string
		want       *tls.Certificate
	}{
		{name: "known name", store: secrets.NewStore([]secrets.Entry{{Names: []string{"foo.com"}, Cert: foo}}, nil), serverName: "foo.com", want: foo},
		{name: "unknown name", store: secrets.NewStore([]secrets.Entry{{Names: []string{"foo.com"}, Cert: foo}}, nil), serverName: "bar.com", want: nil},
		{name: "empty sni", store: secrets.NewStore(nil, nil), serverName: "", want: nil},
		{name: "nil store", store: nilStore, serverName: "foo.com", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.store.Get(tt.serverName); got != tt.want {
				t.Errorf("Get(%q): got %v, want %v", tt.serverName, certName(got), certName(tt.want))
			}
		})
	}
}

func TestStoreLen(t *testing.T) {
	a, b := certNamed("a"), certNamed("b")
	tests := []struct {
		name    string
		entries []secrets.Entry
		want    int
	}{
		{name: "empty", entries: nil, want: 0},
		{name: "exact and wildcard of one domain", entries: []secrets.Entry{{Names: []string{"foo.com", "*.foo.com"}, Cert: a}}, want: 2},
		{name: "duplicates across entries and case", entries: []secrets.Entry{{Names: []string{"foo.com"}, Cert: a}, {Names: []string{"FOO.com.", "bar.com"}, Cert: b}}, want: 2},
		{name: "nil cert, empty and malformed names", entries: []secrets.Entry{{Names: []string{"foo.com"}}, {Names: []string{"", "*.", "*", "a.*.com", "*.*.com"}, Cert: a}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secrets.NewStore(tt.entries, a).Len(); got != tt.want {
				t.Errorf("Len(): got %d, want %d", got, tt.want)
			}
		})
	}
	var nilStore *secrets.Store
	if got := nilStore.Len(); got != 0 {
		t.Errorf("nil Store Len(): got %d, want 0", got)
	}
}

// TestStoreImmutable shows that changing the entries after NewStore does not
// change what the Store serves.
func TestStoreImmutable(t *testing.T) {
	foo, bar := certNamed("foo"), certNamed("bar")
	entries := []secrets.Entry{{Names: []string{"foo.com"}, Cert: foo}}
	store := secrets.NewStore(entries, nil)
	entries[0].Cert = bar
	entries[0].Names[0] = "bar.com"
	if got := store.Get("foo.com"); got != foo {
		t.Errorf("Get(%q): got %v, want %v", "foo.com", certName(got), certName(foo))
	}
	if got := store.Get("bar.com"); got != nil {
		t.Errorf("Get(%q): got %v, want %v", "bar.com", certName(got), certName(nil))
	}
}

func TestStoreGetAllocations(t *testing.T) {
	store := secrets.NewStore([]secrets.Entry{
		{Names: []string{"foo.com"}, Cert: certNamed("foo")},
		{Names: []string{"*.foo.com"}, Cert: certNamed("wildcard")},
	}, certNamed("fallback"))
	tests := []struct {
		name       string
		serverName string
		want       float64
	}{
		{name: "exact", serverName: "foo.com", want: 0},
		{name: "wildcard", serverName: "api.foo.com", want: 0},
		{name: "fallback with trailing dot", serverName: "a.b.foo.com.", want: 0},
		{name: "uppercase is lowered once", serverName: "API.foo.com", want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testing.AllocsPerRun(100, func() { store.Get(tt.serverName) })
			if got != tt.want {
				t.Errorf("allocations per Get(%q): got %v, want %v", tt.serverName, got, tt.want)
			}
		})
	}
}
