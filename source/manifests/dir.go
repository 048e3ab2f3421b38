// Package manifests is the local manifest-directory source: it reads
// Kubernetes manifests from a directory tree, so the controller can run
// with no cluster.
//
// It reads every .yaml, .yml and .json file of the tree, including the
// top-level symlinks of a mounted ConfigMap, and keeps the Ingresses,
// IngressClasses, Services, EndpointSlices, Secrets and ConfigMaps it
// finds. Documents of other kinds are ignored, so the directory may hold a
// whole application's manifests.
package manifests

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/caddy-ingress/caddy-ingress/ingress"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxFileSize is the size of the largest manifest file read.
const maxFileSize = 8 << 20

var errTooLarge = errors.New("file is larger than 8 MiB")

// Dir reads manifests from one directory tree. It keeps, per file, the
// objects of the last version of that file that parsed, so a file that
// stops parsing keeps serving its last good objects while its problem is
// reported. A Dir is safe for concurrent use.
type Dir struct {
	path string

	// loads counts the calls of Load, for tests.
	loads atomic.Int64

	mu sync.Mutex
	// files holds what is known of each file, by slash-separated path
	// relative to the directory.
	files map[string]file
}

// file is what is known of one manifest file.
type file struct {
	// read says whether hash holds the hash of the content last read.
	read bool
	hash [sha256.Size]byte
	// good says whether objects come from a version that parsed, whose
	// content hashed to goodHash.
	good     bool
	goodHash [sha256.Size]byte
	objects  []object
	// problems are the problems of the content last read.
	problems []ingress.Problem
	// emptied says the file was read empty once after having objects.
	emptied bool
}

// New returns a Dir that reads the directory tree at path.
func New(path string) *Dir {
	return &Dir{path: path, files: map[string]file{}}
}

// Load reads the directory once (again) and returns a snapshot of all
// objects and the problems of this read. Objects of files whose content did
// not change since the previous Load are the very same pointers, so callers
// can tell unchanged objects by pointer identity; they must not modify them.
// The error is only for a directory that cannot be read at all.
func (d *Dir) Load() (*ingress.Snapshot, []ingress.Problem, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.loads.Add(1)

	root, err := filepath.EvalSymlinks(d.path)
	if err != nil {
		return nil, nil, fmt.Errorf("manifest directory %s: %w", d.path, err)
	}
	names, unreadable, problems, err := walk(root)
	if err != nil {
		return nil, nil, fmt.Errorf("manifest directory %s: %w", d.path, err)
	}

	files := make(map[string]file, len(names))
	for _, name := range names {
		if f, ok := update(root, name, d.files[name]); ok {
			files[name] = f
		}
	}
	// Files below a directory that could not be read keep what they had.
	for name, f := range d.files {
		if _, ok := files[name]; ok {
			continue
		}
		for _, dir := range unreadable {
			if strings.HasPrefix(name, dir+"/") {
				files[name] = f
				break
			}
		}
	}
	d.files = files

	snapshot, fileProblems := assemble(files)
	problems = append(problems, fileProblems...)
	sort.SliceStable(problems, func(i, j int) bool {
		return problems[i].Object.Name < problems[j].Object.Name
	})
	return snapshot, problems, nil
}

