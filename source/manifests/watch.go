package manifests

import (
	"context"
	"slices"
	"time"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// Watch calls Load every interval and calls onChange when the snapshot or
// the problems differ from the previous call: other object pointers, or
// the same ones in another order, or other problems. It calls onChange once
// at the start with the first result, and returns when ctx is done.
//
// Watch polls rather than using inotify, which is robust with editors that
// save by renaming and with the symlink swap of a mounted ConfigMap. If the
// directory cannot be read, the previous objects are kept and the only
// problem is one for the directory. onChange runs on Watch's goroutine.
// A non-positive interval means one second.
func (d *Dir) Watch(ctx context.Context, interval time.Duration, onChange func(*ingress.Snapshot, []ingress.Problem)) {
	d.WatchFrom(ctx, interval, nil, nil, onChange)
}

// WatchFrom is Watch for a caller that has handed the result of a Load,
// snap and problems, over already: onChange is called only when a later
// Load differs from it, starting one interval from now. A nil snap is
// Watch.
func (d *Dir) WatchFrom(ctx context.Context, interval time.Duration, snap *ingress.Snapshot, problems []ingress.Problem, onChange func(*ingress.Snapshot, []ingress.Problem)) {
	if interval <= 0 {
		interval = time.Second
	}
	var (
		good        = &ingress.Snapshot{} // from the last Load that worked
		last        = snap                // passed to onChange, nil before the first call
		lastProblem = problems
	)
	if snap != nil {
		good = snap
	}
	poll := func() {
		snapshot, problems, err := d.Load()
		if err != nil {
			snapshot = good
			problems = []ingress.Problem{fileProblem(d.path, 0, "cannot read directory: "+errorReason(err))}
		} else {
			good = snapshot
		}
		if last != nil && snapshot.Same(last) && slices.Equal(problems, lastProblem) {
			return
		}
		last, lastProblem = snapshot, problems
		onChange(snapshot, problems)
	}

	if ctx.Err() != nil {
		return
	}
	if last == nil {
		poll()
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			poll()
		}
	}
}
