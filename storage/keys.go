package kubestorage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// How storage keys map to Secrets, and lock names to Leases.
//
// A Secret is named after a hash of its key: keys hold '/', '*', '_' and
// upper case, which Secret names may not, and can be longer. The key
// itself is in an annotation. Each Secret also carries, for every
// directory above its key, a label with the hash of that directory's
// path, numbered by depth: the Secret of "certificates/local/a.com/a.com.crt"
// has storage-dir-0 = hash("certificates"), storage-dir-1 =
// hash("certificates/local") and storage-dir-2 = hash("certificates/local/a.com").
// So listing a directory selects exactly the Secrets beneath it, whatever
// else the namespace holds, and storage cleaning, which walks the tree one
// directory at a time, does not read every Secret at each step.
const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "caddy-ingress"
	// labelStorage holds the storage's prefix.
	labelStorage = "caddy-ingress.io/storage"
	// labelDir is followed by the depth of the directory.
	labelDir = "caddy-ingress.io/storage-dir-"

	annotationKey      = "caddy-ingress.io/storage-key"
	annotationModified = "caddy-ingress.io/storage-modified"
	annotationLock     = "caddy-ingress.io/storage-lock"

	// dataKey is the Secret's data key for the value.
	dataKey = "value"
	// secretType marks the Secrets of this storage.
	secretType corev1.SecretType = "caddy-ingress.io/storage"

	// maxValueSize is the most a Secret holds (the API server's limit on
	// its data).
	maxValueSize = corev1.MaxSecretSize
	// maxDepth bounds the components of a key: one label each.
	maxDepth = 32
)

// cleanKey returns key without leading or trailing slashes and with "."
// and ".." resolved, as a file system would see it ("" for the root).
func cleanKey(key string) string {
	return strings.Trim(path.Clean("/"+key), "/")
}

// checkKey returns the clean key, or an error naming it when it is empty
// or too deep.
func checkKey(key string) (string, error) {
	clean := cleanKey(key)
	if clean == "" {
		return "", fmt.Errorf("storage key %q: empty", key)
	}
	if n := strings.Count(clean, "/") + 1; n > maxDepth {
		return "", fmt.Errorf("storage key %q: %d path components, at most %d", key, n, maxDepth)
	}
	return clean, nil
}

// hashOf is the name-safe hash of s: 40 hex digits (160 bits of SHA-256).
func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:20])
}

// secretName is the name of the Secret that holds key.
func (s *Storage) secretName(key string) string {
	return s.Prefix + "-" + hashOf(key)
}

// leaseName is the name of the Lease of lock name.
func (s *Storage) leaseName(name string) string {
	return s.Prefix + "-lock-" + hashOf(name)
}

// labels returns the labels of the Secret of key (clean).
func (s *Storage) labels(key string) map[string]string {
	l := map[string]string{labelManagedBy: managedBy, labelStorage: s.Prefix}
	parts := strings.Split(key, "/")
	for i := 1; i < len(parts); i++ {
		l[fmt.Sprintf("%s%d", labelDir, i-1)] = hashOf(strings.Join(parts[:i], "/"))
	}
	return l
}

// selector selects the Secrets of the keys under dir (clean; "" for all).
func (s *Storage) selector(dir string) string {
	sel := labelManagedBy + "=" + managedBy + "," + labelStorage + "=" + s.Prefix
	if dir == "" {
		return sel
	}
	depth := strings.Count(dir, "/")
	return fmt.Sprintf("%s,%s%d=%s", sel, labelDir, depth, hashOf(dir))
}

// under returns the keys below dir (clean) that List returns for the
// descendant key: its child of dir, or, recursive, every directory and the
// key itself.
func under(dir, key string, recursive bool) []string {
	rel := key
	if dir != "" {
		var ok bool
		if rel, ok = strings.CutPrefix(key, dir+"/"); !ok {
			return nil
		}
	}
	parts := strings.Split(rel, "/")
	if !recursive {
		return []string{path.Join(dir, parts[0])}
	}
	out := make([]string, len(parts))
	for i := range parts {
		out[i] = path.Join(dir, strings.Join(parts[:i+1], "/"))
	}
	return out
}