// walk lists the manifest files below root, as sorted slash-separated paths
// relative to root, and the subdirectories that could not be read.
func walk(root string) (names, unreadable []string, problems []ingress.Problem, err error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, nil, nil, err
	}
	if !info.IsDir() {
		return nil, nil, nil, &fs.PathError{Op: "stat", Path: root, Err: syscall.ENOTDIR}
	}
	err = filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if path == root {
			return err
		}
		rel, relErr := filepath.Rel(root, path)
		if relErr != nil {
			return relErr
		}
		name := filepath.ToSlash(rel)
		if err != nil {
			// Only reading a directory reports an error here.
			unreadable = append(unreadable, name)
			problems = append(problems, fileProblem(name, 0, "cannot read: "+errorReason(err)))
			return fs.SkipDir
		}
		// Hidden entries are skipped. In a mounted ConfigMap, this skips
		// the "..data" symlink and the "..2024_..." directory it points
		// to, whose files are read through the top-level symlinks.
		if strings.HasPrefix(entry.Name(), ".") {
			if entry.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if entry.IsDir() || !isManifest(entry.Name()) {
			return nil
		}
		switch {
		case entry.Type().IsRegular():
		case entry.Type()&fs.ModeSymlink != 0:
			target, err := os.Stat(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // dangling, as when a ConfigMap key is removed
			}
			if err == nil && !target.Mode().IsRegular() {
				return nil // symlinked directories are not followed
			}
			// Other errors are reported when reading the file.
		default:
			return nil
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	sort.Strings(names)
	return names, unreadable, problems, nil
}

// isManifest reports whether a file name has a manifest extension.
func isManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// update reads one file and returns what is now known of it, starting from
// what was known before. ok is false when the file is gone.
func update(root, name string, f file) (_ file, ok bool) {
	content, err := readFile(filepath.Join(root, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return file{}, false
	}
	if err != nil {
		f.read = false
		reason := errTooLarge.Error()
		if !errors.Is(err, errTooLarge) {
			reason = "cannot read: " + errorReason(err)
		}
		f.problems = []ingress.Problem{fileProblem(name, 0, reason)}
		return f, true
	}
	// A file rewritten in place is empty for a moment: an emptied file
	// loses its objects only when a second read finds it still empty.
	if len(bytes.TrimSpace(content)) == 0 && f.good && len(f.objects) > 0 && !f.emptied {
		f.emptied = true
		return f, true
	}
	f.emptied = false
	sum := sha256.Sum256(content)
	if f.read && sum == f.hash {
		return f, true
	}
	f.read, f.hash = true, sum
	if f.good && sum == f.goodHash {
		f.problems = nil
		return f, true
	}
	objects, errs := decodeFile(name, content)
	if len(errs) > 0 {
		f.problems = make([]ingress.Problem, 0, len(errs))
		for _, e := range errs {
			f.problems = append(f.problems, fileProblem(name, e.line, e.reason))
		}
		return f, true
	}
	f.good, f.goodHash, f.objects, f.problems = true, sum, objects, nil
	return f, true
}

// readFile reads a file of at most maxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	content, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(content) > maxFileSize {
		return nil, errTooLarge
	}
	return content, nil
}

// assemble builds the snapshot from the files. Of several objects with the
// same kind, namespace and name, the first by file path, then position,
// wins; the others are reported.
func assemble(files map[string]file) (*ingress.Snapshot, []ingress.Problem) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)

	snapshot := &ingress.Snapshot{}
	var problems []ingress.Problem
	defined := map[string]string{} // object name → "file:line"
	for _, name := range names {
		f := files[name]
		problems = append(problems, f.problems...)
		for _, o := range f.objects {
			key := objectName(o.kind, o.namespace, o.name)
			if first, ok := defined[key]; ok {
				problems = append(problems, fileProblem(name, o.line, fmt.Sprintf("duplicate %s, first defined in %s", key, first)))
				continue
			}
			defined[key] = fmt.Sprintf("%s:%d", name, o.line)
			switch obj := o.obj.(type) {
			case *networkingv1.Ingress:
				snapshot.Ingresses = append(snapshot.Ingresses, obj)
			case *networkingv1.IngressClass:
				snapshot.IngressClasses = append(snapshot.IngressClasses, obj)
			case *corev1.Service:
				snapshot.Services = append(snapshot.Services, obj)
			case *discoveryv1.EndpointSlice:
				snapshot.EndpointSlices = append(snapshot.EndpointSlices, obj)
			case *corev1.Secret:
				snapshot.Secrets = append(snapshot.Secrets, obj)
			case *corev1.ConfigMap:
				// Every ConfigMap, not only those that
				// ingress.ConfigMapRefs names: which those are depends
				// on the app's options, and the few in a manifest
				// directory cost nothing to deliver.
				snapshot.ConfigMaps = append(snapshot.ConfigMaps, obj)
			}
		}
	}
	sortObjects(snapshot.Ingresses)
	sortObjects(snapshot.IngressClasses)
	sortObjects(snapshot.Services)
	sortObjects(snapshot.EndpointSlices)
	sortObjects(snapshot.Secrets)
	sortObjects(snapshot.ConfigMaps)
	return snapshot, problems
}

// sortObjects sorts objects by namespace, then name.
func sortObjects[T metav1.Object](objects []T) {
	slices.SortFunc(objects, func(a, b T) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
}

// fileProblem is a problem of a manifest file, at a line if line > 0.
func fileProblem(name string, line int, reason string) ingress.Problem {
	p := ingress.Problem{Object: ingress.ObjectRef{Kind: "File", Name: name}, Reason: reason}
	if line > 0 {
		p.Field = fmt.Sprintf("line %d", line)
	}
	return p
}

// errorReason is the text of an I/O error without the path, which the
// problem already names.
func errorReason(err error) string {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err.Error()
	}
	return err.Error()
}
