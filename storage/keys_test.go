package kubestorage

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNames(t *testing.T) {
	s := &Storage{Prefix: DefaultPrefix}
	keys := []string{
		"certificates/acme-v02.api.letsencrypt.org-directory/wildcard_.example.com/wildcard_.example.com.crt",
		"acme/CA.Example.COM/users/Admin@Example.com/admin.json",
		strings.Repeat("long/", 31) + "x",
		"*",
	}
	seen := map[string]bool{}
	for _, key := range keys {
		name := s.secretName(key)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("secret name %q of %q: %v", name, key, errs)
		}
		if lease := s.leaseName(key); len(validation.IsDNS1123Subdomain(lease)) > 0 {
			t.Errorf("lease name %q of %q is no DNS subdomain", lease, key)
		}
		if seen[name] {
			t.Errorf("secret name %q twice", name)
		}
		seen[name] = true
		if name != s.secretName(key) {
			t.Errorf("secret name of %q is not deterministic", key)
		}
		set := s.labels(key)
		for k, v := range set {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				t.Errorf("label key %q: %v", k, errs)
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("label %s value %q: %v", k, v, errs)
			}
		}
		// The Secret of a key is selected by the selector of each
		// directory above it, and not by that of the key itself.
		parts := strings.Split(key, "/")
		for i := range parts {
			dir := strings.Join(parts[:i], "/")
			sel, err := labels.Parse(s.selector(dir))
			if err != nil {
				t.Fatal(err)
			}
			if !sel.Matches(labels.Set(set)) {
				t.Errorf("selector of %q does not select %q", dir, key)
			}
		}
		sel, _ := labels.Parse(s.selector(key))
		if sel.Matches(labels.Set(set)) {
			t.Errorf("selector of %q selects itself", key)
		}
	}
	other := &Storage{Prefix: "other"}
	sel, _ := labels.Parse(other.selector(""))
	if sel.Matches(labels.Set(s.labels("a/b"))) {
		t.Error("another prefix's selector selects this storage's Secret")
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		name, key, want, wantErr string
	}{
		{name: "plain", key: "a/b", want: "a/b"},
		{name: "slashes", key: "/a//b/", want: "a/b"},
		{name: "dots", key: "a/./b/../c", want: "a/c"},
		{name: "escape", key: "../../etc/passwd", want: "etc/passwd"},
		{name: "empty", key: "/", wantErr: `storage key "/": empty`},
		{name: "deep", key: strings.Repeat("a/", 32) + "b", wantErr: "33 path components, at most 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkKey(tc.key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestUnder(t *testing.T) {
	tests := []struct {
		name, dir, key string
		recursive      bool
		want           []string
	}{
		{name: "child", dir: "a", key: "a/b", want: []string{"a/b"}},
		{name: "grandchild", dir: "a", key: "a/b/c", want: []string{"a/b"}},
		{name: "recursive", dir: "a", key: "a/b/c", recursive: true, want: []string{"a/b", "a/b/c"}},
		{name: "root", dir: "", key: "a/b", want: []string{"a"}},
		{name: "not under", dir: "a", key: "ab/c"},
		{name: "itself", dir: "a", key: "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := under(tc.dir, tc.key, tc.recursive); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzKeys: every key that checkKey accepts maps to a valid Secret name,
// valid labels, and is listed under each directory above it.
func FuzzKeys(f *testing.F) {
	for _, seed := range []string{"a/b/c", "certificates/local/*.example.com/wildcard_.example.com.crt", "/../x//y/", "", "é/ü"} {
		f.Add(seed)
	}
	s := &Storage{Prefix: DefaultPrefix}
	f.Fuzz(func(t *testing.T, key string) {
		clean, err := checkKey(key)
		if err != nil {
			return
		}
		if clean != cleanKey(clean) {
			t.Fatalf("clean key %q is not clean", clean)
		}
		if errs := validation.IsDNS1123Subdomain(s.secretName(clean)); len(errs) > 0 {
			t.Fatalf("secret name of %q: %v", clean, errs)
		}
		for k, v := range s.labels(clean) {
			if len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(v)) > 0 {
				t.Fatalf("label %s=%s of %q is invalid", k, v, clean)
			}
		}
		parts := strings.Split(clean, "/")
		for i := range parts {
			dir := strings.Join(parts[:i], "/")
			if got := under(dir, clean, true); len(got) == 0 || got[len(got)-1] != clean {
				t.Fatalf("under(%q, %q): got %q, want it to end with the key", dir, clean, got)
			}
		}
	})
}
