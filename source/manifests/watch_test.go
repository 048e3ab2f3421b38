package manifests

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// waitTimeout bounds every wait for something Watch should do.
const waitTimeout = 5 * time.Second

type change struct {
	snapshot *ingress.Snapshot
	problems []ingress.Problem
}

// watch starts d.Watch with a short interval and returns the channel its
// changes arrive on. The watch ends with the test.
func watch(t *testing.T, d *Dir) <-chan change {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan change, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Watch(ctx, 10*time.Millisecond, func(s *ingress.Snapshot, p []ingress.Problem) {
			changes <- change{snapshot: s, problems: p}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			t.Errorf("watch: still running %v after the context was cancelled", waitTimeout)
		}
	})
	return changes
}

// next returns the next change, failing the test if none comes in time.
func next(t *testing.T, changes <-chan change) change {
	t.Helper()
	select {
	case c := <-changes:
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("no change within %v", waitTimeout)
		return change{}
	}
}

// replaceFile writes a file below dir atomically, as editors that save by
// renaming do, so that a poll never sees it half written.
func replaceFile(t *testing.T, dir, name, content string) {
	t.Helper()
	writeFile(t, dir, ".tmp-"+name, content) // hidden, so never read
	if err := os.Rename(filepath.Join(dir, ".tmp-"+name), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// waitForLoads waits until d has been loaded n more times, so that every
// change from a load that started before has been delivered.
func waitForLoads(t *testing.T, d *Dir, n int64) {
	t.Helper()
	want := d.loads.Load() + n
	deadline := time.Now().Add(waitTimeout)
	for d.loads.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("loads: got %d within %v, want %d", d.loads.Load(), waitTimeout, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	d := New(dir)
	changes := watch(t, d)

	first := next(t, changes)
	if got, want := objectNames(first.snapshot), []string{"Service default/web"}; !slices.Equal(got, want) {
		t.Fatalf("first objects: got %q, want %q", got, want)
	}
	if len(first.problems) != 0 {
		t.Errorf("first problems: got %v, want none", first.problems)
	}

	// Rewriting the same content is no change.
	replaceFile(t, dir, "a.yaml", service)
	waitForLoads(t, d, 3)
	select {
	case c := <-changes:
		t.Fatalf("change without a change: got %v, want none", objectNames(c.snapshot))
	default:
	}

	replaceFile(t, dir, "a.yaml", strings.Replace(service, "name: web", "name: api", 1))
	changed := next(t, changes)
	if got, want := objectNames(changed.snapshot), []string{"Service default/api"}; !slices.Equal(got, want) {
		t.Errorf("changed objects: got %q, want %q", got, want)
	}

	replaceFile(t, dir, "a.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  nmae: api\n")
	broken := next(t, changes)
	want := []string{`File a.yaml: line 4: Service: unknown field "metadata.nmae"`}
	if got := problemStrings(broken.problems); !slices.Equal(got, want) {
		t.Errorf("problems: got %q, want %q", got, want)
	}
	if !broken.snapshot.Same(changed.snapshot) {
		t.Errorf("objects of a broken file: got %v, want the last good ones", objectNames(broken.snapshot))
	}
}

// TestWatchConfigMapChange checks that a changed ConfigMap is delivered,
// with the other objects' pointers kept.
func TestWatchConfigMapChange(t *testing.T) {
	dir := t.TempDir()
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: headers\ndata:\n  X-A: \"1\"\n"
	writeFile(t, dir, "svc.yaml", service)
	writeFile(t, dir, "headers.yaml", configMap)
	d := New(dir)
	changes := watch(t, d)
	first := next(t, changes).snapshot
	if got := len(first.ConfigMaps); got != 1 {
		t.Fatalf("configmaps: got %d, want 1", got)
	}

	replaceFile(t, dir, "headers.yaml", strings.Replace(configMap, `"1"`, `"2"`, 1))
	second := next(t, changes).snapshot
	if got := second.ConfigMaps[0].Data["X-A"]; got != "2" {
		t.Errorf("X-A: got %q, want %q", got, "2")
	}
	if second.Services[0] != first.Services[0] {
		t.Errorf("unchanged service: got a new pointer, want the same")
	}
}

func TestWatchDirectoryGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	d := New(dir)
	changes := watch(t, d)

	missing := next(t, changes)
	want := []string{"File " + dir + ": cannot read directory: no such file or directory"}
	if got := problemStrings(missing.problems); !slices.Equal(got, want) {
		t.Errorf("problems: got %q, want %q", got, want)
	}
	if got := objectNames(missing.snapshot); len(got) != 0 {
		t.Errorf("objects: got %q, want none", got)
	}

	// Renaming a directory into place creates it with its files at once.
	writeFile(t, dir+".new", "a.yaml", service)
	if err := os.Rename(dir+".new", dir); err != nil {
		t.Fatal(err)
	}
	created := next(t, changes)
	if got, want := objectNames(created.snapshot), []string{"Service default/web"}; !slices.Equal(got, want) {
		t.Errorf("objects: got %q, want %q", got, want)
	}
	if len(created.problems) != 0 {
		t.Errorf("problems: got %v, want none", created.problems)
	}

	// Renaming the directory away removes it at once.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	removed := next(t, changes)
	if got := problemStrings(removed.problems); !slices.Equal(got, want) {
		t.Errorf("problems: got %q, want %q", got, want)
	}
	if !removed.snapshot.Same(created.snapshot) {
		t.Errorf("objects of a removed directory: got %v, want the previous ones", objectNames(removed.snapshot))
	}
}

func TestWatchReturnsWhenDone(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", service)
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan struct{}, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		New(dir).Watch(ctx, 10*time.Millisecond, func(*ingress.Snapshot, []ingress.Problem) {
			calls <- struct{}{}
		})
	}()
	select {
	case <-calls:
	case <-time.After(waitTimeout):
		t.Fatalf("no first call within %v", waitTimeout)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("watch: still running %v after the context was cancelled", waitTimeout)
	}
	if got := len(calls); got != 0 {
		t.Errorf("calls after the first: got %d, want 0", got)
	}
}
